/**
 * A streaming tar reader for ustar, PAX and GNU archives (no sparse files), strict about
 * hostile input: bad checksums, truncation, oversized PAX or long-name payloads, negative
 * or non-numeric fields and non-UTF-8 names all fail with ErrInvalidArchive naming the entry.
 */
import { ErrInvalidArchive } from '../../errors.js';
import { ChunkQueue } from './chunks.js';
import {
  BLOCK_SIZE,
  blockPadding,
  checksums,
  Field,
  GNU_MAGIC,
  MAX_SPECIAL_SIZE,
  TypeFlag,
  USTAR_MAGIC,
  type EntryType,
  type TarHeader,
  type TarTime,
} from './header.js';

const FLAG_TO_TYPE = new Map<number, EntryType>([
  [TypeFlag.reg, 'file'],
  [TypeFlag.regA, 'file'],
  [TypeFlag.cont, 'file'],
  [TypeFlag.hardlink, 'hardlink'],
  [TypeFlag.symlink, 'symlink'],
  [TypeFlag.char, 'char'],
  [TypeFlag.block, 'block'],
  [TypeFlag.dir, 'dir'],
  [TypeFlag.fifo, 'fifo'],
]);

const XATTR_PREFIX = 'SCHILY.xattr.';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Extended-header state that applies to the next real entry. */
interface Pending {
  pax: Map<string, Buffer>;
  longName?: Buffer;
  longLink?: Buffer;
}

export class TarReader {
  private readonly queue: ChunkQueue;
  private remaining = 0; // unread content bytes of the current entry
  private padding = 0;
  private finished = false;
  private current: TarHeader | undefined;
  /** Name of the last entry read, for errors about what follows it. */
  private lastName = '';

  constructor(source: AsyncIterable<Buffer>) {
    this.queue = new ChunkQueue(source[Symbol.asyncIterator]());
  }

  /** The next entry's header, or undefined at the end of the archive. Skips unread content. */
  async next(): Promise<TarHeader | undefined> {
    if (this.finished) return undefined;
    if (this.current !== undefined) {
      if (!(await this.queue.skip(this.remaining + this.padding))) this.truncated(this.current.name);
      this.remaining = 0;
      this.padding = 0;
      this.lastName = this.current.name;
      this.current = undefined;
    }
    const pending: Pending = { pax: new Map() };
    for (;;) {
      const block = await this.readBlock();
      if (block === undefined) return this.end();
      if (isZero(block)) {
        // Two zero blocks end the archive; a zero block followed by data is corrupt.
        const second = await this.readBlock();
        if (second !== undefined && !isZero(second)) this.fail(`a zero block ${this.where()} is followed by data`);
        return this.end();
      }
      const flag = block[Field.typeflag[0]]!;
      if (isExtension(flag)) {
        await this.readExtension(block, flag, pending);
        continue;
      }
      const header = this.decode(block, flag, pending);
      this.current = header;
      this.remaining = header.size;
      this.padding = blockPadding(header.size);
      return header;
    }
  }

  /** Streams the current entry's content, without copying where the input allows. */
  async *body(): AsyncGenerator<Buffer> {
    const name = this.current?.name ?? this.lastName;
    while (this.remaining > 0) {
      if (this.queue.available === 0 && !(await this.queue.fill(1))) this.truncated(name);
      const chunk = this.queue.takeSome(this.remaining);
      this.remaining -= chunk.length;
      yield chunk;
    }
  }

  /** Reads past the end-of-archive marker to the end of the input. */
  async drain(): Promise<void> {
    await this.queue.drain();
  }

  private end(): undefined {
    this.finished = true;
    return undefined;
  }

  /** Where the reader is, for errors about headers that precede any entry name. */
  where(): string {
    return this.lastName === '' ? 'before the first entry' : `after entry "${this.lastName}"`;
  }

  private async readBlock(): Promise<Buffer | undefined> {
    if (!(await this.queue.fill(BLOCK_SIZE))) {
      if (this.queue.available === 0) return undefined;
      this.fail(`truncated archive: ${this.queue.available} stray bytes ${this.where()} where a header should be`);
    }
    return this.queue.take(BLOCK_SIZE);
  }

  private async readExtension(block: Buffer, flag: number, pending: Pending): Promise<void> {
    verifyChecksum(block, this);
    const size = this.number(block, Field.size, 'size');
    if (size > MAX_SPECIAL_SIZE) {
      this.fail(`extended header ${this.where()} of ${size} bytes exceeds the ${MAX_SPECIAL_SIZE}-byte limit`);
    }
    if (!(await this.queue.fill(size))) this.fail(`truncated archive inside the extended header ${this.where()}`);
    const data = Buffer.from(this.queue.take(size));
    if (!(await this.queue.skip(blockPadding(size)))) this.fail(`truncated archive inside the extended header ${this.where()}`);
    // A later PAX header replaces an earlier one (as in Go), which also bounds memory.
    if (flag === TypeFlag.paxLocal) pending.pax = parsePax(data, this);
    else if (flag === TypeFlag.gnuLongName) pending.longName = cString(data);
    else if (flag === TypeFlag.gnuLongLink) pending.longLink = cString(data);
    // Global PAX headers ('g') only carry defaults such as comments; containers/storage ignores them too.
  }

  private decode(block: Buffer, flag: number, pending: Pending): TarHeader {
    const ustarName = fieldBytes(block, Field.name);
    verifyChecksum(block, this, ustarName);
    const magic = block.subarray(Field.magic[0], Field.magic[0] + Field.magic[1]);
    const isUstar = magic.equals(USTAR_MAGIC);
    const isGnu = !isUstar && magic.equals(GNU_MAGIC);
    let nameBytes = ustarName;
    if (isUstar) {
      const prefix = fieldBytes(block, Field.prefix);
      if (prefix.length > 0) nameBytes = Buffer.concat([prefix, Buffer.from('/'), ustarName]);
    }
    const pax = pending.pax;
    const name = this.text(pax.get('path') ?? pending.longName ?? nameBytes, 'name');
    this.lastName = name;
    let type = FLAG_TO_TYPE.get(flag);
    if (type === undefined) {
      if (flag === TypeFlag.gnuSparse) this.fail(`entry "${name}": sparse files are not supported`);
      this.fail(`entry "${name}": unsupported entry type '${String.fromCharCode(flag)}'`);
    }
    // Old tars mark directories only by a trailing slash on a '\0' entry.
    if (flag === TypeFlag.regA && name.endsWith('/')) type = 'dir';
    for (const key of pax.keys()) {
      if (key.startsWith('GNU.sparse.')) this.fail(`entry "${name}": sparse files are not supported`);
    }
    const linkname = this.text(pax.get('linkpath') ?? pending.longLink ?? fieldBytes(block, Field.linkname), 'link name');
    let size = this.paxNumber(pax, 'size', name) ?? this.number(block, Field.size, 'size', name);
    // Only regular files have content, whatever the size field of a link or device says.
    if (type !== 'file') size = 0;
    const header: TarHeader = {
      name,
      type,
      mode: this.number(block, Field.mode, 'mode', name) & 0o7777,
      uid: this.paxNumber(pax, 'uid', name) ?? this.number(block, Field.uid, 'uid', name),
      gid: this.paxNumber(pax, 'gid', name) ?? this.number(block, Field.gid, 'gid', name),
      size,
      mtime: this.paxTime(pax, 'mtime', name) ?? { sec: this.number(block, Field.mtime, 'mtime', name, true), nsec: 0 },
      linkname,
      // User and group names are informational only, so any bytes are accepted.
      uname: (pax.get('uname') ?? fieldBytes(block, Field.uname)).toString('utf8'),
      gname: (pax.get('gname') ?? fieldBytes(block, Field.gname)).toString('utf8'),
      devmajor: isUstar || isGnu ? this.number(block, Field.devmajor, 'devmajor', name) : 0,
      devminor: isUstar || isGnu ? this.number(block, Field.devminor, 'devminor', name) : 0,
      xattrs: [],
    };
    const atime = this.paxTime(pax, 'atime', name);
    if (atime !== undefined) header.atime = atime;
    for (const [key, value] of pax) {
      if (key.startsWith(XATTR_PREFIX) && key.length > XATTR_PREFIX.length) {
        header.xattrs.push([key.slice(XATTR_PREFIX.length), value]);
      }
    }
    return header;
  }

  /** A numeric header field: octal, or GNU base-256 when the high bit is set. */
  number(block: Buffer, field: readonly [number, number], what: string, name = this.lastName, signed = false): number {
    const raw = block.subarray(field[0], field[0] + field[1]);
    let value: number;
    if (raw[0]! & 0x80) {
      const negative = (raw[0]! & 0x40) !== 0;
      let x = 0n;
      for (let i = 0; i < raw.length; i++) {
        let b = raw[i]!;
        if (negative) b ^= 0xff;
        if (i === 0) b &= 0x7f;
        x = (x << 8n) | BigInt(b);
      }
      if (x > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`entry "${name}": ${what} field overflows`);
      value = negative ? -Number(x) - 1 : Number(x);
    } else {
      const text = raw.toString('latin1').replace(/^[ \0]+|[ \0]+$/g, '').replace(/\0.*$/s, '');
      if (text === '') return 0;
      if (!/^[0-7]+$/.test(text)) this.fail(`entry "${name}": ${what} field "${text}" is not octal`);
      value = parseInt(text, 8);
      if (!Number.isSafeInteger(value)) this.fail(`entry "${name}": ${what} field overflows`);
    }
    if (value < 0 && !signed) this.fail(`entry "${name}": negative ${what}`);
    return value;
  }

  private paxNumber(pax: Map<string, Buffer>, key: string, name: string): number | undefined {
    const raw = pax.get(key);
    if (raw === undefined) return undefined;
    const text = raw.toString('latin1');
    if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      this.fail(`entry "${name}": PAX ${key} "${text}" is not a non-negative integer`);
    }
    return Number(text);
  }

  private paxTime(pax: Map<string, Buffer>, key: string, name: string): TarTime | undefined {
    const raw = pax.get(key);
    if (raw === undefined) return undefined;
    const text = raw.toString('latin1');
    const m = /^(-?)([0-9]+)(?:\.([0-9]*))?$/.exec(text);
    if (m === null || !Number.isSafeInteger(Number(m[2]))) this.fail(`entry "${name}": PAX ${key} "${text}" is not a time`);
    const negative = m[1] === '-';
    const sec = Number(m[2]);
    const nsec = Number(((m[3] ?? '') + '000000000').slice(0, 9));
    if (!negative) return { sec, nsec };
    // -1.5 is 1.5 s before the epoch: second -2 plus 0.5 s.
    return nsec === 0 ? { sec: -sec, nsec: 0 } : { sec: -sec - 1, nsec: 1e9 - nsec };
  }

  private text(bytes: Buffer, what: string): string {
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return bytes.toString('latin1');
    try {
      return utf8.decode(bytes);
    } catch {
      return this.fail(`entry "${bytes.toString('latin1')}": ${what} is not valid UTF-8`);
    }
  }

  fail(message: string): never {
    throw new ErrInvalidArchive(`invalid layer archive at byte ${this.queue.consumed}: ${message}`);
  }

  private truncated(name: string): never {
    this.fail(`truncated archive: entry "${name}" ends early`);
  }
}

function isExtension(flag: number): boolean {
  return (
    flag === TypeFlag.paxLocal ||
    flag === TypeFlag.paxGlobal ||
    flag === TypeFlag.gnuLongName ||
    flag === TypeFlag.gnuLongLink
  );
}

function isZero(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** The bytes of a NUL-terminated field. */
function fieldBytes(block: Buffer, field: readonly [number, number]): Buffer {
  const raw = block.subarray(field[0], field[0] + field[1]);
  const nul = raw.indexOf(0);
  return nul === -1 ? raw : raw.subarray(0, nul);
}

function cString(data: Buffer): Buffer {
  const nul = data.indexOf(0);
  return nul === -1 ? data : data.subarray(0, nul);
}

function verifyChecksum(block: Buffer, reader: TarReader, name?: Buffer): void {
  const stored = reader.number(block, Field.chksum, 'checksum');
  const { unsigned, signed } = checksums(block);
  if (stored !== unsigned && stored !== signed) {
    const what = name !== undefined ? `header of "${name.toString('latin1')}"` : `extended header ${reader.where()}`;
    reader.fail(`${what} has a bad checksum (not a tar archive, or corrupt)`);
  }
}

/** Parses `LEN key=value\n` records; values stay raw bytes (xattrs are binary). */
function parsePax(data: Buffer, reader: TarReader): Map<string, Buffer> {
  const into = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    // Some writers pad the payload with NULs.
    if (data[pos] === 0) break;
    const space = data.indexOf(0x20, pos);
    const lenText = space === -1 ? '' : data.toString('latin1', pos, space);
    const len = /^[0-9]+$/.test(lenText) ? Number(lenText) : NaN;
    if (!(len >= 5) || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      reader.fail(`malformed PAX record at offset ${pos} of the extended header ${reader.where()}`);
    }
    const record = data.subarray(space + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) reader.fail(`malformed PAX record at offset ${pos} of the extended header ${reader.where()}`);
    const key = record.toString('utf8', 0, eq);
    into.set(key, Buffer.from(record.subarray(eq + 1)));
    pos += len;
  }
  return into;
}
