/**
 * One layer of the overlay and the rules for reading it: is a name there, whited out, or absent;
 * is a directory opaque. Lower layers never change while mounted (they are committed layers), so
 * their directory listings are cached and a lookup becomes a map lookup instead of two lstat calls.
 * The upper layer changes under us and is always asked directly. A directory is read with one
 * native call (listDir): names, types and inode numbers from getdents, an lstat only where the
 * type cannot tell (whiteout devices), and the xattrs the overlay needs read in the same call.
 */
import { lstatSync, type BigIntStats } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { hasCode } from '../errors.js';
import { OPAQUE_XATTRS, WHITEOUT_OPAQUE, WHITEOUT_PREFIX, isWhiteoutDevice, opaqueValue, whitedOutName } from '../archive/whiteout.js';
import { lgetxattrOptional, listDir, type DirStatEntry } from '../native.js';
import { xattrNames } from './xattr-read.js';

/** What a layer holds at a path; an entry's S_IFMT bits. */
export type Presence =
  | { kind: 'entry'; type: number }
  | { kind: 'whiteout' }
  | { kind: 'absent' };

const ABSENT: Presence = { kind: 'absent' };
const WHITEOUT: Presence = { kind: 'whiteout' };

/**
 * A directory of a layer as read once: its visible entries, the names it whites out, and opacity.
 * An entry's stat is partial (see DirStatEntry.full): type, inode number, device, and the values of
 * the layer's `entryXattrs` it has.
 */
export interface DirListing {
  /** Visible entries by name (internal `.wh.` names excluded). */
  entries: Map<string, DirStatEntry>;
  whiteouts: Set<string>;
  opaque: boolean;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

export function isDirMode(mode: number): boolean {
  return (mode & S_IFMT) === S_IFDIR;
}

function joinPath(root: string, rel: string): string {
  return rel === '/' ? root : root + rel;
}

function splitParent(rel: string): [string, string] {
  const i = rel.lastIndexOf('/');
  return [i <= 0 ? '/' : rel.slice(0, i), rel.slice(i + 1)];
}

/** The overlay path of entry `name` of directory `dir` (splitParent's inverse). */
function childPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** Whether a directory carries an opaque xattr (any of the three names); see xattr-read.ts for why listed. */
function hasOpaqueXattr(dir: string): boolean {
  for (const name of xattrNames(dir)) {
    if (OPAQUE_XATTRS.includes(name) && opaqueValue(lgetxattrOptional(dir, name))) return true;
  }
  return false;
}

function isOpaqueDir(dir: string): boolean {
  return hasOpaqueXattr(dir) || lstatSync(`${dir}/${WHITEOUT_OPAQUE}`, { throwIfNoEntry: false }) !== undefined;
}

export class Layer {
  #listingCache: LRUCache<string, DirListing> | undefined;

  constructor(
    readonly root: string,
    /** 0 for the upper layer (or the top lower on a read-only mount), growing downwards. */
    readonly index: number,
    readonly writable: boolean,
    readonly dev: bigint,
    /** Xattrs read with each entry of a listing (DirStatEntry.xattrs): those identityOf needs. */
    readonly entryXattrs: readonly string[] = [],
    /** Told how long each directory read took (prefetch.ts reads ahead when they wait for the disk). */
    private readonly onRead: (ms: number) => void = () => {},
    private readonly listingCacheSize = 1024,
  ) {}

  /**
   * Listings of this lower layer's directories, keyed by overlay path. Made at first use: an
   * LRUCache allocates for its full size, ~0.2 ms each, which a mount of 128 layers paid up front.
   */
  get #listings(): LRUCache<string, DirListing> | undefined {
    if (this.writable) return undefined;
    return (this.#listingCache ??= new LRUCache({ max: this.listingCacheSize }));
  }

  /** The real path of overlay path `rel` ("/a/b") in this layer. */
  path(rel: string): string {
    return joinPath(this.root, rel);
  }

  lstat(rel: string): BigIntStats | undefined {
    try {
      return lstatSync(this.path(rel), { bigint: true, throwIfNoEntry: false });
    } catch (err) {
      // A path through a non-directory in this layer simply is not here.
      if (hasCode(err, 'ENOTDIR') || hasCode(err, 'ENAMETOOLONG')) return undefined;
      throw err;
    }
  }

  /** The listing of a lower directory (cached), or undefined when rel is not a directory here. */
  listing(rel: string): DirListing | undefined {
    const cache = this.#listings;
    const hit = cache?.get(rel);
    if (hit) return hit;
    const listing = this.readListing(rel);
    if (listing && cache) cache.set(rel, listing);
    return listing;
  }

  /** Reads a directory of this layer, sorting names into visible entries and whiteouts. */
  readListing(rel: string): DirListing | undefined {
    let dir;
    const start = performance.now();
    try {
      dir = listDir(this.path(rel), OPAQUE_XATTRS, this.entryXattrs);
      this.onRead(performance.now() - start);
    } catch (err) {
      if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR') || hasCode(err, 'ELOOP')) return undefined;
      throw err;
    }
    const entries = new Map<string, DirStatEntry>();
    const whiteouts = new Set<string>();
    let opaque = false;
    for (const e of dir.entries) {
      const name = e.name;
      // Every `.wh.` name is the overlay's: a deletion, the opaque marker or other AUFS metadata.
      if (name.startsWith(WHITEOUT_PREFIX)) {
        if (name === WHITEOUT_OPAQUE) opaque = true;
        const target = whitedOutName(name);
        if (target) whiteouts.add(target);
        continue;
      }
      // listDir lstat()s every character device, so a 0/0 one is known here.
      if (e.full && isWhiteoutDevice(e)) {
        whiteouts.add(name);
        continue;
      }
      entries.set(name, e);
    }
    // A real entry beats a `.wh.` file for the same name in the same layer: it hides lower layers only.
    for (const name of entries.keys()) whiteouts.delete(name);
    if (dir.xattrs) for (const v of dir.xattrs.values()) if (opaqueValue(v)) opaque = true;
    return { entries, whiteouts, opaque };
  }

  /**
   * rel's entry as its parent's cached listing of this lower layer read it, without a syscall;
   * undefined for the upper layer, the root, or a listing not in the cache.
   */
  cachedEntry(rel: string): DirStatEntry | undefined {
    if (!this.#listings || rel === '/') return undefined;
    const [parent, name] = splitParent(rel);
    return this.#listings.get(parent)?.entries.get(name);
  }

  /** False when this lower layer's cached listing of rel's parent shows no directory rel. */
  mayHoldDir(rel: string): boolean {
    if (!this.#listings || rel === '/') return true;
    const [parent, name] = splitParent(rel);
    const listing = this.#listings.get(parent);
    if (!listing) return true;
    const entry = listing.entries.get(name);
    return entry !== undefined && isDirMode(entry.mode);
  }

  /** Whether rel is a directory here that hides everything below it. */
  isOpaque(rel: string): boolean {
    if (this.#listings) return this.listing(rel)?.opaque ?? false;
    return isOpaqueDir(this.path(rel));
  }

  /** What this layer holds at rel: an entry, a whiteout (either form), or nothing. */
  probe(rel: string): Presence {
    if (rel === '/') {
      const st = this.lstat('/');
      return st ? { kind: 'entry', type: Number(st.mode) & S_IFMT } : ABSENT;
    }
    if (this.#listings) {
      // A lower layer never changes: its cached listing answers without a syscall.
      const [parent, name] = splitParent(rel);
      const listing = this.listing(parent);
      if (!listing) return ABSENT;
      const entry = listing.entries.get(name);
      if (entry) return { kind: 'entry', type: entry.mode & S_IFMT };
      return listing.whiteouts.has(name) ? WHITEOUT : ABSENT;
    }
    const st = this.lstat(rel);
    if (st) return isWhiteoutDevice(st) ? WHITEOUT : { kind: 'entry', type: Number(st.mode) & S_IFMT };
    return this.hasWhiteoutFile(rel) ? WHITEOUT : ABSENT;
  }

  /** True when the `.wh.NAME` form of a whiteout for rel exists in this layer. */
  hasWhiteoutFile(rel: string): boolean {
    const [parent, name] = splitParent(rel);
    return this.lstat(`${parent === '/' ? '' : parent}/${WHITEOUT_PREFIX}${name}`) !== undefined;
  }

  /** Path of the `.wh.NAME` whiteout file for rel. */
  whiteoutFilePath(rel: string): string {
    const [parent, name] = splitParent(rel);
    return `${this.path(parent)}/${WHITEOUT_PREFIX}${name}`;
  }
}

export { splitParent, childPath, joinPath, S_IFMT, S_IFDIR, S_IFCHR, S_IFREG, S_IFLNK };
