/**
 * The overlay's operations as FUSE handlers (binding.ts's FuseOps) and the mount options that
 * suit an overlay: kernel caching and long timeouts (we are the only writer), real inode numbers,
 * open-unlinked files kept alive (hidden.ts), atomic O_TRUNC so truncating opens copy no data.
 */
import { constants as fsc } from 'node:fs';
import type { FuseContext, FuseOps, FuseStat, MountOptions } from './binding.js';
import { fail } from './errno.js';
import * as attr from './ops-attr.js';
import * as dir from './ops-dir.js';
import * as file from './ops-file.js';
import * as ns from './ops-namespace.js';
import * as xattr from './ops-xattr.js';
import type { Overlay } from './overlay.js';

/** Longest the kernel may trust attributes (nlink, ctime of other hardlink names); libfuse's default. */
export const ATTR_TIMEOUT_MAX = 1;

/** Largest write the kernel sends in one request with big_writes. */
const MAX_WRITE = 128 * 1024;

function toFuseStat(a: attr.Attr): FuseStat {
  return a;
}

/** The caller's ids as the overlay wants them (pid kept for logs). */
function caller(ctx: FuseContext): { uid: number; gid: number; pid: number } {
  return { uid: ctx.uid, gid: ctx.gid, pid: ctx.pid };
}

/** A path the op needs; null only reaches fh-based ops of unlinked files. */
function need(path: string | null): string {
  return path ?? fail('ENOENT');
}

export function fuseOps(ov: Overlay): FuseOps {
  return {
    getattr: (path) => toFuseStat(attr.getattr(ov, path)),
    fgetattr: (path, fh) => toFuseStat(attr.fgetattr(ov, path ?? undefined, fh)),
    chmod: (path, mode) => attr.chmod(ov, path, mode),
    chown: (path, uid, gid) => attr.chown(ov, path, uid, gid),
    utimens: (path, atime, mtime) => attr.utimens(ov, path, atime, mtime),
    truncate: (path, size) => attr.truncate(ov, path, size),
    ftruncate: (_path, fh, size) => attr.ftruncate(fh, size),

    // No opendir/releasedir/flush/fsyncdir handlers: libfuse answers those itself (flush and
    // fsyncdir with ENOSYS, which the kernel remembers), sparing a trip to the JS thread per file.
    readdir: (path) => {
      const p = need(path);
      const entries = dir.readdir(ov, p);
      const dirStat: FuseStat = { mode: fsc.S_IFDIR | 0o755 };
      return {
        names: ['.', '..', ...entries.map((e) => e.name)],
        stats: [dirStat, dirStat, ...entries.map((e) => toFuseStat(e.attr))],
      };
    },
    mkdir: (path, mode, ctx) => dir.mkdir(ov, caller(ctx), path, mode),
    rmdir: (path) => dir.rmdir(ov, path),

    open: (path, flags) => file.open(ov, path, flags),
    create: (path, mode, ctx) => file.create(ov, caller(ctx), path, mode),
    read: (_path, fh, buf, len, pos) => file.read(fh, buf, len, pos),
    write: (_path, fh, buf, len, pos) => file.write(ov, fh, buf, len, pos),
    release: (_path, fh) => file.release(ov, fh),
    fsync: (_path, datasync, fh) => file.fsync(ov, fh, datasync !== 0),

    unlink: (path) => ns.unlink(ov, path),
    rename: (from, to) => ns.rename(ov, from, to),
    link: (from, to) => ns.link(ov, from, to),
    symlink: (target, path, ctx) => ns.symlink(ov, caller(ctx), target, path),
    readlink: (path) => ns.readlink(ov, path),
    mknod: (path, mode, rdev, ctx) => ns.mknod(ov, caller(ctx), path, mode, rdev),

    getxattr: (path, name) => xattr.getxattr(ov, path, name),
    listxattr: (path) => xattr.listxattr(ov, path),
    setxattr: (path, name, value, _position, flags) => xattr.setxattr(ov, path, name, value, flags),
    removexattr: (path, name) => xattr.removexattr(ov, path, name),
    statfs: () => xattr.statfs(ov),
  };
}

/** libfuse options for an overlay mount of `source` (shown as the mount's source in /proc/mounts). */
export function mountOptions(ov: Overlay, source: string | undefined): MountOptions {
  const cfg = ov.config;
  const root = ov.euid === 0;
  const extra = [...cfg.kernelOptions];
  // As fuse-overlayfs: a root mount serves every user and keeps setuid binaries and devices working.
  if (root) for (const o of ['suid', 'dev']) if (!extra.includes(`no${o}`) && !extra.includes(o)) extra.push(o);
  return {
    fsname: source ?? 'strata-fuse',
    subtype: 'strata-fuse',
    allowOther: cfg.allowOther || root,
    defaultPermissions: true,
    ro: cfg.readOnly,
    // libfuse3 (fuse-overlayfs) mounts over non-empty directories without asking; libfuse2 needs this.
    nonempty: true,
    useIno: true,
    // Not hard_remove: with it fstat(2) of an unlinked open file fails; hidden.ts parks such files instead.
    hardRemove: false,
    nullPathOk: true,
    kernelCache: true,
    atomicOTrunc: true,
    bigWrites: true,
    maxWrite: MAX_WRITE,
    entryTimeout: cfg.timeout,
    // libfuse2's high-level API gives each name of a hardlinked file its own kernel inode, and the
    // kernel no longer drops the other names' attributes on link/unlink: keep them short-lived.
    attrTimeout: cfg.attrTimeout ?? Math.min(cfg.timeout, ATTR_TIMEOUT_MAX),
    negativeTimeout: cfg.timeout,
    debug: cfg.debug,
    extraOptions: extra,
    timeout: 0,
  };
}
