/**
 * Copy-up: before anything changes a lower entry, a copy of it is made in the upper layer. The copy
 * is built in the work directory (same filesystem as the upper layer) with its data, owner, mode,
 * xattrs and nanosecond times, and renamed into place in one step, so the upper layer never holds a
 * half-made file. Parents are copied first; the parent's times are put back afterwards.
 */
import {
  constants as fsc,
  closeSync,
  copyFileSync,
  lchownSync,
  lstatSync,
  chmodSync,
  mkdirSync,
  openSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  type BigIntStats,
} from 'node:fs';
import { lgetxattrOptional, llistxattr, lsetxattr, mknod, utimensat } from '../native.js';
import { major, minor, nsToTimespec } from './binding.js';
import { codeOf, fail } from './errno.js';
import { childPath, S_IFMT, splitParent } from './layers.js';
import { isDir, ORIGIN_XATTR, type Node } from './node.js';
import type { Overlay } from './overlay.js';
import { keepingParentTimes, markOpaque } from './upper.js';
import { isCopyUpSkipped, OVERRIDE_XATTRS } from './xattr-names.js';

const PERM_BITS = 0o7777;

export interface CopyUpOptions {
  /** Copy no data (the caller truncates to 0 next: open with O_TRUNC, truncate(0)). */
  noData?: boolean;
}

/** Makes path exist in the upper layer (copying parents first) and returns its refreshed node. */
export function copyUp(ov: Overlay, path: string, opts: CopyUpOptions = {}): Node {
  const node = ov.node(path);
  if (node.layers[0]!.writable) return node;
  const job = begin(ov, node, path);
  try {
    makeCopy(job.src, job.tmp, job.st, opts.noData === true);
  } catch (err) {
    rmSync(job.tmp, { recursive: true, force: true });
    throw err;
  }
  return finish(ov, job);
}

/** Files at least this big are copied off the JS thread (copyUpAsync). */
export const ASYNC_COPY_UP_BYTES = 8 * 1024 * 1024;

/**
 * copyUp for a big regular file: the data is copied on libuv's threadpool, so the JS thread keeps
 * answering other requests meanwhile. Callers run it as an exclusive operation (Overlay.exclusive):
 * nothing else changes the overlay until it is done, while lookups and reads go on.
 */
export async function copyUpAsync(ov: Overlay, path: string): Promise<Node> {
  const node = ov.node(path);
  if (node.layers[0]!.writable) return node;
  const job = begin(ov, node, path);
  if (!job.st.isFile()) return finish(ov, job, () => makeCopy(job.src, job.tmp, job.st, false));
  try {
    // Reflink where the filesystem can (btrfs, xfs), a kernel-side copy elsewhere.
    // Loaded at the first big copy-up, not at every mount (node:fs/promises costs ~2 ms to load).
    const { copyFile } = await import('node:fs/promises');
    await copyFile(job.src, job.tmp, fsc.COPYFILE_EXCL | fsc.COPYFILE_FICLONE);
  } catch (err) {
    rmSync(job.tmp, { recursive: true, force: true });
    throw err;
  }
  return finish(ov, job);
}

/** copyUp, or copyUpAsync for a big lower regular file whose data is needed. */
export function copyUpFor(ov: Overlay, path: string, opts: CopyUpOptions = {}): Node | Promise<Node> {
  const node = ov.node(path);
  const top = node.layers[0]!;
  if (top.writable) return node;
  if (opts.noData !== true) {
    const st = top.lstat(path);
    if (st?.isFile() && st.size >= BigInt(ASYNC_COPY_UP_BYTES)) return copyUpAsync(ov, path);
  }
  return copyUp(ov, path, opts);
}

/** Applies fn to a value that may still be on its way. */
export function after<T, R>(v: T | Promise<T>, fn: (t: T) => R): R | Promise<R> {
  return v instanceof Promise ? v.then(fn) : fn(v);
}

interface CopyJob {
  path: string;
  src: string;
  st: BigIntStats;
  tmp: string;
}

/** Parents first, then what to copy and where the copy is built. */
function begin(ov: Overlay, node: Node, path: string): CopyJob {
  ov.writable();
  if (path !== '/') copyUp(ov, splitParent(path)[0]);
  const src = node.layers[0]!.path(path);
  return { path, src, st: lstatSync(src, { bigint: true }), tmp: ov.tempPath() };
}

/** Metadata and origin on the built copy, then the rename that makes it the upper entry. */
function finish(ov: Overlay, job: CopyJob, make?: () => void): Node {
  const { path, src, st, tmp } = job;
  try {
    make?.();
    copyMetadata(ov, src, tmp, st);
    const origin = `${st.dev}:${st.ino}`;
    try {
      lsetxattr(tmp, ORIGIN_XATTR, origin);
    } catch (err) {
      // user.* xattrs are refused on symlinks and devices; the in-memory record still keeps st_ino stable.
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP'].includes(codeOf(err) ?? '')) throw err;
    }
    ov.nodes.recordOrigin(lstatSync(tmp, { bigint: true }), st);
    keepingParentTimes(ov, path, () => renameSync(tmp, ov.writable().path(path)));
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  // The parent's cached listing named the lower copy; readdir must now stat the upper one.
  ov.changed(path);
  return ov.node(path);
}

function makeCopy(src: string, dst: string, st: BigIntStats, noData: boolean): void {
  const type = Number(st.mode) & S_IFMT;
  if (st.isDirectory()) {
    mkdirSync(dst, { mode: 0o700 });
  } else if (st.isFile()) {
    if (noData) closeSync(openSync(dst, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, 0o600));
    // Reflink where the filesystem can (btrfs, xfs), a plain copy elsewhere.
    else copyFileSync(src, dst, fsc.COPYFILE_EXCL | fsc.COPYFILE_FICLONE);
  } else if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(src, { encoding: 'buffer' }), Buffer.from(dst));
  } else {
    mknod(dst, type | 0o600, major(st.rdev), minor(st.rdev));
  }
}

/** Xattrs (but not the overlay's own, except the stat override), owner, mode, then times. */
function copyMetadata(ov: Overlay, src: string, dst: string, st: BigIntStats): void {
  const override = ov.config.xattrPermissions === 0 ? undefined : OVERRIDE_XATTRS[ov.config.xattrPermissions];
  for (const name of listXattrs(src)) {
    if (isCopyUpSkipped(name) && name !== override) continue;
    const value = lgetxattrOptional(src, name);
    if (value === undefined) continue;
    try {
      lsetxattr(dst, name, value);
    } catch (err) {
      // trusted.*/security.* need privileges the daemon may lack; the data itself is copied.
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EACCES'].includes(codeOf(err) ?? '')) throw err;
    }
  }
  try {
    lchownSync(dst, Number(st.uid), Number(st.gid));
  } catch (err) {
    if (ov.euid === 0 || (codeOf(err) !== 'EPERM' && codeOf(err) !== 'EINVAL')) throw err;
  }
  // After chown, which clears setuid/setgid; symlinks have no mode of their own.
  if (!st.isSymbolicLink()) chmodSync(dst, Number(st.mode) & PERM_BITS);
  utimensat(dst, nsToTimespec(st.atimeNs), nsToTimespec(st.mtimeNs));
}

function listXattrs(path: string): string[] {
  try {
    return llistxattr(path);
  } catch (err) {
    if (codeOf(err) === 'ENOTSUP' || codeOf(err) === 'EOPNOTSUPP') return [];
    throw err;
  }
}

/**
 * Copies up a whole directory tree as the merged view shows it and marks its top opaque, so the
 * upper copy stands alone: this is what lets a directory that lives in lower layers be renamed.
 */
export function copyUpTree(ov: Overlay, path: string): void {
  const node = copyUp(ov, path);
  if (!isDir(node)) return;
  for (const entry of ov.merged(path)) {
    const child = childPath(path, entry.name);
    if (ov.node(child).type === 0o040000) copyUpTree(ov, child);
    else copyUp(ov, child);
  }
  const after = ov.node(path);
  if (after.layers.length > 1) {
    const real = ov.writable().path(path);
    keepingParentTimes(ov, `${path}/x`, () => markOpaque(ov, real));
    ov.changedTree(path);
  }
  if (ov.nodes.resolve(path) === undefined) fail('EIO', path, 'directory vanished during copy-up');
}
