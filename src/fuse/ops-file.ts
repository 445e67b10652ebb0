/**
 * File I/O. The real descriptor is the FUSE handle, so read and write are one pread/pwrite each and
 * keep working after the file is unlinked (hard_remove). Opening for writing copies the file up first;
 * a read-only open reads the lower file in place.
 */
import {
  closeSync,
  constants as fsc,
  fdatasyncSync,
  fsyncSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import { copyUp } from './copyup.js';
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

export function open(ov: Overlay, path: string, flags: number): number {
  const hidden = parked(ov, path, wantsWrite(flags));
  if (hidden !== undefined) {
    const fd = openSync(hidden, flags & ~STRIP);
    ov.files.set(fd, { layer: ov.hidden.get(path)!.writable ? ov.writable() : ov.layers[ov.layers.length - 1]!, path });
    return fd;
  }
  let node = ov.node(path);
  if (wantsWrite(flags)) {
    if (isDir(node)) fail('EISDIR', path);
    node = copyUp(ov, path, { noData: (flags & fsc.O_TRUNC) !== 0 });
  }
  const layer = node.layers[0]!;
  const fd = openSync(layer.path(path), flags & ~STRIP);
  ov.files.set(fd, { layer, path });
  return fd;
}

/** Creates and opens a new regular file, owned by the caller. */
export function create(ov: Overlay, caller: Caller, path: string, mode: number, flags = fsc.O_RDWR): number {
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
  ov.files.set(fd, { layer: upper, path });
  return fd;
}

export function read(fd: number, buf: Buffer, len: number, pos: number): number {
  return readSync(fd, buf, 0, len, pos);
}

export function write(ov: Overlay, fd: number, buf: Buffer, len: number, pos: number): number {
  const f = ov.files.get(fd);
  // Belt and braces: a handle on a lower file must never write through to the lower layer.
  if (f && !f.layer.writable) fail('EBADF', f.path, 'handle is on a read-only layer');
  return writeSync(fd, buf, 0, len, pos);
}

export function release(ov: Overlay, fd: number): void {
  ov.files.delete(fd);
  closeSync(fd);
}

/** fsync=0 and volatile make this a no-op: containers that opt in trade durability for speed. */
export function fsync(ov: Overlay, fd: number, datasync: boolean): void {
  if (!ov.config.fsync) return;
  if (datasync) fdatasyncSync(fd);
  else fsyncSync(fd);
}
