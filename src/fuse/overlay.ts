/**
 * The state of one mounted overlay: its layers (upper first), the node table, id mappers, the
 * work directory for atomic copy-up, and the cache of merged directory listings. The FUSE
 * operations (ops-*.ts) are functions over this state; they never see FUSE itself.
 */
import { mkdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { WHITEOUT_PREFIX } from '../archive/whiteout.js';
import { ErrInvalidOption } from '../errors.js';
import type { DirStatEntry } from '../native.js';
import { fail } from './errno.js';
import type { ParkedFile } from './hidden.js';
import { isDirMode, Layer, S_IFMT, splitParent } from './layers.js';
import { mappersFor, type Mappers } from './mapping.js';
import { DirPrefetch } from './prefetch.js';
import { isDir, NodeTable, ORIGIN_XATTR, type Node } from './node.js';
import type { Identity } from './ops-attr.js';
import { OVERRIDE_XATTRS } from './xattr-names.js';
import type { DirEntry } from './ops-dir.js';
import type { OverlayConfig } from './options.js';

/** The caller of an operation, as FUSE reports it. */
export interface Caller {
  uid: number;
  gid: number;
  pid: number;
}

/** One name of a merged directory and the layer that provides it. */
export interface MergedEntry {
  name: string;
  layer: Layer;
  /** S_IFMT bits from the directory entry. */
  type: number;
  /** The entry as the layer's listing read it (partial stat and identity xattrs). */
  stat: DirStatEntry;
}

/** The xattrs identityOf (ops-attr.ts) reads, so a layer's listings read them with each entry. */
function identityXattrs(config: OverlayConfig, writable: boolean): string[] {
  const names: string[] = [];
  if (writable) names.push(ORIGIN_XATTR);
  if (config.xattrPermissions !== 0) names.push(OVERRIDE_XATTRS[config.xattrPermissions]);
  return names;
}

/** Our own subdirectory of workdir, so a kernel overlay's `work/` next to it is never touched. */
export const WORK_SUBDIR = 'strata-fuse';

/**
 * A layer directory's real path and stat. containers/storage names lowers by symlinks (`l/ABC…`);
 * the symlink is resolved once so the layer's root answers lstat as the directory it is.
 */
function openDir(path: string, what: string): { real: string; dev: bigint } {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  if (!st) throw new ErrInvalidOption(`strata-fuse: ${what} ${path} does not exist`);
  if (!st.isDirectory()) throw new ErrInvalidOption(`strata-fuse: ${what} ${path} is not a directory`);
  // realpath(3), one call, where the JS realpathSync lstat()s each component: 128 layers add up.
  return { real: realpathSync.native(path), dev: st.dev };
}

/**
 * Told about every change to the merged view, after the change and before the operation answers
 * (attr-cache.ts keeps the C side's attribute cache exact with it).
 */
export interface OverlaySink {
  /** path changed; with tree, everything below it may have too. */
  changed(path: string, tree: boolean): void;
  /** getattr found path in layers[layer] (a cache miss on the C side). */
  found(path: string, layer: number, id: Identity): void;
  /** getattr found nothing at path. */
  missing(path: string): void;
  /** A directory's entries, all of them when complete. */
  listed(path: string, entries: readonly DirEntry[], complete: boolean): void;
  /** readdir answered with a directory's entries: listed, and a walk may be under way. */
  answered(path: string, entries: readonly DirEntry[], complete: boolean): void;
}

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

function isWhiteoutName(path: string): boolean {
  return path.startsWith(WHITEOUT_PREFIX, path.lastIndexOf('/') + 1);
}

export class Overlay {
  readonly layers: Layer[];
  readonly upper: Layer | undefined;
  readonly nodes: NodeTable;
  readonly ids: Mappers;
  /** Where copy-ups and new directories are prepared before being renamed into place. */
  readonly work: string | undefined;
  /** Whether whiteouts can be 0/0 character devices; cleared at the first EPERM. */
  canMknod: boolean;
  readonly euid: number;
  /** Unlinked open files by the hidden name libfuse gave them (see hidden.ts). */
  readonly hidden = new Map<string, ParkedFile>();
  /** Reads subdirectories' listings ahead of a walk (prefetch.ts). */
  readonly prefetch = new DirPrefetch();
  /** Set once mounted with the fast ops. */
  sink: OverlaySink | undefined;
  /** The asynchronous change in progress (a big copy-up) and those queued behind it. */
  #pending: Promise<unknown> | undefined;
  readonly #merged = new LRUCache<string, MergedEntry[]>({ max: 512 });
  /** Per directory, data derived from its merged listing (readdir's answer); dropped with it. */
  readonly #derived = new LRUCache<string, object>({ max: 512 });
  #tmpCounter = 0;

  constructor(readonly config: OverlayConfig) {
    // A read-only mount with an upperdir still shows the upper layer's contents, unchanging.
    const dirs: Array<[string, string, boolean]> = [];
    if (config.upperdir !== undefined) dirs.push([config.upperdir, 'upperdir', !config.readOnly]);
    for (const dir of config.lowerdirs) dirs.push([dir, 'lowerdir', false]);
    const layers = dirs.map(([dir, what, writable], i) => {
      const { real, dev } = openDir(dir, what);
      return new Layer(real, i, writable, dev, identityXattrs(config, writable), (ms) => this.prefetch.observe(ms));
    });
    this.layers = layers;
    this.upper = layers[0]!.writable ? layers[0] : undefined;
    this.nodes = new NodeTable(layers);
    this.ids = mappersFor(config);
    this.euid = process.geteuid?.() ?? 0;
    // Since Linux 5.8 anyone may mknod a 0/0 whiteout; fuse-overlayfs's variable forces `.wh.` files.
    this.canMknod = process.env.FUSE_OVERLAYFS_DISABLE_OVL_WHITEOUT === undefined;
    if (this.upper && config.workdir !== undefined) {
      const wd = openDir(config.workdir, 'workdir');
      if (wd.dev !== this.upper.dev) {
        throw new ErrInvalidOption(`strata-fuse: workdir ${config.workdir} is not on the filesystem of upperdir ${config.upperdir}`);
      }
      this.work = join(wd.real, WORK_SUBDIR);
      // Leftovers of an interrupted copy-up are garbage: nothing refers to them.
      rmSync(this.work, { recursive: true, force: true });
      mkdirSync(this.work, { mode: 0o700 });
    }
  }

  /** The node at path or ENOENT; whiteout names are never visible. */
  node(path: string): Node {
    return this.find(path) ?? fail('ENOENT', path);
  }

  /** The node at path, or undefined when the merged view shows nothing there. */
  find(path: string): Node | undefined {
    return isWhiteoutName(path) ? undefined : this.nodes.resolve(path);
  }

  /** Refuses to create a name the overlay reserves for whiteouts. */
  checkNewName(path: string): void {
    if (isWhiteoutName(path)) fail('EINVAL', path, 'names starting with .wh. are reserved for whiteouts');
  }

  /** The directory node at path, ENOENT or ENOTDIR. */
  dirNode(path: string): Node {
    const n = this.node(path);
    if (!isDir(n)) fail('ENOTDIR', path);
    return n;
  }

  /** The writable layer, or EROFS on a read-only mount. */
  writable(): Layer {
    return this.upper ?? fail('EROFS');
  }

  /**
   * Runs an operation that changes the overlay. Changes happen one at a time: synchronous ones
   * run at once unless an asynchronous one (a big copy-up, see copyUpAsync) is in progress, in
   * which case they queue behind it. Lookups and reads never wait.
   */
  exclusive<T>(op: () => T | Promise<T>): T | Promise<T> {
    if (this.#pending === undefined) {
      const result = op();
      if (!isPromise(result)) return result;
      this.#track(result);
      return result;
    }
    const queued = this.#pending.then(op, op);
    this.#track(queued);
    return queued;
  }

  #track(p: Promise<unknown>): void {
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.#pending = settled;
    void settled.then(() => {
      if (this.#pending === settled) this.#pending = undefined;
    });
  }

  /** A fresh name in the work directory. */
  tempPath(): string {
    if (this.work === undefined) fail('EROFS');
    return `${this.work}/${process.pid}-${++this.#tmpCounter}`;
  }

  /** The merged listing of a directory: upper names first, lower names not hidden by whiteouts or opacity. */
  merged(path: string): MergedEntry[] {
    const hit = this.#merged.get(path);
    if (hit) return hit;
    const node = this.dirNode(path);
    const seen = new Set<string>();
    const hidden = new Set<string>();
    const out: MergedEntry[] = [];
    for (const layer of node.layers) {
      const listing = layer.writable ? layer.readListing(path) : layer.listing(path);
      if (!listing) continue;
      for (const [name, stat] of listing.entries) {
        if (seen.has(name) || hidden.has(name)) continue;
        seen.add(name);
        out.push({ name, layer, type: stat.mode & S_IFMT, stat });
      }
      for (const name of listing.whiteouts) hidden.add(name);
    }
    this.#merged.set(path, out);
    return out;
  }

  /**
   * Data computed from a directory's merged listing, kept until the listing changes. `make` runs
   * on a miss; callers must key their own kind of data (one kind per Overlay today: readdir's).
   */
  derived<T extends object>(path: string, make: () => T): T {
    const hit = this.#derived.get(path);
    if (hit) return hit as T;
    const value = make();
    this.#derived.set(path, value);
    return value;
  }

  #forgetListing(dir: string): void {
    this.#merged.delete(dir);
    this.#derived.delete(dir);
  }

  /** Forgets a path whose entry changed, and the listing of its parent directory. */
  changed(path: string): void {
    this.nodes.invalidate(path);
    if (path !== '/') this.#forgetListing(splitParent(path)[0]);
    this.sink?.changed(path, false);
  }

  /** Forgets a directory and everything below it (removed, renamed, replaced). */
  changedTree(path: string): void {
    this.nodes.invalidateTree(path);
    const prefix = path === '/' ? '/' : path + '/';
    for (const key of [...this.#merged.keys(), ...this.#derived.keys()]) {
      if (key === path || key.startsWith(prefix)) this.#forgetListing(key);
    }
    if (path !== '/') this.#forgetListing(splitParent(path)[0]);
    this.sink?.changed(path, true);
  }

  /** True when the directory at path shows no entries (rmdir and rename over it need that). */
  isEmptyDir(path: string): boolean {
    return this.merged(path).length === 0;
  }

}

export { isDirMode };
