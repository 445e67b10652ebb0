/**
 * Typed wrappers for the syscalls Node lacks, implemented by the C addon in native/.
 * Every call is synchronous: each is one cheap syscall, and a threadpool hop would cost more.
 * Failures throw Node-style errors: `code` (ENOENT…), negative `errno`, `syscall`, `path`.
 */
import { existsSync, statfsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrNativeUnavailable } from './errors.js';

interface Addon {
  mknod(path: string, mode: number, major: number, minor: number): void;
  lgetxattr(path: string, name: string): Buffer;
  lsetxattr(path: string, name: string, value: Buffer, flags: number): void;
  llistxattr(path: string): string[];
  lremovexattr(path: string, name: string): void;
  renameat2(oldPath: string, newPath: string, flags: number): void;
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;
  umount2(target: string, flags: number): void;
  fsopen(fsname: string, flags: number): number;
  fsconfig(fd: number, cmd: number, key: string | null, value: string | null, aux: number): void;
  fsmount(fd: number, flags: number, attrFlags: number): number;
  moveMount(fromDfd: number, fromPath: string, toDfd: number, toPath: string, flags: number): void;
  utimensat(path: string, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number, flags: number): void;
  close(fd: number): void;
  warmDir(path: string): boolean;
  listDir(path: string, dirXattrs: readonly string[], entryXattrs: readonly string[], statAll: boolean): Buffer;
  constants: Record<string, number>;
}

/** The package root, found from this file whether it runs from src/ or dist/src/. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new ErrNativeUnavailable('cannot find the strata package root');
    dir = up;
  }
  return dir;
}

let addon: Addon | undefined;

function load(): Addon {
  if (addon) return addon;
  const path = join(packageRoot(), 'native', 'build', 'Release', 'strata_native.node');
  try {
    addon = createRequire(import.meta.url)(path) as Addon;
  } catch (err) {
    throw new ErrNativeUnavailable(
      `strata's native addon is not built (${path}): run "npm run build:native" ` +
        `(needs a C compiler and Node headers): ${(err as Error).message}`,
      { cause: err },
    );
  }
  return addon;
}

/** The kernel constants callers use, as the addon exports them from the headers it was built against. */
export type ConstantName =
  | 'MS_RDONLY' | 'MS_NOSUID' | 'MS_NODEV' | 'MS_NOEXEC' | 'MS_NOATIME' | 'MS_BIND' | 'MS_REC' | 'MS_REMOUNT'
  | 'MS_PRIVATE' | 'MNT_FORCE' | 'MNT_DETACH' | 'RENAME_NOREPLACE' | 'RENAME_EXCHANGE' | 'RENAME_WHITEOUT'
  | 'XATTR_CREATE' | 'XATTR_REPLACE' | 'AT_SYMLINK_NOFOLLOW' | 'UTIME_OMIT' | 'UTIME_NOW'
  | 'MOUNT_ATTR_RDONLY' | 'MOUNT_ATTR_NOSUID' | 'MOUNT_ATTR_NODEV' | 'MOUNT_ATTR_NOEXEC' | 'MOUNT_ATTR_NOATIME';

/** Read lazily, so importing this module never needs the addon built. */
export const constants = new Proxy({} as Readonly<Record<ConstantName, number>>, {
  get(_target, name: string): number {
    const value = load().constants[name];
    if (value === undefined) throw new ErrNativeUnavailable(`the native addon exports no constant ${name}`);
    return value;
  },
});

/** Filesystem magic numbers (statfs f_type) the drivers care about. */
export const FsMagic = {
  EXT4: 0xef53,
  XFS: 0x58465342,
  BTRFS: 0x9123683e,
  TMPFS: 0x01021994,
  OVERLAY: 0x794c7630,
  AUFS: 0x61756673,
  ECRYPTFS: 0xf15f,
  FUSE: 0x65735546,
  ZFS: 0x2fc12fc1,
  NFS: 0x6969,
} as const;

/** Creates a device node or fifo; `mode` includes the type bits (S_IFCHR, S_IFBLK, S_IFIFO). */
export function mknod(path: string, mode: number, major = 0, minor = 0): void {
  load().mknod(path, mode, major, minor);
}

/** Reads an xattr without following symlinks; throws ENODATA when it is absent. */
export function lgetxattr(path: string, name: string): Buffer {
  return load().lgetxattr(path, name);
}

/** Like lgetxattr but returns undefined when the attribute (or xattr support) is absent. */
export function lgetxattrOptional(path: string, name: string): Buffer | undefined {
  try {
    return load().lgetxattr(path, name);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENODATA' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return undefined;
    throw err;
  }
}

export function lsetxattr(path: string, name: string, value: Buffer | string, flags = 0): void {
  load().lsetxattr(path, name, typeof value === 'string' ? Buffer.from(value) : value, flags);
}

export function llistxattr(path: string): string[] {
  return load().llistxattr(path);
}

export function lremovexattr(path: string, name: string): void {
  load().lremovexattr(path, name);
}

/** renameat2(2) relative to the cwd; flags from `constants.RENAME_*`. */
export function renameat2(oldPath: string, newPath: string, flags = 0): void {
  load().renameat2(oldPath, newPath, flags);
}

export function mount(source: string, target: string, fstype: string, flags = 0, data = ''): void {
  load().mount(source, target, fstype, flags, data);
}

export function umount2(target: string, flags = 0): void {
  load().umount2(target, flags);
}

/** A filesystem parameter for the new mount API: a key, or a key and string value. */
export type FsParam = [key: string, value?: string];

/**
 * Mounts with fsopen/fsconfig/fsmount/move_mount, one fsconfig call per parameter, so
 * overlay can take `lowerdir+` once per layer instead of one option string limited to a page.
 */
export function mountFs(fstype: string, target: string, params: FsParam[], attrFlags = 0): void {
  const n = load();
  const c = n.constants;
  const fsfd = n.fsopen(fstype, c.FSOPEN_CLOEXEC!);
  try {
    for (const [key, value] of params) {
      if (value === undefined) n.fsconfig(fsfd, c.FSCONFIG_SET_FLAG!, key, null, 0);
      else n.fsconfig(fsfd, c.FSCONFIG_SET_STRING!, key, value, 0);
    }
    n.fsconfig(fsfd, c.FSCONFIG_CMD_CREATE!, null, null, 0);
    const mfd = n.fsmount(fsfd, c.FSMOUNT_CLOEXEC!, attrFlags);
    try {
      n.moveMount(mfd, '', c.AT_FDCWD!, target, c.MOVE_MOUNT_F_EMPTY_PATH!);
    } finally {
      n.close(mfd);
    }
  } finally {
    n.close(fsfd);
  }
}

/** Sets atime and mtime with nanosecond precision; `nofollow` acts on a symlink itself. */
export function utimensat(
  path: string,
  atime: { sec: number; nsec: number },
  mtime: { sec: number; nsec: number },
  nofollow = true,
): void {
  const n = load();
  n.utimensat(path, atime.sec, atime.nsec, mtime.sec, mtime.nsec, nofollow ? n.constants.AT_SYMLINK_NOFOLLOW! : 0);
}

/** The filesystem magic (statfs f_type) of the filesystem holding `path`; Node's statfs has it. */
export function fsMagic(path: string): number {
  return statfsSync(path).type;
}

/**
 * One entry of listDir: its name, lstat fields, and the asked-for xattrs it has. Without `full`,
 * only the type bits of mode, ino (d_ino) and dev (the directory's) are known; the rest is 0.
 */
export interface DirStatEntry {
  name: string;
  /** The entry was lstat()ed: every field is real. */
  full: boolean;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  rdev: number;
  dev: bigint;
  ino: bigint;
  /** Values of the entryXattrs the entry has; undefined when it has none of them. */
  xattrs: Map<string, Buffer> | undefined;
}

export interface DirStat {
  /** Values of the dirXattrs the directory has; undefined when it has none of them. */
  xattrs: Map<string, Buffer> | undefined;
  /** Every entry but `.` and `..`, in readdir order; one removed while listed is left out. */
  entries: DirStatEntry[];
}

/** Most xattr names listDir reads, per side. */
export const LIST_DIR_MAX_XATTRS = 8;

/**
 * Reads an xattr block of listDir's buffer at `at`: `u8 count`, then per value
 * `u8 index into names, u32 length, bytes`. Returns the values and the offset after the block.
 */
function readXattrs(buf: Buffer, at: number, names: readonly string[]): [Map<string, Buffer> | undefined, number] {
  const count = buf[at++]!;
  if (count === 0) return [undefined, at];
  const values = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const name = names[buf[at]!]!;
    const len = buf.readUInt32LE(at + 1);
    values.set(name, Buffer.from(buf.subarray(at + 5, at + 5 + len)));
    at += 5 + len;
  }
  return [values, at];
}

/**
 * A directory's entries with the values of the xattrs named in `entryXattrs` each entry has and
 * those of `dirXattrs` on the directory itself: one call instead of readdirSync, lstatSync per
 * entry and the xattr reads. Entries are lstat()ed (never followed) with `statAll`, and otherwise
 * only where d_type cannot tell the type or a character device may be a 0/0 whiteout: the others
 * cost no syscall. A symlink is not followed to a directory (ELOOP or ENOTDIR). Errors name the
 * path (an entry's, when stating or reading its xattrs failed).
 *
 * The buffer: dir xattr block, `u32 count`, then per entry `u16 name length, name (UTF-8),
 * u8 flags (1: full lstat), u32 mode, uid, gid, nlink, u64 rdev, dev, ino`, entry xattr block
 * (see readXattrs).
 */
export function listDir(
  path: string,
  dirXattrs: readonly string[] = [],
  entryXattrs: readonly string[] = [],
  statAll = false,
): DirStat {
  const buf = load().listDir(path, dirXattrs, entryXattrs, statAll);
  let [xattrs, at] = readXattrs(buf, 0, dirXattrs);
  const count = buf.readUInt32LE(at);
  at += 4;
  const entries: DirStatEntry[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const nameLen = buf.readUInt16LE(at);
    const name = buf.toString('utf8', at + 2, at + 2 + nameLen);
    at += 3 + nameLen;
    const entry: DirStatEntry = {
      name,
      full: buf[at - 1] === 1,
      mode: buf.readUInt32LE(at),
      uid: buf.readUInt32LE(at + 4),
      gid: buf.readUInt32LE(at + 8),
      nlink: buf.readUInt32LE(at + 12),
      rdev: Number(buf.readBigUInt64LE(at + 16)),
      dev: buf.readBigUInt64LE(at + 24),
      ino: buf.readBigUInt64LE(at + 32),
      xattrs: undefined,
    };
    [entry.xattrs, at] = readXattrs(buf, at + 40, entryXattrs);
    entries[i] = entry;
  }
  return { xattrs, entries };
}

/**
 * Asks for a directory to be read into the page cache by the addon's own threads (readahead for
 * walks); nothing comes back. False when the queue is full and the request was dropped.
 */
export function warmDir(path: string): boolean {
  return load().warmDir(path);
}

/** True when the addon is built and loads; for probes that want to skip rather than throw. */
export function nativeAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}
