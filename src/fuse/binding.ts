/**
 * Typed access to fuse-native as strata patches it (docs/fuse-native-patch.md): the raw callback
 * API, mount options, the caller context, errno helpers, and `mountFuse`, which runs plain or
 * async handlers and turns whatever they throw into the errno the kernel should see.
 *
 * Every handler runs on the JS thread. A process that serves a mount must never touch that mount
 * synchronously itself (the handler could not run), and must not fill libuv's threadpool with
 * calls into it while its handlers need the threadpool.
 */
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { ErrNativeUnavailable } from '../errors.js';
import type { CacheRecord, FuseOptions } from './binding-options.js';

/** A time as utimensat(2) takes it; in utimens, nsec may be UTIME_NOW or UTIME_OMIT. */
export interface Timespec {
  sec: number;
  nsec: number;
}

export const UTIME_NOW = (1 << 30) - 1;
export const UTIME_OMIT = (1 << 30) - 2;
/** The id chown(2) leaves unchanged: (uid_t)-1. */
export const ID_UNCHANGED = 0xffffffff;

/** Who asked: from fuse_get_context(). pid is the caller's thread id; umask is set on create/mknod/mkdir. */
export interface FuseContext {
  uid: number;
  gid: number;
  pid: number;
  umask: number;
}

/** ns since the epoch (as fs.BigIntStats' *timeNs), a Timespec, a Date, or ms since the epoch. */
export type FuseTime = bigint | Timespec | Date | number;
type Int = number | bigint;

/** getattr/fgetattr/readdir results; fs.Stats and fs.BigIntStats fit as they are. */
export interface FuseStat {
  mode: Int;
  uid?: Int;
  gid?: Int;
  size?: Int;
  /** Defaults to 1. */
  nlink?: Int;
  /** Reaches the kernel only with useIno; 0 in readdir means "unknown". */
  ino?: Int;
  rdev?: Int;
  dev?: Int;
  blksize?: Int;
  blocks?: Int;
  atime?: FuseTime;
  mtime?: FuseTime;
  ctime?: FuseTime;
  /** Preferred over atime/mtime/ctime when present. */
  atimeNs?: bigint;
  mtimeNs?: bigint;
  ctimeNs?: bigint;
}

/** statfs results; fs.StatFs (with or without bigint) fits. frsize defaults to bsize, favail to ffree. */
export interface FuseStatfs {
  bsize: Int;
  frsize?: Int;
  blocks: Int;
  bfree: Int;
  bavail: Int;
  files: Int;
  ffree: Int;
  favail?: Int;
  fsid?: Int;
  flag?: Int;
  namemax?: Int;
}

/** What a handler may fail with: see toErrno. */
export type ErrnoLike = number | string | { code?: unknown; errno?: unknown } | null | undefined;

type Done = (err: ErrnoLike) => void;
type Reply<V> = (err: ErrnoLike, value?: V) => void;
type Count = (result: number | ErrnoLike) => void; // read/write: the byte count, or a failure

/**
 * The raw callback API. A path is null only for ops on an open file that was unlinked, and only
 * when mounted with nullPathOk (use with hardRemove); such handlers must work from the fh.
 */
export interface FuseCallbackOps {
  init?(cb: Done): void;
  access?(path: string, mode: number, cb: Done): void;
  statfs?(path: string, cb: Reply<FuseStatfs>): void;
  getattr?(path: string, cb: Reply<FuseStat>): void;
  /** fstat and libfuse's own look-ups after create/ftruncate; without it libfuse calls getattr. */
  fgetattr?(path: string | null, fh: number, cb: Reply<FuseStat>): void;
  flush?(path: string | null, fh: number, cb: Done): void;
  fsync?(path: string | null, datasync: number, fh: number, cb: Done): void;
  fsyncdir?(path: string | null, datasync: number, fh: number, cb: Done): void;
  /** With stats, the kernel gets each entry's d_type (and d_ino with useIno). */
  readdir?(path: string | null, cb: (err: ErrnoLike, names?: string[], stats?: FuseStat[]) => void): void;
  truncate?(path: string, size: number, cb: Done): void;
  ftruncate?(path: string | null, fh: number, size: number, cb: Done): void;
  utimens?(path: string, atime: Timespec, mtime: Timespec, cb: Done): void;
  readlink?(path: string, cb: Reply<string>): void;
  /** ID_UNCHANGED for an id that stays. */
  chown?(path: string, uid: number, gid: number, cb: Done): void;
  chmod?(path: string, mode: number, cb: Done): void;
  /** rdev is the full dev_t (see major/minor). */
  mknod?(path: string, mode: number, rdev: number, cb: Done): void;
  /** position is always 0 on Linux; flags are XATTR_CREATE / XATTR_REPLACE. */
  setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: Done): void;
  /** Answer with the whole value; size probes and ERANGE are handled for you. */
  getxattr?(path: string, name: string, position: number, cb: Reply<Buffer>): void;
  listxattr?(path: string, cb: Reply<string[]>): void;
  removexattr?(path: string, name: string, cb: Done): void;
  /** Answers with the fh that later ops receive. */
  open?(path: string, flags: number, cb: Reply<number>): void;
  opendir?(path: string, flags: number, cb: Reply<number>): void;
  /** buf is the kernel's own buffer (zero-copy), valid only until cb. */
  read?(path: string | null, fh: number, buf: Buffer, len: number, pos: number, cb: Count): void;
  write?(path: string | null, fh: number, buf: Buffer, len: number, pos: number, cb: Count): void;
  release?(path: string | null, fh: number, cb: Done): void;
  releasedir?(path: string | null, fh: number, cb: Done): void;
  /** libfuse2 passes no open flags to create. */
  create?(path: string, mode: number, cb: Reply<number>): void;
  unlink?(path: string, cb: Done): void;
  /** No flags: libfuse2 has none; see FastOptions.rename2 for RENAME_NOREPLACE. */
  rename?(src: string, dest: string, cb: Done): void;
  /** renameat2(RENAME_EXCHANGE) of two existing names; reached only with FastOptions.rename2. */
  exchange?(a: string, b: string, cb: Done): void;
  link?(src: string, dest: string, cb: Done): void;
  /** target is the link's content, path the new link. */
  symlink?(target: string, path: string, cb: Done): void;
  mkdir?(path: string, mode: number, cb: Done): void;
  rmdir?(path: string, cb: Done): void;
}

export type FuseOpName = keyof FuseCallbackOps;

export type { CacheRecord, FastIdMap, FastOptions, FuseOptions } from './binding-options.js';

/** The patched fuse-native's Fuse instance. */
export interface FuseNative {
  readonly mnt: string;
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
  /** The caller of the op being dispatched; valid synchronously at the start of a handler. */
  context(): FuseContext;
  /** Applies a batch made by encodeCacheRecords (fast mounts only); 0 or a negative errno. */
  cacheApply(records: Buffer): number;
  /** Entries in the fast ops' attribute cache. */
  cacheSize(): number;
  /** Handles opened and not yet released (fast mounts only; -1 otherwise). */
  openFiles(): number;
}

export interface FuseNativeClass {
  new (mnt: string, ops: FuseCallbackOps, opts?: FuseOptions): FuseNative;
  unmount(mnt: string, cb: (err: Error | null) => void): void;
  toErrno(err: unknown): number;
  encodeCacheRecords(records: readonly CacheRecord[]): Buffer;
  DEFAULT_TIMEOUT: number;
}

let loaded: FuseNativeClass | undefined;

/** The patched fuse-native class; fails clearly when it is not built (or is the stock prebuild). */
export function loadFuseNative(): FuseNativeClass {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('fuse-native') as FuseNativeClass;
  } catch (err) {
    throw new ErrNativeUnavailable(
      `fuse-native is not usable: run "node scripts/build-fuse-native.mjs" (needs libfuse2, a C ` +
        `compiler and Node headers): ${(err as Error).message}`,
      { cause: err },
    );
  }
  return loaded;
}

/**
 * The negative errno for a failure: a number of either sign, an errno name ('ENOENT'), or an
 * error carrying `code` or `errno` (Node's fs errors). Anything else is EIO, never success.
 */
export function toErrno(err: unknown): number {
  if (err === null || err === undefined || err === false || err === 0) return 0;
  if (typeof err === 'number') return Number.isInteger(err) ? -Math.abs(err) : -constants.errno.EIO;
  const table = constants.errno as Record<string, number | undefined>;
  if (typeof err === 'string') return -(table[err.toUpperCase()] ?? constants.errno.EIO);
  if (typeof err === 'object') {
    const { code, errno } = err as { code?: unknown; errno?: unknown };
    const byCode = typeof code === 'string' ? table[code] : undefined;
    if (byCode) return -byCode;
    if (typeof errno === 'number' && Number.isInteger(errno) && errno !== 0 && Math.abs(errno) < 4000) return -Math.abs(errno);
  }
  return -constants.errno.EIO;
}

/** True when err names an errno of its own (so mapping it is not hiding a bug). */
export function isErrnoError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return typeof err === 'number' || typeof err === 'string';
  const { code, errno } = err as { code?: unknown; errno?: unknown };
  return (typeof code === 'string' && code in constants.errno) || typeof errno === 'number';
}

/** glibc's dev_t encoding, as mknod's rdev and FuseStat.rdev carry it. */
export function makedev(major: number, minor: number): number {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return Number((mi & 0xffn) | ((ma & 0xfffn) << 8n) | ((mi & ~0xffn) << 12n) | ((ma & ~0xfffn) << 32n));
}

export function major(dev: Int): number {
  const d = BigInt(dev);
  return Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & 0xfffff000n));
}

export function minor(dev: Int): number {
  const d = BigInt(dev);
  return Number((d & 0xffn) | ((d >> 12n) & 0xffffff00n));
}

export function nsToTimespec(ns: bigint): Timespec {
  const nsec = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n; // floor, also before 1970
  return { sec: Number((ns - nsec) / 1_000_000_000n), nsec: Number(nsec) };
}

/** ns since the epoch; not meaningful for UTIME_NOW / UTIME_OMIT, check those first. */
export function timespecToNs(t: Timespec): bigint {
  return BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);
}

type R<V> = V | Promise<V>;

/** Entries of one directory; stats (same order) give the kernel d_type. */
export interface FuseDirEntries {
  names: string[];
  stats?: FuseStat[];
}

/**
 * Handlers for mountFuse: the callback API's arguments plus the caller's context, answering by
 * return value (or promise) and failing by throwing (see toErrno).
 */
export interface FuseOps {
  init?(ctx: FuseContext): R<void>;
  access?(path: string, mode: number, ctx: FuseContext): R<void>;
  statfs?(path: string, ctx: FuseContext): R<FuseStatfs>;
  getattr?(path: string, ctx: FuseContext): R<FuseStat>;
  fgetattr?(path: string | null, fh: number, ctx: FuseContext): R<FuseStat>;
  flush?(path: string | null, fh: number, ctx: FuseContext): R<void>;
  fsync?(path: string | null, datasync: number, fh: number, ctx: FuseContext): R<void>;
  fsyncdir?(path: string | null, datasync: number, fh: number, ctx: FuseContext): R<void>;
  readdir?(path: string | null, ctx: FuseContext): R<FuseDirEntries>;
  truncate?(path: string, size: number, ctx: FuseContext): R<void>;
  ftruncate?(path: string | null, fh: number, size: number, ctx: FuseContext): R<void>;
  utimens?(path: string, atime: Timespec, mtime: Timespec, ctx: FuseContext): R<void>;
  readlink?(path: string, ctx: FuseContext): R<string>;
  chown?(path: string, uid: number, gid: number, ctx: FuseContext): R<void>;
  chmod?(path: string, mode: number, ctx: FuseContext): R<void>;
  mknod?(path: string, mode: number, rdev: number, ctx: FuseContext): R<void>;
  setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, ctx: FuseContext): R<void>;
  getxattr?(path: string, name: string, position: number, ctx: FuseContext): R<Buffer>;
  listxattr?(path: string, ctx: FuseContext): R<string[]>;
  removexattr?(path: string, name: string, ctx: FuseContext): R<void>;
  open?(path: string, flags: number, ctx: FuseContext): R<number>;
  opendir?(path: string, flags: number, ctx: FuseContext): R<number>;
  read?(path: string | null, fh: number, buf: Buffer, len: number, pos: number, ctx: FuseContext): R<number>;
  write?(path: string | null, fh: number, buf: Buffer, len: number, pos: number, ctx: FuseContext): R<number>;
  release?(path: string | null, fh: number, ctx: FuseContext): R<void>;
  releasedir?(path: string | null, fh: number, ctx: FuseContext): R<void>;
  create?(path: string, mode: number, ctx: FuseContext): R<number>;
  unlink?(path: string, ctx: FuseContext): R<void>;
  rename?(src: string, dest: string, ctx: FuseContext): R<void>;
  exchange?(a: string, b: string, ctx: FuseContext): R<void>;
  link?(src: string, dest: string, ctx: FuseContext): R<void>;
  symlink?(target: string, path: string, ctx: FuseContext): R<void>;
  mkdir?(path: string, mode: number, ctx: FuseContext): R<void>;
  rmdir?(path: string, ctx: FuseContext): R<void>;
}

export interface MountOptions extends FuseOptions {
  /** Told about failures that are not errno errors (bugs, mapped to EIO). */
  onError?: (op: FuseOpName, err: unknown) => void;
}

export interface FuseHandle {
  readonly mnt: string;
  readonly fuse: FuseNative;
  /** Lazily unmounts and releases the native side; safe if the mount is already gone. */
  unmount(): Promise<void>;
}

type AnyCallback = (...a: unknown[]) => void;
type AnyHandler = (...a: unknown[]) => unknown;

/** How each op's callback wants its answer. */
function answer(op: FuseOpName, cb: AnyCallback, value: unknown): void {
  if (op === 'read' || op === 'write') cb(value);
  else if (op === 'readdir') cb(0, (value as FuseDirEntries).names, (value as FuseDirEntries).stats);
  else if (value === undefined) cb(0);
  else cb(0, value);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** The callback-style op for one FuseOps handler: context appended, result or throw routed to cb. */
function adapt(op: FuseOpName, handler: AnyHandler, fuse: () => FuseNative, onError: MountOptions['onError']): AnyHandler {
  return (...args: unknown[]) => {
    const cb = args.pop() as AnyCallback;
    const fail = (err: unknown): void => {
      if (onError && !isErrnoError(err)) onError(op, err);
      cb(toErrno(err));
    };
    let result: unknown;
    try {
      result = handler(...args, fuse().context());
    } catch (err) {
      return fail(err);
    }
    if (isThenable(result)) result.then((v) => answer(op, cb, v), fail);
    else answer(op, cb, result);
  };
}

/**
 * Mounts `ops` at `mnt` and resolves once the kernel has initialised the connection. Ops time
 * out never unless opts.timeout says so.
 */
export async function mountFuse(mnt: string, ops: FuseOps, opts: MountOptions = {}): Promise<FuseHandle> {
  const Fuse = loadFuseNative();
  const { onError, ...fuseOpts } = opts;
  const callbacks: Record<string, AnyHandler> = {};
  let fuse: FuseNative | undefined;
  const self = (): FuseNative => fuse!;
  for (const [op, handler] of Object.entries(ops) as Array<[FuseOpName, AnyHandler | undefined]>) {
    if (typeof handler === 'function') callbacks[op] = adapt(op, handler.bind(ops), self, onError);
  }
  fuse = new Fuse(mnt, callbacks as FuseCallbackOps, { timeout: 0, ...fuseOpts });
  const mounted = fuse;
  await new Promise<void>((resolve, reject) =>
    mounted.mount((err) => (err ? reject(new Error(`mounting FUSE at ${mnt}: ${err.message}`, { cause: err })) : resolve())),
  );
  return {
    mnt: mounted.mnt,
    fuse: mounted,
    unmount: () =>
      new Promise<void>((resolve, reject) =>
        mounted.unmount((err) => (err ? reject(new Error(`unmounting FUSE at ${mnt}: ${err.message}`, { cause: err })) : resolve())),
      ),
  };
}
