/**
 * One layer of the overlay and the rules for reading it: is a name there, whited out, or absent;
 * is a directory opaque. Lower layers never change while mounted (they are committed layers), so
 * their directory listings are cached and a lookup becomes a set test instead of two lstat calls.
 * The upper layer changes under us and is always asked directly.
 */
import { lstatSync, readdirSync, type BigIntStats, type Dirent } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { hasCode } from '../errors.js';
import { OPAQUE_XATTRS, WHITEOUT_OPAQUE, WHITEOUT_PREFIX, isWhiteoutDevice, whitedOutName } from '../archive/whiteout.js';
import { lgetxattrOptional } from '../native.js';
import { xattrNames } from './xattr-read.js';

/** What a layer holds at a path. */
export type Presence =
  | { kind: 'entry'; stat: BigIntStats }
  | { kind: 'whiteout' }
  | { kind: 'absent' };

const ABSENT: Presence = { kind: 'absent' };
const WHITEOUT: Presence = { kind: 'whiteout' };

/** A lower directory as read once: its visible names, the names it whites out, and opacity. */
export interface DirListing {
  /** Visible names and their dirent type (internal `.wh.` names excluded). */
  entries: Map<string, number>;
  whiteouts: Set<string>;
  opaque: boolean;
}

/** Dirent kinds as S_IFMT bits, so listings can feed readdir's d_type without a stat. */
export function direntMode(d: Dirent): number {
  if (d.isFile()) return 0o100000;
  if (d.isDirectory()) return 0o040000;
  if (d.isSymbolicLink()) return 0o120000;
  if (d.isCharacterDevice()) return 0o020000;
  if (d.isBlockDevice()) return 0o060000;
  if (d.isFIFO()) return 0o010000;
  if (d.isSocket()) return 0o140000;
  return 0;
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

/** Whether a directory carries an opaque xattr (any of the three names); see xattr-read.ts for why listed. */
function hasOpaqueXattr(dir: string): boolean {
  for (const name of xattrNames(dir)) {
    if (!OPAQUE_XATTRS.includes(name)) continue;
    const v = lgetxattrOptional(dir, name);
    // Exactly "y", as archive/whiteout.ts reads it (overlayfs also writes "x", which is not opaque).
    if (v !== undefined && v.length === 1 && v[0] === 0x79) return true;
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
    const dir = this.path(rel);
    let dirents: Dirent[];
    try {
      dirents = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR')) return undefined;
      throw err;
    }
    const entries = new Map<string, number>();
    const whiteouts = new Set<string>();
    let marker = false;
    for (const d of dirents) {
      const name = d.name;
      // Every `.wh.` name is the overlay's: a deletion, the opaque marker or other AUFS metadata.
      if (name.startsWith(WHITEOUT_PREFIX)) {
        if (name === WHITEOUT_OPAQUE) marker = true;
        const target = whitedOutName(name);
        if (target) whiteouts.add(target);
        continue;
      }
      if (d.isCharacterDevice()) {
        const st = lstatSync(`${dir}/${name}`, { bigint: true });
        if (isWhiteoutDevice(st)) {
          whiteouts.add(name);
          continue;
        }
      }
      entries.set(name, direntMode(d));
    }
    // A real entry beats a `.wh.` file for the same name in the same layer: it hides lower layers only.
    for (const name of entries.keys()) whiteouts.delete(name);
    return { entries, whiteouts, opaque: marker || hasOpaqueXattr(dir) };
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
      return st ? { kind: 'entry', stat: st } : ABSENT;
    }
    if (this.#listings) {
      const [parent, name] = splitParent(rel);
      const listing = this.listing(parent);
      if (!listing) return ABSENT;
      if (listing.entries.has(name)) {
        const st = this.lstat(rel);
        return st ? { kind: 'entry', stat: st } : ABSENT;
      }
      return listing.whiteouts.has(name) ? WHITEOUT : ABSENT;
    }
    const st = this.lstat(rel);
    if (st) return isWhiteoutDevice(st) ? WHITEOUT : { kind: 'entry', stat: st };
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

export { splitParent, joinPath, S_IFMT, S_IFDIR, S_IFCHR, S_IFREG, S_IFLNK };
