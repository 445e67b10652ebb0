/**
 * Watches an uncompressed layer tar go by and collects the UIDs and GIDs of its entries, as
 * containers/storage logs them for a layer's `uidset`/`gidset`. Only headers are parsed (ustar,
 * GNU long names, PAX uid/gid/path), data is skipped, and nothing is buffered beyond one header.
 */

const BLOCK = 512;
const WHITEOUT_PREFIX = '.wh.';
/** Entry types that never carry data, whatever their size field says (Go's isHeaderOnlyType). */
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);
/** Pseudo-entries whose data describes the next entry. */
const META = new Set(['x', 'g', 'L', 'K']);
/** Larger metadata payloads are skipped rather than kept in memory. */
const MAX_META = 1 << 20;

function roundUp(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

/** A tar numeric field: NUL/space-terminated octal, or GNU base-256 when the high bit is set. */
function parseNumber(field: Buffer): number {
  if (field.length > 0 && ((field[0] as number) & 0x80) !== 0) {
    let n = (field[0] as number) & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] as number);
    return n;
  }
  const text = field.toString('latin1').replace(/[\0 ].*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

/** PAX records: `<len> <key>=<value>\n`. */
function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(data.subarray(pos, space).toString('latin1'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

function baseName(p: string): string {
  const trimmed = p.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

export class TarIDObserver {
  readonly uids = new Set<number>();
  readonly gids = new Set<number>();
  #header = Buffer.alloc(BLOCK);
  #headerFill = 0;
  /** Bytes of data (and padding) still to skip. */
  #skip = 0;
  /** Metadata entry being collected, if any. */
  #meta: { type: string; size: number; chunks: Buffer[]; got: number } | undefined;
  #pending = new Map<string, string>();
  #global = new Map<string, string>();
  #zeroBlocks = 0;
  #done = false;

  write(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && !this.#done) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - pos);
        if (this.#meta !== undefined && this.#meta.got < this.#meta.size) {
          const take = Math.min(n, this.#meta.size - this.#meta.got);
          if (this.#meta.size <= MAX_META) this.#meta.chunks.push(chunk.subarray(pos, pos + take));
          this.#meta.got += take;
        }
        this.#skip -= n;
        pos += n;
        if (this.#skip === 0 && this.#meta !== undefined) this.#finishMeta();
        continue;
      }
      const n = Math.min(BLOCK - this.#headerFill, chunk.length - pos);
      chunk.copy(this.#header, this.#headerFill, pos, pos + n);
      this.#headerFill += n;
      pos += n;
      if (this.#headerFill === BLOCK) {
        this.#headerFill = 0;
        this.#onHeader(this.#header);
      }
    }
  }

  #onHeader(h: Buffer): void {
    if (h.every((b) => b === 0)) {
      // Two zero blocks end the archive; what follows is padding.
      if (++this.#zeroBlocks >= 2) this.#done = true;
      return;
    }
    this.#zeroBlocks = 0;
    // An old-style header has NUL for a regular file.
    const type = h[156] === 0 ? '0' : String.fromCharCode(h[156] as number);
    const size = parseNumber(h.subarray(124, 136));
    if (META.has(type)) {
      this.#meta = { type, size, chunks: [], got: 0 };
      this.#skip = roundUp(size);
      if (this.#skip === 0) this.#finishMeta();
      return;
    }
    const attrs = new Map([...this.#global, ...this.#pending]);
    this.#pending = new Map();
    let name = attrs.get('path') ?? cString(h.subarray(0, 100));
    const magic = h.subarray(257, 263).toString('latin1');
    if (!attrs.has('path') && magic === 'ustar\0') {
      const prefix = cString(h.subarray(345, 500));
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    const uid = attrs.has('uid') ? Number(attrs.get('uid')) : parseNumber(h.subarray(108, 116));
    const gid = attrs.has('gid') ? Number(attrs.get('gid')) : parseNumber(h.subarray(116, 124));
    if (!baseName(name).startsWith(WHITEOUT_PREFIX)) {
      this.uids.add(uid);
      this.gids.add(gid);
    }
    this.#skip = HEADER_ONLY.has(type) ? 0 : roundUp(size);
  }

  #finishMeta(): void {
    const meta = this.#meta;
    this.#meta = undefined;
    if (meta === undefined || meta.size > MAX_META) return;
    const data = Buffer.concat(meta.chunks);
    if (meta.type === 'x') for (const [k, v] of parsePax(data)) this.#pending.set(k, v);
    else if (meta.type === 'g') for (const [k, v] of parsePax(data)) this.#global.set(k, v);
    else if (meta.type === 'L') this.#pending.set('path', cString(data));
  }

  sortedUIDs(): number[] {
    return [...this.uids].sort((a, b) => a - b);
  }

  sortedGIDs(): number[] {
    return [...this.gids].sort((a, b) => a - b);
  }
}
