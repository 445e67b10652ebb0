/**
 * Encodes tar headers the way Go's archive/tar does for containers/storage: USTAR when every
 * field fits (long ASCII names split into prefix/name), otherwise a PAX extended header with
 * sorted records followed by a PAX-format header block. Same fields, same bytes, so a layer
 * diffed by strata and by containers/storage can share a digest.
 */
import { ErrInvalidArchive } from '../../errors.js';
import {
  BLOCK_SIZE,
  blockPadding,
  checksums,
  Field,
  fitsOctal,
  isAscii,
  TYPE_TO_FLAG,
  TypeFlag,
  USTAR_MAGIC,
  USTAR_VERSION,
  type TarHeader,
  type TarTime,
} from './header.js';

/** Two zero blocks: the end-of-archive marker (Go writes no further record padding). */
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * BLOCK_SIZE);

/** Zero bytes to pad `size` bytes of content to a block boundary. */
export function paddingFor(size: number): Buffer {
  const n = blockPadding(size);
  return n === 0 ? EMPTY : ZEROS.subarray(0, n);
}

const EMPTY = Buffer.alloc(0);
const ZEROS = Buffer.alloc(BLOCK_SIZE);
const NAME_SIZE = Field.name[1];
const PREFIX_SIZE = Field.prefix[1];

/** The header block(s) for one entry: an optional PAX header and its records, then the entry's block. */
export function encodeHeader(h: TarHeader): Buffer {
  const pax = new Map<string, Buffer>();
  let ustar = true;
  const needText = (value: string, width: number, key: string, splittable = false): void => {
    if (isAscii(value) && value.length <= width) return;
    if (!(splittable && splitUstarPath(value) !== undefined)) ustar = false;
    pax.set(key, Buffer.from(value, 'utf8'));
  };
  const needNumber = (value: number, width: number, key: string): void => {
    if (fitsOctal(width, value)) return;
    ustar = false;
    pax.set(key, Buffer.from(String(value), 'latin1'));
  };
  needText(h.name, NAME_SIZE, 'path', true);
  needText(h.linkname, Field.linkname[1], 'linkpath');
  needText(h.uname, Field.uname[1], 'uname');
  needText(h.gname, Field.gname[1], 'gname');
  needNumber(h.uid, Field.uid[1], 'uid');
  needNumber(h.gid, Field.gid[1], 'gid');
  needNumber(h.size, Field.size[1], 'size');
  if (!fitsOctal(Field.mtime[1], h.mtime.sec) || h.mtime.nsec !== 0) {
    ustar = false;
    pax.set('mtime', Buffer.from(formatPaxTime(h.mtime), 'latin1'));
  }
  for (const field of ['mode', 'devmajor', 'devminor'] as const) {
    if (!fitsOctal(Field[field][1], h[field])) {
      throw new ErrInvalidArchive(`cannot encode tar entry "${h.name}": ${field} ${h[field]} is out of range`);
    }
  }
  for (const [name, value] of h.xattrs) {
    ustar = false;
    pax.set(`SCHILY.xattr.${name}`, value);
  }

  if (ustar) {
    const block = Buffer.alloc(BLOCK_SIZE);
    let name = h.name;
    const split = splitUstarPath(name);
    if (split !== undefined) {
      name = split.name;
      formatString(block, Field.prefix, split.prefix);
    }
    fillTemplate(block, h, name);
    finish(block);
    return block;
  }

  const records = paxRecords(pax);
  const paxBlock = Buffer.alloc(BLOCK_SIZE);
  formatString(paxBlock, Field.name, paxHeaderName(h.name));
  formatOctal(paxBlock, Field.mode, 0);
  formatOctal(paxBlock, Field.uid, 0);
  formatOctal(paxBlock, Field.gid, 0);
  formatOctal(paxBlock, Field.size, records.length);
  formatOctal(paxBlock, Field.mtime, 0);
  paxBlock[Field.typeflag[0]] = TypeFlag.paxLocal;
  finish(paxBlock);

  const block = Buffer.alloc(BLOCK_SIZE);
  fillTemplate(block, { ...h, linkname: toAscii(h.linkname), uname: toAscii(h.uname), gname: toAscii(h.gname) }, toAscii(h.name));
  finish(block);
  return Buffer.concat([paxBlock, records, paddingFor(records.length), block]);
}

/** The V7 and USTAR fields every header carries. */
function fillTemplate(block: Buffer, h: TarHeader, name: string): void {
  block[Field.typeflag[0]] = TYPE_TO_FLAG[h.type];
  formatString(block, Field.name, name);
  formatString(block, Field.linkname, h.linkname);
  formatOctal(block, Field.mode, h.mode);
  formatOctal(block, Field.uid, h.uid);
  formatOctal(block, Field.gid, h.gid);
  formatOctal(block, Field.size, h.size);
  formatOctal(block, Field.mtime, h.mtime.sec);
  formatString(block, Field.uname, h.uname);
  formatString(block, Field.gname, h.gname);
  formatOctal(block, Field.devmajor, h.devmajor);
  formatOctal(block, Field.devminor, h.devminor);
}

/** Magic, version and checksum (six octal digits, NUL, space). */
function finish(block: Buffer): void {
  USTAR_MAGIC.copy(block, Field.magic[0]);
  USTAR_VERSION.copy(block, Field.version[0]);
  const { unsigned } = checksums(block);
  formatOctal(block, [Field.chksum[0], 7], unsigned);
  block[Field.chksum[0] + 7] = 0x20;
}

/** Copies an ASCII string into a field, truncating, NUL-terminated when there is room. */
function formatString(block: Buffer, field: readonly [number, number], s: string): void {
  const [off, width] = field;
  block.write(s.length > width ? s.slice(0, width) : s, off, 'latin1');
  if (s.length < width) block[off + s.length] = 0;
  // A truncated name ending in '/' would read as a directory in naive readers.
  if (s.length > width && block[off + width - 1] === 0x2f) {
    block[off + s.slice(0, width - 1).replace(/\/+$/, '').length] = 0;
  }
}

/** Zero-padded octal leaving room for a NUL, as Go formats numeric fields. */
function formatOctal(block: Buffer, field: readonly [number, number], x: number): void {
  let s = x.toString(8);
  const zeros = field[1] - s.length - 1;
  if (zeros > 0) s = '0'.repeat(zeros) + s;
  formatString(block, field, s);
}

/** USTAR's 155-byte prefix plus 100-byte name split of a long ASCII path, if one exists. */
function splitUstarPath(name: string): { prefix: string; name: string } | undefined {
  let length = name.length;
  if (length <= NAME_SIZE || !isAscii(name)) return undefined;
  if (length > PREFIX_SIZE + 1) length = PREFIX_SIZE + 1;
  else if (name[length - 1] === '/') length--;
  const i = name.slice(0, length).lastIndexOf('/');
  const suffixLength = name.length - i - 1;
  if (i <= 0 || suffixLength > NAME_SIZE || suffixLength === 0 || i > PREFIX_SIZE) return undefined;
  return { prefix: name.slice(0, i), name: name.slice(i + 1) };
}

/** `dir/PaxHeaders.0/file`, ASCII, at most 100 bytes, no trailing slash (Go's choice). */
function paxHeaderName(realName: string): string {
  const cut = realName.lastIndexOf('/') + 1;
  const dir = realName.slice(0, cut).replace(/\/+$/, '');
  const file = realName.slice(cut);
  const joined = (dir === '' ? '' : dir + '/') + 'PaxHeaders.0' + (file === '' ? '' : '/' + file);
  return toAscii(joined).slice(0, NAME_SIZE).replace(/\/+$/, '');
}

/** Drops non-ASCII characters and NULs, as Go does for header fields of PAX entries. */
function toAscii(s: string): string {
  return isAscii(s) ? s : s.replace(/[^\x01-\x7f]/gu, '');
}

/** Records `LEN key=value\n`, keys sorted for determinism; LEN counts its own digits. */
function paxRecords(pax: Map<string, Buffer>): Buffer {
  const keys = [...pax.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const parts: Buffer[] = [];
  for (const key of keys) {
    const value = pax.get(key)!;
    const body = Buffer.byteLength(key) + value.length + 3; // ' ', '=', '\n'
    let size = body + String(body).length;
    if (String(size).length !== String(body).length) size = body + String(size).length;
    parts.push(Buffer.from(`${size} ${key}=`, 'utf8'), value, NEWLINE);
  }
  return Buffer.concat(parts);
}

const NEWLINE = Buffer.from('\n');

/** `sec[.fraction]` with trailing zeros trimmed; negative times as Go writes them. */
function formatPaxTime(t: TarTime): string {
  if (t.nsec === 0) return String(t.sec);
  let sec = t.sec;
  let nsec = t.nsec;
  let sign = '';
  if (sec < 0) {
    sign = '-';
    sec = -(sec + 1);
    nsec = 1e9 - nsec;
  }
  return `${sign}${sec}.${String(nsec).padStart(9, '0')}`.replace(/0+$/, '');
}
