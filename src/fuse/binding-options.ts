/**
 * The mount options of the patched fuse-native (docs/fuse-native-patch.md): libfuse 2.9's `-o`
 * options, and the fast ops that answer on the FUSE threads (the strata-*.c files of the patch)
 * with the records that keep their attribute cache exact.
 */
import type { FuseOpName } from './binding.js';

type Timeout = number | false;

/** How ids on disk are shown (as fuse-overlayfs's uidmapping): ranges, or every id squashed to one. */
export interface FastIdMap {
  ranges?: Array<{ disk: number; shown: number; size: number }>;
  squash?: number;
  /** Shown for ids outside every range; 65534 by default. */
  overflow?: number;
}

/**
 * Ops answered on the FUSE thread, without a trip to the JS thread (strata-*.c in the patch):
 * getattr/fgetattr/read-only open from the attribute cache the JS side fills (FuseNative.cacheApply),
 * read/write/release on the handle's fd, and a reply filter for hardlinks and the page cache.
 */
export interface FastOptions {
  /** Layer roots; cache records name a layer by its index here. */
  layers: string[];
  /** Handles are real fds: read, write and release never reach JS (its handlers for them are ignored). */
  fdIo?: boolean;
  /** Attribute validity (s) for non-directories with nlink > 1, whose other names the kernel caches apart. */
  hardlinkAttrTimeout?: number;
  /** Ask the kernel to drop cached pages when a file's mtime or size changes (FUSE_AUTO_INVAL_DATA). */
  autoInvalData?: boolean;
  /** Directories show nlink 1 (otherwise only those published with nlinkOne). */
  staticNlink?: boolean;
  /** Table size before it is emptied and refilled; 262144 by default. */
  maxEntries?: number;
  /**
   * Requests of up to this many pages (FUSE_MAX_PAGES, at most 256) instead of the kernel's 32;
   * pair with maxWrite = maxPages * 4096.
   */
  maxPages?: number;
  /**
   * The kernel keeps directory listings across opens (FOPEN_CACHE_DIR): right when every change
   * to a listing goes through the mount, since each bumps the directory's version in the kernel.
   */
  cacheDir?: boolean;
  /**
   * Answer the kernel's READDIRPLUS (libfuse 2 has none): libfuse's READDIR, with a lookup through
   * libfuse for each entry, so a listing leaves no per-entry LOOKUP to do.
   */
  readdirplus?: boolean;
  /**
   * Let the kernel read and write files itself (FUSE passthrough, Linux 6.9+, needs CAP_SYS_ADMIN;
   * without either, I/O stays with the fast ops): files of layers[writableLayer] read-write, files
   * of the other layers read-only (their writing opens must open another file, as a copy-up does).
   * An open whose file is no longer its inode's backing file fails with ESTALE and the kernel
   * retries it on a new inode (docs/fuse-native-patch.md).
   */
  passthrough?: boolean;
  writableLayer?: number;
  /**
   * Speak protocol 7.23 for renameat2: flags 0 and RENAME_NOREPLACE become the rename handler's
   * plain rename (NOREPLACE after a lookup of the target under the kernel's directory locks);
   * RENAME_EXCHANGE reaches the exchange handler (EINVAL without one) while libfuse's node table
   * follows; RENAME_WHITEOUT gets EINVAL, as from the kernel overlay.
   */
  rename2?: boolean;
  /** xattrs answered from the real file in C when the path is cached: names stored as users see them. */
  directXattrs?: string[];
  uidMap?: FastIdMap;
  gidMap?: FastIdMap;
}

/** A change to the fast ops' attribute cache; see docs/fuse-native-patch.md for the rules. */
export type CacheRecord =
  | {
      /** path exists: it is in layers[layer]; shown with inode number ino. */
      kind: 'put';
      path: string;
      layer: number;
      ino: number | bigint;
      /** Used only with fixedOwner; otherwise uid, gid and mode come from lstat (ids mapped). */
      uid: number;
      gid: number;
      /** The S_IFMT bits always matter: a real file of another type is left to JS. */
      mode: number;
      fixedOwner?: boolean;
      /** A directory shown with nlink 1 whatever lstat says (merged from several layers). */
      nlinkOne?: boolean;
    }
  /** drop: path and all below it are gone; forget: what is there is unknown; complete: a listed directory. */
  | { kind: 'drop' | 'forget' | 'complete'; path: string }
  /**
   * A complete directory's readdir answer (after `.` and `..`), kept until anything below it
   * changes; its entries must have been put already (READDIRPLUS looks each one up).
   */
  | { kind: 'listing'; path: string; entries: ReadonlyArray<{ name: string; mode: number; ino: number | bigint }> }
  | { kind: 'clear'; path: '' };

/** Mount options; each maps to one `-o` option of libfuse 2.9 (see docs/fuse-native-patch.md). */
export interface FuseOptions {
  allowOther?: boolean;
  allowRoot?: boolean;
  defaultPermissions?: boolean;
  fsname?: string;
  subtype?: string;
  ro?: boolean;
  nonempty?: boolean;
  blkdev?: boolean;
  blksize?: number;
  maxRead?: number;
  autoUnmount?: boolean;
  useIno?: boolean;
  readdirIno?: boolean;
  hardRemove?: boolean;
  /** Pass null paths for unlinked open files instead of failing their ops with ENOENT. */
  nullPathOk?: boolean;
  directIo?: boolean;
  kernelCache?: boolean;
  autoCache?: boolean;
  entryTimeout?: number;
  negativeTimeout?: number;
  attrTimeout?: number;
  acAttrTimeout?: number;
  umask?: number;
  uid?: number;
  gid?: number;
  noforget?: boolean;
  remember?: number;
  intr?: boolean;
  intrSignal?: number;
  modules?: string;
  bigWrites?: boolean;
  maxWrite?: number;
  maxReadahead?: number;
  maxBackground?: number;
  congestionThreshold?: number;
  asyncRead?: boolean;
  syncRead?: boolean;
  atomicOTrunc?: boolean;
  noRemoteLock?: boolean;
  spliceRead?: boolean;
  spliceWrite?: boolean;
  spliceMove?: boolean;
  debug?: boolean;
  /** Raw `-o` options appended as given, e.g. ['max_background=64']. */
  extraOptions?: string[];
  /** ms before an unanswered op fails with ETIMEDOUT; 0/false = never. Per op: { default, read: 0 }. */
  timeout?: Timeout | ({ default?: Timeout } & Partial<Record<FuseOpName, Timeout>>);
  /** Create the mountpoint if missing. */
  mkdir?: boolean;
  fast?: FastOptions;
}

