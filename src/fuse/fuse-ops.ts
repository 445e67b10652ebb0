/**
 * The overlay's operations as FUSE handlers (binding.ts's FuseOps) and the mount options that
 * suit an overlay: kernel caching and long timeouts (we are the only writer), real inode numbers,
 * open-unlinked files kept alive (hidden.ts), atomic O_TRUNC so truncating opens copy no data, and
 * the fast ops: lookups, read-only opens and all file I/O answered on the FUSE threads.
 */
import { constants as fsc } from 'node:fs';
import { AttrCache } from './attr-cache.js';
import { loadFuseNative, type FuseContext, type FuseNative, type FuseOps, type FuseStat, type MountOptions } from './binding.js';
import { codeOf, fail } from './errno.js';
import * as attr from './ops-attr.js';
import * as dir from './ops-dir.js';
import * as file from './ops-file.js';
import * as ns from './ops-namespace.js';
import * as xattr from './ops-xattr.js';
import type { Overlay } from './overlay.js';

/**
 * How long the kernel may trust the attributes of a file with several names. libfuse2's high-level
 * API gives each name its own kernel inode, and a change through one name does not reach the
 * others' cached attributes (nlink, ctime, size); 0 makes the kernel ask again each time (answered
 * in C from the attribute cache). Everything else is cached for the mount's timeout.
 */
export const HARDLINK_ATTR_TIMEOUT = 0;

/** Pages per read or write request (FUSE_MAX_PAGES): 1 MiB, as libfuse 3 asks for. */
const MAX_PAGES = 256;
/** Largest write the kernel sends in one request. */
const MAX_WRITE = MAX_PAGES * 4096;
/** Set to 0 to keep all file I/O in the daemon (FUSE passthrough off), e.g. to compare. */
export const PASSTHROUGH_ENV = 'STRATA_FUSE_PASSTHROUGH';
/** The kernel asks whether a file has file capabilities before every write(2) it passes on. */
const HOT_XATTRS = ['security.capability'];

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
  // Changes run one at a time (Overlay.exclusive); the caller's context is taken before any wait.
  const change = <T>(op: () => T | Promise<T>): T | Promise<T> => ov.exclusive(op);
  return {
    getattr: (path) => {
      try {
        return toFuseStat(attr.getattr(ov, path));
      } catch (err) {
        if (codeOf(err) === 'ENOENT') ov.sink?.missing(path);
        throw err;
      }
    },
    fgetattr: (path, fh) => toFuseStat(attr.fgetattr(ov, path ?? undefined, fh)),
    chmod: (path, mode) => change(() => attr.chmod(ov, path, mode)),
    chown: (path, uid, gid) => change(() => attr.chown(ov, path, uid, gid)),
    utimens: (path, atime, mtime) => change(() => attr.utimens(ov, path, atime, mtime)),
    truncate: (path, size) => change(() => attr.truncate(ov, path, size)),
    ftruncate: (_path, fh, size) => attr.ftruncate(fh, size),

    // No opendir/releasedir/flush/fsyncdir handlers: libfuse answers those itself (flush and
    // fsyncdir with ENOSYS, which the kernel remembers), sparing a trip to the JS thread per file.
    readdir: (path) => {
      const p = need(path);
      const { entries, complete } = dir.readdir(ov, p);
      ov.sink?.answered(p, entries, complete);
      const dirStat: FuseStat = { mode: fsc.S_IFDIR | 0o755 };
      return {
        names: ['.', '..', ...entries.map((e) => e.name)],
        stats: [dirStat, dirStat, ...entries.map((e): FuseStat => ({ mode: e.id.mode, ino: e.id.ino }))],
      };
    },
    mkdir: (path, mode, ctx) => change(() => dir.mkdir(ov, caller(ctx), path, mode)),
    rmdir: (path) => change(() => dir.rmdir(ov, path)),

    // read, write and release are the C side's (fdIo): the handle is the real descriptor.
    open: (path, flags) => (file.openChanges(flags) ? change(() => file.open(ov, path, flags)) : file.open(ov, path, flags)),
    create: (path, mode, ctx) => change(() => file.create(ov, caller(ctx), path, mode)),
    fsync: (_path, datasync, fh) => file.fsync(ov, fh, datasync !== 0),

    unlink: (path) => change(() => ns.unlink(ov, path)),
    rename: (from, to) => change(() => ns.rename(ov, from, to)),
    exchange: (a, b) => change(() => ns.exchange(ov, a, b)),
    link: (from, to) => change(() => ns.link(ov, from, to)),
    symlink: (target, path, ctx) => change(() => ns.symlink(ov, caller(ctx), target, path)),
    readlink: (path) => ns.readlink(ov, path),
    mknod: (path, mode, rdev, ctx) => change(() => ns.mknod(ov, caller(ctx), path, mode, rdev)),

    getxattr: (path, name) => xattr.getxattr(ov, path, name),
    listxattr: (path) => xattr.listxattr(ov, path),
    setxattr: (path, name, value, _position, flags) => change(() => xattr.setxattr(ov, path, name, value, flags)),
    removexattr: (path, name) => change(() => xattr.removexattr(ov, path, name)),
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
    // Hardlinked files get HARDLINK_ATTR_TIMEOUT instead (the fast ops' reply filter).
    attrTimeout: cfg.attrTimeout ?? cfg.timeout,
    negativeTimeout: cfg.timeout,
    debug: cfg.debug,
    extraOptions: extra,
    timeout: 0,
    fast: {
      layers: ov.layers.map((l) => l.root),
      fdIo: true,
      hardlinkAttrTimeout: Math.min(HARDLINK_ATTR_TIMEOUT, cfg.attrTimeout ?? cfg.timeout),
      // With hardlinks' attributes refreshed, their pages follow (the kernel compares mtime and size).
      autoInvalData: true,
      staticNlink: cfg.staticNlink,
      maxPages: MAX_PAGES,
      cacheDir: true,
      readdirplus: true,
      // Files of every layer (a lower file copied up while open gets a new kernel inode for later
      // opens: strata-passthrough.c). Opening backing files takes CAP_SYS_ADMIN.
      passthrough: root && process.env[PASSTHROUGH_ENV] !== '0',
      writableLayer: ov.upper ? ov.upper.index : undefined,
      rename2: true,
      // xattr_permissions=2 renames security.* (xattr-names.ts): those go through JS.
      directXattrs: cfg.xattrPermissions === 2 ? [] : HOT_XATTRS,
      uidMap: ov.ids.uid.describe(),
      gidMap: ov.ids.gid.describe(),
    },
  };
}

/** Connects the overlay to the C side's attribute cache of a mount made with mountOptions. */
export function attachAttrCache(ov: Overlay, fuse: FuseNative): AttrCache {
  const Fuse = loadFuseNative();
  const cache = new AttrCache(ov, {
    apply: (records) => {
      const res = fuse.cacheApply(Fuse.encodeCacheRecords(records));
      if (res !== 0) throw new Error(`strata-fuse: the attribute cache refused a batch (errno ${-res})`);
    },
  }, (path) => dir.readdir(ov, path));
  ov.sink = cache;
  cache.start();
  return cache;
}
