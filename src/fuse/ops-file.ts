/**
 * Opening files. The real descriptor is the FUSE handle: the C side reads, writes and closes it
 * itself (the fast ops' fdIo), which keeps working after the file is unlinked. Opening for writing
 * copies the file up first; a read-only open reads the lower file in place (and is usually
 * answered in C, from the attribute cache, without reaching us).
 */
import { closeSync, constants as fsc, fdatasyncSync, fsyncSync, openSync } from 'node:fs';
import { after, copyUp, copyUpFor } from './copyup.js';
import { fail } from './errno.js';
import { parked } from './hidden.js';
import { S_IFREG, splitParent } from './layers.js';
import { isDir } from './node.js';
import type { Caller, Overlay } from './overlay.js';
import { clearWhiteout, ownNew } from './upper.js';

/** Linux's access-mode mask; Node does not export it. */
const O_ACCMODE = 3;

/** Flags FUSE may pass that mean nothing to (or are unsafe for) the real open. */
const STRIP = fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOCTTY;

function wantsWrite(flags: number): boolean {
  return (flags & O_ACCMODE) !== fsc.O_RDONLY || (flags & fsc.O_TRUNC) !== 0;
}

/** True for opens that change the overlay (copy-up): they run as exclusive operations. */
export function openChanges(flags: number): boolean {
  return wantsWrite(flags);
}

/** A promise only when a big file has to be copied up first (copyUpAsync). */
export function open(ov: Overlay, path: string, flags: number): number | Promise<number> {
  const hidden = parked(ov, path, wantsWrite(flags));
  if (hidden !== undefined) return openSync(hidden, flags & ~STRIP);
  const node = ov.node(path);
  if (!wantsWrite(flags)) return openSync(node.layers[0]!.path(path), flags & ~STRIP);
  if (isDir(node)) fail('EISDIR', path);
  return after(copyUpFor(ov, path, { noData: (flags & fsc.O_TRUNC) !== 0 }), (up) => openSync(up.layers[0]!.path(path), flags & ~STRIP));
}

/** Creates and opens a new regular file, owned by the caller. */
export function create(ov: Overlay, caller: Caller, path: string, mode: number, flags = fsc.O_RDWR): number | Promise<number> {
  const upper = ov.writable();
  ov.checkNewName(path);
  const parentPath = splitParent(path)[0];
  ov.dirNode(parentPath);
  if (ov.nodes.resolve(path)) {
    if (flags & fsc.O_EXCL) fail('EEXIST', path);
    return open(ov, path, flags);
  }
  copyUp(ov, parentPath);
  clearWhiteout(ov, path);
  const perm = mode & 0o7777;
  const realPerm = ov.config.xattrPermissions !== 0 ? 0o755 : perm;
  const real = upper.path(path);
  // Always O_RDWR: the kernel may read through a handle opened for writing (page cache, mmap).
  const access = (flags & O_ACCMODE) === fsc.O_RDONLY ? fsc.O_RDONLY : fsc.O_RDWR;
  const fd = openSync(real, fsc.O_CREAT | fsc.O_EXCL | access | (flags & ~(STRIP | O_ACCMODE | fsc.O_TRUNC)), realPerm);
  try {
    ownNew(ov, real, upper.path(parentPath), caller, perm, S_IFREG);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  ov.changed(path);
  return fd;
}

/** fsync=0 and volatile make this a no-op: containers that opt in trade durability for speed. */
export function fsync(ov: Overlay, fd: number, datasync: boolean): void {
  if (!ov.config.fsync) return;
  if (datasync) fdatasyncSync(fd);
  else fsyncSync(fd);
}
