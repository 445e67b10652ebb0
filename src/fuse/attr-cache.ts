/**
 * Keeps the C side's attribute cache (strata-cache.c in the fuse-native patch) exact, so the FUSE
 * threads answer lookups, getattrs and read-only opens without a trip to the JS thread. The cache
 * maps an overlay path to the layer holding it and the inode number it shows; the C side lstat()s
 * the real file for everything else, so sizes, times and link counts are never stale. A listed
 * directory is marked complete and names missing from it are answered ENOENT in C.
 *
 * The rule that keeps it exact: every change to the merged view (Overlay.changed/changedTree, which
 * every operation calls after its last change) republishes the path (or drops it) before the
 * operation answers the kernel.
 */
import type { CacheRecord } from './binding.js';
import { isHiddenName } from './hidden.js';
import { isDirMode, splitParent } from './layers.js';
import { identityAt, identityOfEntry, type Identity } from './ops-attr.js';
import { ListAhead } from './list-ahead.js';
import type { DirEntry } from './ops-dir.js';
import type { Overlay, OverlaySink } from './overlay.js';

/**
 * Directories up to this size are listed and published whole when JS had to answer for a name
 * in them (a missing name, or the second name found): the kernel then usually asks for siblings.
 */
export const PREFETCH_MAX_ENTRIES = 4096;
/** Directories this small are listed at the first name JS answers in them. */
const PREFETCH_AT_ONCE_ENTRIES = 64;
/** Directories whose names JS answered recently, with how many (bounded, oldest dropped first). */
const MISS_TRACKING = 256;

export interface CacheTarget {
  apply(records: readonly CacheRecord[]): void;
}

function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // An optional speed-up failed; the operation's own answer stands.
  }
}

export class AttrCache implements OverlaySink {
  readonly #misses = new Map<string, number>();
  readonly #ahead = new ListAhead({ prepare: (dir) => this.#prefetch(dir) });

  constructor(
    private readonly ov: Overlay,
    private readonly target: CacheTarget,
    /** Lists a directory as readdir does (cached by the overlay). */
    private readonly list: (path: string) => { entries: DirEntry[]; complete: boolean },
  ) {}

  /** The root, so entries below it have a parent to hang from. */
  start(): void {
    this.changed('/', true);
  }

  changed(path: string, tree: boolean): void {
    let now: CacheRecord | 'absent' | 'unknown';
    try {
      now = this.#record(path);
    } catch {
      // Whatever went wrong, C must not keep answering from what it knew.
      now = 'unknown';
    }
    const records: CacheRecord[] = [];
    if (now === 'unknown') records.push({ kind: 'forget', path });
    // A subtree's entries all go; an entry alone is updated in place (its children stay valid).
    else if (tree || now === 'absent') records.push({ kind: 'drop', path });
    if (typeof now === 'object') records.push(now);
    this.target.apply(records);
  }

  /** JS answered a getattr: later ones for path stay in C; a second one in a directory lists it. */
  found(path: string, layer: number, id: Identity): void {
    if (isHiddenName(path)) return;
    this.target.apply([this.#put(path, layer, id)]);
    if (path === '/') return;
    const dir = splitParent(path)[0];
    // Prefetching only saves trips: a directory that cannot be listed now is simply not prefetched.
    quietly(() => {
      if (this.#missed(dir) >= 2 || this.ov.merged(dir).length <= PREFETCH_AT_ONCE_ENTRIES) this.#prefetch(dir);
    });
  }

  /** JS answered ENOENT for path: list its directory, so the next missing names are answered in C. */
  missing(path: string): void {
    if (path === '/' || isHiddenName(path)) return;
    quietly(() => this.#prefetch(splitParent(path)[0]));
  }

  #missed(dir: string): number {
    const n = (this.#misses.get(dir) ?? 0) + 1;
    this.#misses.delete(dir);
    this.#misses.set(dir, n);
    if (this.#misses.size > MISS_TRACKING) this.#misses.delete(this.#misses.keys().next().value!);
    return n;
  }

  /** Lists and publishes dir (unless too big); its entries, or undefined when it was not. */
  #prefetch(dir: string): readonly DirEntry[] | undefined {
    this.#misses.delete(dir);
    const node = this.ov.find(dir);
    if (!node || !isDirMode(node.type)) return undefined;
    if (this.ov.merged(dir).length > PREFETCH_MAX_ENTRIES) return undefined;
    const { entries, complete } = this.list(dir);
    this.listed(dir, entries, complete);
    return entries;
  }

  /** JS answered readdir: publish the listing, and list the subtree ahead of the walk (list-ahead.ts). */
  answered(path: string, entries: readonly DirEntry[], complete: boolean): void {
    this.listed(path, entries, complete);
    this.#ahead.answered(path, entries);
  }

  /** A directory's entries as readdir computed them; complete when none was skipped. */
  listed(path: string, entries: readonly DirEntry[], complete: boolean): void {
    quietly(() => {
      const self = this.#record(path);
      if (typeof self !== 'object') return;
      const records: CacheRecord[] = [self];
      const prefix = path === '/' ? '/' : `${path}/`;
      for (const e of entries) records.push(this.#put(prefix + e.name, e.layer, e.id));
      if (complete) {
        records.push({ kind: 'complete', path });
        // Last: any put above that changes an entry drops the directory's listing in C.
        records.push({ kind: 'listing', path, entries: entries.map((e) => ({ name: e.name, mode: e.id.mode, ino: e.id.ino })) });
      }
      this.target.apply(records);
    });
  }

  /** What path is now: a put record, 'absent', or 'unknown' (hidden names, a layer changed under us). */
  #record(path: string): CacheRecord | 'absent' | 'unknown' {
    if (isHiddenName(path)) return 'unknown';
    const node = this.ov.find(path);
    if (!node) return 'absent';
    const layer = node.layers[0]!;
    const merged = node.layers.length > 1;
    // A lower entry never changes: its parent's cached listing knows it.
    const known = layer.cachedEntry(path);
    if (known) return this.#put(path, layer.index, identityOfEntry(this.ov, layer, known, merged));
    const st = layer.lstat(path);
    if (!st) return 'unknown';
    return this.#put(path, layer.index, identityAt(this.ov, layer, path, st, merged));
  }

  #put(path: string, layer: number, id: Identity): CacheRecord {
    return {
      kind: 'put',
      path,
      layer,
      ino: id.ino,
      uid: id.uid,
      gid: id.gid,
      mode: id.mode,
      fixedOwner: id.overridden,
      nlinkOne: id.merged,
    };
  }
}
