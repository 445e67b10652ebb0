/**
 * Random access to the members of an uncompressed tar: one pass over the headers records where
 * each regular file's content starts, so a `docker save` archive's layers can be read in the
 * order its manifest wants without unpacking the whole archive. ustar, PAX and GNU long names.
 */
import type { FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { BLOCK_SIZE, blockPadding, checksums, Field, TypeFlag, USTAR_MAGIC } from '../archive/tar/header.js';
import { ErrImageFormat } from './errors.js';

export interface MemberLocation {
  offset: number;
  size: number;
}

/** A member name as a lookup key: no leading `./` or `/`, no trailing `/`. */
export function memberKey(name: string): string {
  const n = posix.normalize(name.replace(/^\/+/, '')).replace(/\/+$/, '');
  return n === '.' ? '' : n;
}

const REGULAR = new Set<number>([TypeFlag.reg, TypeFlag.regA, TypeFlag.cont]);
/** PAX and GNU long-name payloads larger than this are not headers anyone writes. */
const MAX_EXTENSION = 1 << 20;

function field(block: Buffer, [at, width]: readonly [number, number]): Buffer {
  return block.subarray(at, at + width);
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return (nul < 0 ? b : b.subarray(0, nul)).toString('utf8');
}

/** An octal field, or a base-256 one (high bit set) as GNU tar writes large sizes. */
function numeric(b: Buffer, what: string): number {
  if (b.length > 0 && (b[0]! & 0x80) !== 0) {
    let v = 0;
    for (let i = 0; i < b.length; i++) v = v * 256 + (i === 0 ? b[i]! & 0x7f : b[i]!);
    return v;
  }
  const text = cString(b).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new ErrImageFormat(`${what}: bad numeric tar field ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

/** `len key=value\n` records; only path and size matter here. */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const len = Number(data.subarray(at, space).toString('latin1'));
    if (!Number.isInteger(len) || len <= 0 || at + len > data.length) break;
    const record = data.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

async function readAt(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, offset);
  return buf.subarray(0, bytesRead);
}

/** Where each regular file (and hardlink to one) of the tar in `fh` is; `file` is for messages. */
export async function indexTar(fh: FileHandle, file: string): Promise<Map<string, MemberLocation>> {
  const members = new Map<string, MemberLocation>();
  const total = (await fh.stat()).size;
  let pos = 0;
  let pax = new Map<string, string>();
  let longName: string | undefined;
  while (pos < total) {
    const block = await readAt(fh, pos, BLOCK_SIZE);
    const where = `${file}: tar header at offset ${pos}`;
    if (block.length < BLOCK_SIZE) throw new ErrImageFormat(`${where}: archive is truncated`);
    if (block.every((b) => b === 0)) break;
    const sums = checksums(block);
    let stored: number | undefined;
    try {
      stored = numeric(field(block, Field.chksum), where);
    } catch {
      stored = undefined; // not even a number: not a tar header
    }
    if (stored !== sums.unsigned && stored !== sums.signed) throw new ErrImageFormat(`${where}: bad header checksum (not a tar archive?)`);
    const flag = block[Field.typeflag[0]]!;
    let name = cString(field(block, Field.name));
    const prefix = field(block, Field.magic).equals(USTAR_MAGIC) ? cString(field(block, Field.prefix)) : '';
    if (prefix !== '') name = `${prefix}/${name}`;
    const headerSize = numeric(field(block, Field.size), where);
    const isExtension = flag === TypeFlag.paxLocal || flag === TypeFlag.paxGlobal || flag === TypeFlag.gnuLongName || flag === TypeFlag.gnuLongLink;
    const size = !isExtension && pax.has('size') ? Number(pax.get('size')) : headerSize;
    const start = pos + BLOCK_SIZE;
    if (!Number.isSafeInteger(size) || start + size > total) throw new ErrImageFormat(`${where}: member "${name}" runs past the end of the archive`);
    pos = start + size + blockPadding(size);
    if (isExtension) {
      if (size > MAX_EXTENSION) throw new ErrImageFormat(`${where}: ${size}-byte extended header`);
      const data = await readAt(fh, start, size);
      if (flag === TypeFlag.paxLocal) pax = paxRecords(data);
      else if (flag === TypeFlag.gnuLongName) longName = cString(data);
      continue;
    }
    const realName = memberKey(pax.get('path') ?? longName ?? name);
    if (REGULAR.has(flag)) members.set(realName, { offset: start, size });
    else if (flag === TypeFlag.hardlink) {
      const target = members.get(memberKey(pax.get('linkpath') ?? cString(field(block, Field.linkname))));
      if (target !== undefined) members.set(realName, target);
    }
    pax = new Map();
    longName = undefined;
  }
  return members;
}
