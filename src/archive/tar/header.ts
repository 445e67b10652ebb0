/**
 * The tar header model and the field codecs shared by the reader and the writer.
 *
 * strata reads and writes tar itself rather than through tar-stream because layer tars carry
 * binary PAX values (SCHILY.xattr.security.capability), nanosecond PAX times and IDs beyond
 * the octal fields, which tar-stream decodes and encodes as UTF-8 text or drops; and because
 * the writer follows Go's archive/tar field formatting so diffs match containers/storage.
 */

export const BLOCK_SIZE = 512;

/** Go's archive/tar limit on PAX and GNU long-name payloads; larger ones are hostile. */
export const MAX_SPECIAL_SIZE = 1 << 20;

export type EntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarTime {
  sec: number;
  nsec: number;
}

export interface TarHeader {
  /** The name as stored (relative, `/`-separated; directories may end in `/`). */
  name: string;
  type: EntryType;
  /** Permission bits with setuid, setgid and sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of content; zero for everything but regular files. */
  size: number;
  mtime: TarTime;
  /** Access time from a PAX record, when the archive has one. */
  atime?: TarTime;
  /** Symlink target or hardlink source. */
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes (`SCHILY.xattr.*` records) with their raw values. */
  xattrs: Array<[name: string, value: Buffer]>;
}

/** A header with every field not given set to its empty value: owner root, mode 0, time 0. */
export function makeHeader(fields: Partial<TarHeader> & Pick<TarHeader, 'name' | 'type'>): TarHeader {
  return {
    mode: 0,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: { sec: 0, nsec: 0 },
    linkname: '',
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
    xattrs: [],
    ...fields,
  };
}

/** Type flag bytes, as in POSIX and GNU tar. */
export const TypeFlag = {
  reg: 0x30, // '0'
  regA: 0x00, // legacy '\0'
  hardlink: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  dir: 0x35,
  fifo: 0x36,
  cont: 0x37, // contiguous file, read as a regular file
  paxLocal: 0x78, // 'x'
  paxGlobal: 0x67, // 'g'
  gnuLongName: 0x4c, // 'L'
  gnuLongLink: 0x4b, // 'K'
  gnuSparse: 0x53, // 'S'
} as const;

export const TYPE_TO_FLAG: Record<EntryType, number> = {
  file: TypeFlag.reg,
  hardlink: TypeFlag.hardlink,
  symlink: TypeFlag.symlink,
  char: TypeFlag.char,
  block: TypeFlag.block,
  dir: TypeFlag.dir,
  fifo: TypeFlag.fifo,
};

/** Field offsets and widths of the 512-byte header block. */
export const Field = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

export const USTAR_MAGIC = Buffer.from('ustar\0', 'latin1');
export const USTAR_VERSION = Buffer.from('00', 'latin1');
export const GNU_MAGIC = Buffer.from('ustar ', 'latin1');
export const GNU_VERSION = Buffer.from(' \0', 'latin1');

/** Bytes of zero padding after `size` bytes of content. */
export function blockPadding(size: number): number {
  return (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
}

/** True when `x` fits an octal field of `width` bytes (digits plus a terminating NUL). */
export function fitsOctal(width: number, x: number): boolean {
  return x >= 0 && x < 8 ** (width - 1);
}

/** Sum of the header bytes with the checksum field read as spaces; unsigned and signed. */
export function checksums(block: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return { unsigned, signed };
}

/** True when every byte is printable-or-control ASCII and not NUL. */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || c === 0) return false;
  }
  return true;
}

/** Compares strings by their UTF-8 bytes, as Go's `<` on strings (for sorted, Go-compatible output). */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order equals UTF-8 byte order except for surrogates against U+E000..U+FFFF.
    if (x >= 0xd800 && y >= 0xd800) return (a.codePointAt(i) ?? x) - (b.codePointAt(i) ?? y);
    return x - y;
  }
  return a.length - b.length;
}
