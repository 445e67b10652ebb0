/**
 * What a `.wh.` entry does to the target, per whiteout format. Returns false when the entry
 * is not a whiteout for this format and should be unpacked like any other file.
 */
import { constants as fsConstants, lchownSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { ErrInvalidArchive } from '../errors.js';
import { lsetxattr, mknod } from '../native.js';
import type { ApplyContext } from './apply-context.js';
import { hostOwner } from './apply-entry.js';
import { accessTime, entryError, errnoCode, setTimes } from './fs-meta.js';
import { baseOf, dirOf, type RelPath } from './safe-path.js';
import type { TarHeader } from './tar/header.js';
import { opaqueXattrName, WHITEOUT_META_PREFIX, WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from './whiteout.js';

/** Handles `rel` if it is a whiteout or AUFS metadata in the context's format. */
export function applyWhiteout(ctx: ApplyContext, hdr: TarHeader, rel: RelPath): boolean {
  const format = ctx.opts.whiteoutFormat;
  if (format !== 'aufs' && rel.startsWith(WHITEOUT_META_PREFIX) && rel !== WHITEOUT_OPAQUE) {
    // AUFS bookkeeping at the layer root (.wh..wh.plnk/…) is never image content.
    return true;
  }
  const base = baseOf(rel);
  if (!base.startsWith(WHITEOUT_PREFIX)) return false;
  // aufs keeps whiteouts as files, but not below a directory this layer whites out itself.
  if (format === 'aufs') return insideWhitedOutDir(ctx, hdr, dirOf(rel));
  if (base === WHITEOUT_OPAQUE) {
    if (format === 'overlay') markOpaque(ctx, hdr, dirOf(rel));
    else wipeUnpacked(ctx, hdr, dirOf(rel));
    return true;
  }
  // Other `.wh..wh.` names are AUFS bookkeeping too.
  if (base.startsWith(WHITEOUT_META_PREFIX)) return true;
  const victim = base.slice(WHITEOUT_PREFIX.length);
  if (victim === '' || victim === '.' || victim === '..') {
    throw new ErrInvalidArchive(`invalid layer archive: whiteout "${hdr.name}" names no file`);
  }
  if (format === 'overlay') writeWhiteoutDevice(ctx, hdr, dirOf(rel), victim);
  else removeVictim(ctx, hdr, dirOf(rel), victim);
  return true;
}

/**
 * True when `dirRel` is missing because an ancestor is whited out by an aufs `.wh.` file:
 * `.wh.foo` then `foo/.wh.bar` must not recreate foo just to hold the inner whiteout.
 */
function insideWhitedOutDir(ctx: ApplyContext, hdr: TarHeader, dirRel: RelPath): boolean {
  if (ctx.resolver.resolveDir(dirRel, false, hdr.name).kind !== 'missing') return false;
  for (let dir = dirRel; dir !== ''; dir = dirOf(dir)) {
    const parent = ctx.resolver.resolveDir(dirOf(dir), false, hdr.name);
    if (parent.kind !== 'dir') continue;
    if (lstatSync(`${parent.path}/${WHITEOUT_PREFIX}${baseOf(dir)}`, { throwIfNoEntry: false }) !== undefined) return true;
  }
  return false;
}

/** overlay: `.wh..wh..opq` becomes the opaque xattr on its directory. */
function markOpaque(ctx: ApplyContext, hdr: TarHeader, dirRel: RelPath): void {
  const dir = ctx.resolver.resolveDir(dirRel, true, hdr.name);
  if (dir.kind !== 'dir') return;
  try {
    lsetxattr(dir.path, opaqueXattrName(ctx.opts.userXattr ?? false), 'y');
  } catch (err) {
    throw entryError(hdr.name, 'marking the directory opaque (rootless overlay needs userXattr)', err);
  }
}

/** overlay: `.wh.NAME` becomes a 0/0 character device NAME, owned like the whiteout entry. */
function writeWhiteoutDevice(ctx: ApplyContext, hdr: TarHeader, dirRel: RelPath, victim: string): void {
  const dir = ctx.resolver.resolveDir(dirRel, true, hdr.name);
  // `.wh.foo` then `foo/.wh.bar`: foo is already a whiteout, so bar is deleted with it.
  if (dir.kind === 'notdir') return;
  if (dir.kind === 'missing') return;
  const path = `${dir.path}/${victim}`;
  if (lstatSync(path, { throwIfNoEntry: false }) !== undefined) {
    throw new ErrInvalidArchive(`invalid layer archive: whiteout "${hdr.name}" deletes "${victim}", which the same layer creates`);
  }
  try {
    mknod(path, fsConstants.S_IFCHR, 0, 0);
  } catch (err) {
    throw entryError(hdr.name, 'creating the overlay whiteout device (use the aufs format where mknod is refused)', err);
  }
  if (ctx.opts.forceMask === undefined) {
    const owner = hostOwner(ctx, hdr);
    try {
      lchownSync(path, owner.uid, owner.gid);
    } catch (err) {
      if (!ctx.opts.ignoreChownErrors) throw entryError(hdr.name, `chown to ${hdr.uid}:${hdr.gid} failed`, err);
    }
  }
  // The entry's time, so diffing the layer again gives back the same whiteout entry.
  setTimes(path, accessTime(hdr.atime, hdr.mtime), hdr.mtime);
}

/** naive: `.wh.NAME` deletes NAME (and everything below it) from the full tree. */
function removeVictim(ctx: ApplyContext, hdr: TarHeader, dirRel: RelPath, victim: string): void {
  // A whiteout below a missing or non-directory parent has nothing left to delete
  // (containers/storage's UnpackLayer re-creates the parents, bringing back a deleted directory).
  const dir = ctx.resolver.resolveDir(dirRel, false, hdr.name);
  if (dir.kind !== 'dir') return;
  removePath(ctx, `${dir.path}/${victim}`);
}

/** naive: `.wh..wh..opq` deletes every sibling this layer did not unpack itself. */
function wipeUnpacked(ctx: ApplyContext, hdr: TarHeader, dirRel: RelPath): void {
  const dir = ctx.resolver.resolveDir(dirRel, false, hdr.name);
  if (dir.kind !== 'dir') return;
  const unpacked = ctx.unpacked!;
  const walk = (path: string): void => {
    let names: string[];
    try {
      names = readdirSync(path);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return;
      throw err;
    }
    for (const name of names) {
      const child = `${path}/${name}`;
      if (!unpacked.has(child)) removePath(ctx, child);
      else if (lstatSync(child).isDirectory()) walk(child);
    }
  };
  walk(dir.path);
}

function removePath(ctx: ApplyContext, path: string): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st === undefined) return;
  rmSync(path, { recursive: true, force: true });
  if (st.isDirectory() || st.isSymbolicLink()) ctx.resolver.invalidate();
}
