/**
 * A faithful copy of a directory tree, as vfs needs to snapshot a layer: contents (reflinked
 * where the filesystem can), hardlinks kept as hardlinks, devices, fifos, sockets, symlinks,
 * owners, all mode bits, xattrs and nanosecond times. Directory modes and times are applied
 * last, deepest first, so creating children neither is refused by a read-only parent nor
 * bumps a parent's mtime after it was set.
 */
import {
  chmodSync,
  constants as fsc,
  linkSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readlinkSync,
  symlinkSync,
  type BigIntStats,
} from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldNow } from 'node:timers/promises';
import { hasCode, wrap } from '../errors.js';
import { lgetxattrOptional, llistxattr, lsetxattr, mknod, utimensat } from '../native.js';
import { inodeKey, walkTree, WALK_BATCH, type WalkEntry } from './walk.js';

export interface CopyTreeOptions {
  /** Keep going when an owner cannot be set (EPERM/EINVAL), leaving the copier as owner. */
  ignoreChownErrors?: boolean;
  /** Skip char/block devices that cannot be created (EPERM, e.g. when not root). */
  ignoreDeviceErrors?: boolean;
  /** File contents copied at once; content copies are the only slow part. */
  concurrency?: number;
}

const DEFAULT_CONCURRENCY = 8;
const PERM_BITS = 0o7777;

/** Bounded set of in-flight content copies; the first failure stops the copy. */
class CopyPool {
  readonly #running = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;

  constructor(readonly limit: number) {}

  async add(task: () => Promise<void>): Promise<void> {
    while (this.#running.size >= this.limit) await Promise.race(this.#running);
    this.throwIfFailed();
    const p: Promise<void> = task()
      .catch((error: unknown) => {
        this.#failure ??= { error };
      })
      .finally(() => this.#running.delete(p));
    this.#running.add(p);
  }

  async drain(): Promise<void> {
    await Promise.all(this.#running);
    this.throwIfFailed();
  }

  throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}

/** A settled-later promise for the first name of a hardlinked inode. */
interface LinkTarget {
  path: string;
  ready: Promise<void>;
}

/**
 * Copies the tree at `src` to `dst`. `dst` may be missing or an existing directory (its
 * metadata is then replaced by `src`'s); entries below it must not exist yet.
 */
export async function copyTree(src: string, dst: string, opts: CopyTreeOptions = {}): Promise<void> {
  const ctx = new CopyContext(opts);
  const pool = new CopyPool(opts.concurrency ?? DEFAULT_CONCURRENCY);
  const dirs: Array<{ dst: string; stat: BigIntStats }> = [];
  const links = new Map<string, LinkTarget>();
  let n = 0;

  try {
    for (const entry of walkTree(src)) {
      pool.throwIfFailed();
      const target = entry.rel === '' ? dst : join(dst, entry.rel);
      const { stat } = entry;

      if (stat.isDirectory()) {
        ctx.makeDir(entry, target);
        dirs.push({ dst: target, stat });
      } else if (stat.nlink > 1n && links.has(inodeKey(stat))) {
        const first = links.get(inodeKey(stat))!;
        await pool.add(async () => {
          await first.ready;
          try {
            linkSync(first.path, target);
          } catch (err) {
            throw wrap(err, `copy hardlink ${entry.path} to ${target}`);
          }
        });
      } else if (stat.isFile()) {
        const done = deferred();
        if (stat.nlink > 1n) links.set(inodeKey(stat), { path: target, ready: done.promise });
        await pool.add(async () => {
          try {
            await ctx.copyFile(entry, target);
            done.resolve();
          } catch (err) {
            done.reject(err);
            throw err;
          }
        });
      } else if (ctx.makeSpecial(entry, target) && stat.nlink > 1n) {
        links.set(inodeKey(stat), { path: target, ready: Promise.resolve() });
      }
      if (++n % WALK_BATCH === 0) await yieldNow();
    }
    await pool.drain();
  } catch (err) {
    // Let in-flight copies settle before the caller removes the half-made tree.
    await pool.drain().catch(() => undefined);
    throw err;
  }

  for (let i = dirs.length - 1; i >= 0; i--) {
    const { dst: dir, stat } = dirs[i]!;
    ctx.setMode(dir, stat);
    ctx.setTimes(dir, stat);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A hardlink waiting on it reports the failure; the copy task reports it too.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Per-copy settings and the per-entry metadata steps, in the order the kernel requires. */
class CopyContext {
  readonly #isRoot = process.geteuid?.() === 0;

  constructor(readonly opts: CopyTreeOptions) {}

  makeDir(entry: WalkEntry, dst: string): void {
    try {
      mkdirSync(dst, { mode: 0o700 });
    } catch (err) {
      // The copy root may be prepared by the caller; nothing below it may pre-exist.
      const existing = entry.rel === '' && hasCode(err, 'EEXIST') ? lstatSync(dst) : undefined;
      if (!existing?.isDirectory()) throw wrap(err, `copy directory ${entry.path} to ${dst}`);
    }
    // Owner first: chown clears security.capability, so xattrs come after it.
    this.setOwner(dst, entry.stat);
    this.copyXattrs(entry.path, dst, false);
  }

  async copyFile(entry: WalkEntry, dst: string): Promise<void> {
    try {
      // FICLONE shares extents on btrfs/xfs; libuv falls back to a plain copy elsewhere.
      await copyFile(entry.path, dst, fsc.COPYFILE_EXCL | fsc.COPYFILE_FICLONE);
    } catch (err) {
      throw wrap(err, `copy file ${entry.path} to ${dst}`);
    }
    this.finish(entry, dst, true);
  }

  /** Symlinks, devices, fifos and sockets; false when a device was skipped. */
  makeSpecial(entry: WalkEntry, dst: string): boolean {
    const { stat } = entry;
    if (stat.isSymbolicLink()) {
      try {
        symlinkSync(readlinkSync(entry.path, { encoding: 'buffer' }), dst);
      } catch (err) {
        throw wrap(err, `copy symlink ${entry.path} to ${dst}`);
      }
      this.setOwner(dst, stat);
      this.copyXattrs(entry.path, dst, false);
      this.setTimes(dst, stat);
      return true;
    }
    const type = Number(stat.mode) & fsc.S_IFMT;
    const isDevice = type === fsc.S_IFCHR || type === fsc.S_IFBLK;
    if (!isDevice && type !== fsc.S_IFIFO && type !== fsc.S_IFSOCK) {
      throw new Error(`copy ${entry.path}: unsupported file type 0o${type.toString(8)}`);
    }
    try {
      const { major, minor } = isDevice ? splitDev(stat.rdev) : { major: 0, minor: 0 };
      mknod(dst, type | 0o600, major, minor);
    } catch (err) {
      if (isDevice && hasCode(err, 'EPERM') && this.opts.ignoreDeviceErrors) return false;
      const hint = isDevice && hasCode(err, 'EPERM') ? ' (not permitted; ignoreDeviceErrors skips devices)' : '';
      throw wrap(err, `create ${isDevice ? 'device' : 'special file'} ${dst} copying ${entry.path}${hint}`);
    }
    this.finish(entry, dst, false);
    return true;
  }

  /** Owner, xattrs, mode, then times: every earlier step may change ctime but not mtime. */
  finish(entry: WalkEntry, dst: string, regular: boolean): void {
    this.setOwner(dst, entry.stat);
    this.copyXattrs(entry.path, dst, regular);
    this.setMode(dst, entry.stat);
    this.setTimes(dst, entry.stat);
  }

  setOwner(dst: string, stat: BigIntStats): void {
    const uid = Number(stat.uid);
    const gid = Number(stat.gid);
    try {
      lchownSync(dst, uid, gid);
    } catch (err) {
      if (this.opts.ignoreChownErrors && (hasCode(err, 'EPERM') || hasCode(err, 'EINVAL'))) return;
      throw wrap(err, `chown ${dst} to ${uid}:${gid} (ignoreChownErrors keeps the copier as owner)`);
    }
  }

  setMode(dst: string, stat: BigIntStats): void {
    try {
      // After chown, which clears setuid/setgid.
      chmodSync(dst, Number(stat.mode) & PERM_BITS);
    } catch (err) {
      throw wrap(err, `chmod ${dst}`);
    }
  }

  setTimes(dst: string, stat: BigIntStats): void {
    try {
      utimensat(dst, timespec(stat.atimeNs), timespec(stat.mtimeNs), true);
    } catch (err) {
      throw wrap(err, `set times of ${dst}`);
    }
  }

  copyXattrs(src: string, dst: string, regular: boolean): void {
    let names: string[];
    try {
      names = llistxattr(src);
    } catch (err) {
      if (hasCode(err, 'ENOTSUP') || hasCode(err, 'EOPNOTSUPP')) return;
      throw wrap(err, `list xattrs of ${src}`);
    }
    if (names.length === 0) return;
    // An unprivileged owner needs write permission to set user.* xattrs; mode is set after.
    if (regular && !this.#isRoot) chmodSync(dst, 0o600);
    for (const name of names) {
      const value = lgetxattrOptional(src, name);
      if (value === undefined) continue;
      try {
        lsetxattr(dst, name, value);
      } catch (err) {
        if (this.#xattrSkippable(err, name)) continue;
        throw wrap(err, `copy xattr ${name} of ${src} to ${dst}`);
      }
    }
  }

  /** The destination cannot hold this namespace, or only root may write it. */
  #xattrSkippable(err: unknown, name: string): boolean {
    if (hasCode(err, 'ENOTSUP') || hasCode(err, 'EOPNOTSUPP')) return true;
    const privileged = name.startsWith('trusted.') || name.startsWith('security.');
    return !this.#isRoot && privileged && (hasCode(err, 'EPERM') || hasCode(err, 'EACCES'));
  }
}

/** Linux's dev_t encoding (glibc gnu_dev_major/minor). */
export function splitDev(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

function timespec(ns: bigint): { sec: number; nsec: number } {
  let sec = ns / 1_000_000_000n;
  let nsec = ns % 1_000_000_000n;
  if (nsec < 0n) {
    nsec += 1_000_000_000n;
    sec -= 1n;
  }
  return { sec: Number(sec), nsec: Number(nsec) };
}

/** Re-exported for callers that take both tree helpers from one module. */
export { diskUsage } from './disk-usage.js';
