/**
 * The node table: which layers hold each overlay path (cached, since the kernel asks for the same
 * paths over and over), and the inode number each path shows. An inode number must stay the same
 * when a file is copied up, or tools that compare st_ino (tar's hardlink detection, `find -samefile`,
 * git's index) see a different file; the copy records where it came from in ORIGIN_XATTR.
 */
import type { BigIntStats } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { isDirMode, S_IFDIR, splitParent, type Layer } from './layers.js';

/** Where a copied-up file came from, "dev:ino" of the lower file; user.fuseoverlayfs.* is hidden by every overlay. */
export const ORIGIN_XATTR = 'user.fuseoverlayfs.origin';

export interface Node {
  path: string;
  /** Layers holding the entry, top first; several only for a merged directory. */
  layers: Layer[];
  /** S_IFMT bits of the top entry. */
  type: number;
}

export function isDir(node: Node): boolean {
  return node.type === S_IFDIR;
}

const MAX_SAFE_INO = BigInt(Number.MAX_SAFE_INTEGER);
/** Handed-out inode numbers start here when layers span filesystems and real numbers could collide. */
const FIRST_ALLOCATED_INO = 2;
/** With one filesystem, the odd foreign origin gets a number far above any real inode. */
const FIRST_FOREIGN_INO = 2 ** 52;

export class NodeTable {
  /** Path → node, or false for a path known not to exist. */
  readonly #paths: LRUCache<string, Node | false>;
  /** Upper inode "dev:ino" → origin "dev:ino" ('' for none), so getattr reads the xattr once. */
  readonly #origins = new Map<string, string>();
  /** With layers on several filesystems: "dev:ino" → the inode number shown. */
  readonly #allocated = new Map<string, number>();
  #nextIno: number;
  readonly #sameDev: string | undefined;
  /** The layers' one filesystem, or -1 (no device) when they span several. */
  readonly #dev: bigint;

  constructor(
    /** Every layer, top first (the upper one first when there is one). */
    readonly layers: readonly Layer[],
    cacheSize = 8192,
  ) {
    this.#paths = new LRUCache({ max: cacheSize });
    const dev = layers[0]!.dev;
    this.#sameDev = layers.every((l) => l.dev === dev) ? `${dev}:` : undefined;
    this.#dev = this.#sameDev !== undefined ? dev : -1n;
    this.#nextIno = this.#sameDev ? FIRST_FOREIGN_INO : FIRST_ALLOCATED_INO;
  }

  /** The node at path, or undefined when the merged view has nothing there. */
  resolve(path: string): Node | undefined {
    const hit = this.#paths.get(path);
    if (hit !== undefined) return hit === false ? undefined : hit;
    const node = this.#lookup(path);
    this.#paths.set(path, node ?? false);
    return node;
  }

  #lookup(path: string): Node | undefined {
    if (path === '/') return this.#scan(this.layers, path);
    const parent = this.resolve(splitParent(path)[0]);
    if (!parent || !isDir(parent)) return undefined;
    return this.#scan(parent.layers, path);
  }

  /**
   * Finds path in `layers` (a parent directory's stack, top first): the first entry or whiteout
   * decides; a directory merges with directories below it until a whiteout, a non-directory or an
   * opaque directory ends the stack.
   */
  #scan(layers: readonly Layer[], path: string): Node | undefined {
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i]!;
      const p = layer.probe(path);
      if (p.kind === 'whiteout') return undefined;
      if (p.kind === 'absent') continue;
      const type = p.type;
      if (!isDirMode(type)) return { path, layers: [layer], type };
      const stack = [layer];
      if (!layer.isOpaque(path)) {
        for (let j = i + 1; j < layers.length; j++) {
          const below = layers[j]!;
          const q = below.probe(path);
          if (q.kind === 'absent') continue;
          if (q.kind === 'whiteout' || !isDirMode(q.type)) break;
          stack.push(below);
          if (below.isOpaque(path)) break;
        }
      }
      return { path, layers: stack, type };
    }
    return undefined;
  }

  /**
   * What the lower layers alone show at path: a delete must leave a whiteout exactly when this is
   * defined, and a directory put there must be opaque.
   */
  resolveInLowers(path: string): Node | undefined {
    const parent = this.resolve(path === '/' ? '/' : splitParent(path)[0]);
    if (!parent) return undefined;
    return this.#scan(
      parent.layers.filter((l) => !l.writable),
      path,
    );
  }

  /** Forgets path (after it was created, removed or copied up). */
  invalidate(path: string): void {
    this.#paths.delete(path);
  }

  /** Forgets path and everything below it (after a directory was removed, renamed or made opaque). */
  invalidateTree(path: string): void {
    this.#paths.delete(path);
    const prefix = path === '/' ? '/' : path + '/';
    for (const key of this.#paths.keys()) {
      if (key.startsWith(prefix)) this.#paths.delete(key);
    }
  }

  /** Records that the upper inode `st` was copied from the lower inode `origin`. */
  recordOrigin(st: BigIntStats, origin: BigIntStats): void {
    this.#origins.set(`${st.dev}:${st.ino}`, `${origin.dev}:${origin.ino}`);
  }

  /** Forgets what is known about an upper inode that was removed, since its number can be reused. */
  forgetInode(st: BigIntStats): void {
    this.#origins.delete(`${st.dev}:${st.ino}`);
  }

  /**
   * The inode number shown for `st`: its origin's if it is an upper file that was copied up.
   * `xattr` reads the entry's xattrs where it is now, if known, for its origin.
   */
  inoOf(upper: boolean, xattr: ((name: string) => Buffer | undefined) | undefined, st: { dev: bigint; ino: bigint }): number {
    // The common case, a lower entry on the layers' one filesystem, without building a key.
    if (!upper && st.dev === this.#dev && st.ino <= MAX_SAFE_INO) return Number(st.ino);
    let key = `${st.dev}:${st.ino}`;
    if (upper) {
      let origin = this.#origins.get(key);
      if (origin === undefined && xattr !== undefined) {
        origin = xattr(ORIGIN_XATTR)?.toString('utf8') ?? '';
        this.#origins.set(key, origin);
      }
      if (origin) key = origin;
    }
    return this.inoForKey(key);
  }

  /** Layers on one filesystem show real inode numbers (stable across mounts); otherwise numbers are handed out. */
  inoForKey(key: string): number {
    if (this.#sameDev !== undefined && key.startsWith(this.#sameDev)) {
      const ino = Number(key.slice(this.#sameDev.length));
      if (Number.isSafeInteger(ino)) return ino;
    }
    let ino = this.#allocated.get(key);
    if (ino === undefined) {
      ino = this.#nextIno++;
      this.#allocated.set(key, ino);
    }
    return ino;
  }
}
