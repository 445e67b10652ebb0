/**
 * applyLayer: unpacks a layer tar into a directory, as containers/storage's Unpack (overlay
 * and aufs formats) and UnpackLayer (naive format) do, with every write confined to `dest`.
 *
 * Metadata calls are synchronous (one cheap syscall each); only the input stream is awaited.
 * So `dest` must be a local directory, never a FUSE mount served by this same process.
 */
import { chmodSync, lstatSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { ErrInvalidArchive, ErrInvalidOption } from '../errors.js';
import { lsetxattr } from '../native.js';
import { runningInUserNS, type ApplyContext, type ApplyOptions } from './apply-context.js';
import { createEntry, hostOwner } from './apply-entry.js';
import { applyWhiteout } from './apply-whiteout.js';
import { decompress } from './compress.js';
import { EntryError, entryError, errnoCode, setTimes } from './fs-meta.js';
import { rootPair } from './idmap.js';
import { formatOverrideStat } from './override-stat.js';
import { baseOf, cleanEntryName, dirOf, RootResolver } from './safe-path.js';
import type { TarHeader } from './tar/header.js';
import { TarReader } from './tar/reader.js';
import { OVERRIDE_STAT_XATTR } from './whiteout.js';

export type { ApplyOptions, WhiteoutFormat } from './apply-context.js';

const FORMATS = new Set(['overlay', 'aufs', 'naive']);

/**
 * Unpacks a (possibly gzip/zstd-compressed, detected by magic) layer tar into dest; returns
 * applied size (bytes of regular file content, as containers/storage). The input is read to
 * its end, or destroyed when applying fails.
 */
export async function applyLayer(dest: string, input: Readable, opts: ApplyOptions): Promise<number> {
  const root = resolve(dest);
  try {
    validate(opts, root);
  } catch (err) {
    input.destroy();
    throw err;
  }
  const ctx: ApplyContext = {
    dest: root,
    opts,
    resolver: new RootResolver(root, rootPair(opts.idMappings)),
    inUserNS: opts.inUserNS ?? runningInUserNS(),
    dirs: [],
    unpacked: opts.whiteoutFormat === 'naive' ? new Set() : undefined,
    rootHeader: undefined,
  };
  const reader = new TarReader(decompress(input));
  let size = 0;
  try {
    for (let hdr = await reader.next(); hdr !== undefined; hdr = await reader.next()) {
      if (hdr.type === 'file') size += hdr.size;
      await applyOne(ctx, hdr, reader);
    }
    finishDirectories(ctx);
    await reader.drain();
  } catch (err) {
    input.destroy();
    throw err;
  }
  return size;
}

function validate(opts: ApplyOptions, root: string): void {
  const st = lstatSync(root, { throwIfNoEntry: false });
  if (st === undefined || !st.isDirectory()) {
    throw new ErrInvalidOption(`applyLayer: destination ${root} is not a directory`);
  }
  if (!FORMATS.has(opts.whiteoutFormat)) {
    throw new ErrInvalidOption(`applyLayer: unknown whiteout format "${String(opts.whiteoutFormat)}"`);
  }
  const mask = opts.forceMask;
  if (mask !== undefined && (!Number.isInteger(mask) || mask < 0 || mask > 0o7777)) {
    throw new ErrInvalidOption(`applyLayer: forceMask ${mask} is not a permission mode`);
  }
}

async function applyOne(ctx: ApplyContext, hdr: TarHeader, reader: TarReader): Promise<void> {
  try {
    const rel = cleanEntryName(hdr.name);
    if (applyWhiteout(ctx, hdr, rel)) return;
    if (rel === '') {
      await applyRoot(ctx, hdr, reader);
      return;
    }
    const parent = ctx.resolver.resolveDir(dirOf(rel), true, hdr.name);
    if (parent.kind !== 'dir') {
      throw new ErrInvalidArchive(`invalid layer archive: entry "${hdr.name}": "${parent.kind === 'notdir' ? parent.at : dirOf(rel)}" is not a directory`);
    }
    const path = `${parent.path}/${baseOf(rel)}`;
    await createEntry(ctx, hdr, rel, path, reader);
    ctx.unpacked?.add(path);
  } catch (err) {
    if (err instanceof ErrInvalidArchive || err instanceof EntryError) throw err;
    throw entryError(hdr.name, 'cannot apply', err);
  }
}

/**
 * The archive's own root (`./`): containers/storage's Unpack leaves the target's root alone
 * (overlay, aufs) while UnpackLayer gives it the entry's owner, mode and times (naive).
 */
async function applyRoot(ctx: ApplyContext, hdr: TarHeader, reader: TarReader): Promise<void> {
  if (hdr.type !== 'dir') {
    throw new ErrInvalidArchive(`invalid layer archive: root entry "${hdr.name}" is a ${hdr.type}, not a directory`);
  }
  ctx.rootHeader = hdr;
  if (ctx.opts.whiteoutFormat === 'naive') await createEntry(ctx, hdr, '', ctx.dest, reader);
}

/**
 * Directory modes and times last, children before parents (so a parent that loses its search
 * bit cannot hide a child's path), then the forced-mask record of the root (Unpack's last step).
 */
function finishDirectories(ctx: ApplyContext): void {
  const done = new Set<string>();
  for (let i = ctx.dirs.length - 1; i >= 0; i--) {
    const d = ctx.dirs[i]!;
    // A directory listed twice takes its last entry's metadata.
    if (done.has(d.path)) continue;
    done.add(d.path);
    try {
      chmodSync(d.path, d.mode);
      setTimes(d.path, d.atime, d.mtime);
    } catch (err) {
      // A later whiteout of the same layer may have removed the directory.
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
  const mask = ctx.opts.forceMask;
  if (mask === undefined || ctx.opts.whiteoutFormat === 'naive') return;
  const root = ctx.rootHeader;
  const owner = root === undefined ? { uid: 0, gid: 0 } : hostOwner(ctx, root);
  const value = formatOverrideStat({
    ...owner,
    mode: root?.mode ?? 0o755,
    type: 'dir',
    devmajor: 0,
    devminor: 0,
  });
  lsetxattr(ctx.dest, OVERRIDE_STAT_XATTR, value);
}
