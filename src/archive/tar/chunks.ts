/**
 * A pull-based byte queue over an async iterable of chunks: the tar reader asks for exact
 * byte counts (header blocks) or for whatever is buffered (file content, zero-copy).
 */

export class ChunkQueue {
  private readonly chunks: Buffer[] = [];
  private head = 0; // offset into chunks[0]
  private buffered = 0;
  private ended = false;
  /** Bytes handed out so far: the stream offset of the next byte. */
  consumed = 0;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  get available(): number {
    return this.buffered;
  }

  /** Buffers at least `n` bytes; false when the stream ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.buffered < n) {
      if (this.ended) return false;
      const { value, done } = await this.source.next();
      if (done) {
        this.ended = true;
        return false;
      }
      const chunk = Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array);
      if (chunk.length === 0) continue;
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    return true;
  }

  /** Exactly `n` buffered bytes, copied only when they straddle chunks. */
  take(n: number): Buffer {
    if (n > this.buffered) throw new RangeError(`take(${n}) with ${this.buffered} bytes buffered`);
    const first = this.chunks[0];
    if (first !== undefined && first.length - this.head >= n) return this.takeFromFirst(n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const part = this.takeFromFirst(Math.min(n - filled, this.chunks[0]!.length - this.head));
      part.copy(out, filled);
      filled += part.length;
    }
    return out;
  }

  /** Up to `max` bytes from the first buffered chunk, without copying. */
  takeSome(max: number): Buffer {
    const first = this.chunks[0]!;
    return this.takeFromFirst(Math.min(max, first.length - this.head));
  }

  /** Drops `n` bytes, reading more as needed; false when the stream ends first. */
  async skip(n: number): Promise<boolean> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill(1))) return false;
      left -= this.takeSome(left).length;
    }
    return true;
  }

  /** Reads and discards everything left in the source (so a digesting tee sees all bytes). */
  async drain(): Promise<void> {
    this.chunks.length = 0;
    this.head = 0;
    this.buffered = 0;
    while (!this.ended) {
      const { done } = await this.source.next();
      if (done) this.ended = true;
    }
  }

  private takeFromFirst(n: number): Buffer {
    const first = this.chunks[0]!;
    const part = first.subarray(this.head, this.head + n);
    this.head += n;
    this.buffered -= n;
    this.consumed += n;
    if (this.head === first.length) {
      this.chunks.shift();
      this.head = 0;
    }
    return part;
  }
}
