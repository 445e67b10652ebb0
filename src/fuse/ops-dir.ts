/**
 * Directories: the merged listing (upper first, whiteouts and internal names left out, each entry
 * with its attributes so the kernel gets d_type and inode numbers), mkdir (opaque when it replaces a
 * whiteout, so the old lower contents stay gone) and rmdir of a directory empty in the merged view.
 */
import { chmodSync, lstatSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { fail } from './errno.js';
import { childPath, isDirMode, S_IFDIR, splitParent, type Layer } from './layers.js';
import { isDir } from './node.js';
import { identityOfEntry, type Identity } from './ops-attr.js';
import { claimNewName, removeName } from './ops-namespace.js';
import type { Caller, Overlay } from './overlay.js';
import { clearWhiteout, markOpaque, ownNew } from './upper.js';

/** One entry of a listing: what readdir tells the kernel (type, inode number) and where it lives. */
export interface DirEntry {
  name: string;
  /** Index of the layer that provides it. */
  layer: number;
  id: Identity;
}

export interface Listing {
  entries: DirEntry[];
  /** False when entries may be missing; listings are read whole today, so always true. */
  complete: boolean;
}

/**
 * The merged entries of a directory, without `.` and `..`; kept until the listing changes. Only
 * types, inode numbers and owners are kept, which change only through operations that forget it.
 */
export function readdir(ov: Overlay, path: string): Listing {
  return ov.derived(path, () => {
    const entries: DirEntry[] = [];
    const complete = true;
    const merged = ov.merged(path);
    // A walk lists the subdirectories next: have their layers read ahead (on a cold cache).
    const layers = ov.dirNode(path).layers;
    for (const entry of merged) if (isDirMode(entry.type)) ov.prefetch.warm(layers, childPath(path, entry.name));
    // The listing's own entries: inode number, type and identity xattrs, read in one call per layer.
    for (const entry of merged) {
      const merged = isDirMode(entry.type) && isMergedDir(ov, layers, entry.layer, path, entry.name);
      entries.push({ name: entry.name, layer: entry.layer.index, id: identityOfEntry(ov, entry.layer, entry.stat, merged) });
    }
    return { entries, complete };
  });
}

/**
 * Whether the directory `name` of `dir`, found in `top` (one of dir's layers), merges with a layer
 * below. Only a directory of that name in the next layer that has the name at all can merge; the
 * node table then decides (opacity), so most entries cost no more than a lookup in a cached listing.
 */
function isMergedDir(ov: Overlay, layers: readonly Layer[], top: Layer, dir: string, name: string): boolean {
  for (let i = layers.indexOf(top) + 1; i < layers.length; i++) {
    const listing = layers[i]!.listing(dir);
    if (!listing) continue;
    if (listing.whiteouts.has(name)) return false;
    const entry = listing.entries.get(name);
    if (entry === undefined) continue;
    if (!isDirMode(entry.mode)) return false;
    return (ov.find(childPath(dir, name))?.layers.length ?? 1) > 1;
  }
  return false;
}

const S_ISGID = 0o2000;

export function mkdir(ov: Overlay, caller: Caller, path: string, mode: number): void {
  const upper = claimNewName(ov, path);
  const parentPath = splitParent(path)[0];
  const parentReal = upper.path(parentPath);
  const real = upper.path(path);
  // As the kernel does in a setgid directory; needed because an opaque directory is built elsewhere.
  const perm = (mode & 0o7777) | (lstatSync(parentReal).mode & S_ISGID);
  // With xattr_permissions the real mode stays usable by the daemon; the override says what users see.
  const realPerm = ov.config.xattrPermissions !== 0 ? 0o755 : perm;
  // A name whited out in the upper layer hides lower contents: the new directory must keep hiding them.
  const replacesWhiteout = upper.probe(path).kind === 'whiteout';
  const build = replacesWhiteout ? ov.tempPath() : real;
  try {
    mkdirSync(build, { mode: 0o700 });
    if (replacesWhiteout) markOpaque(ov, build);
    ownNew(ov, build, parentReal, caller, perm, S_IFDIR);
    chmodSync(build, realPerm);
    if (replacesWhiteout) {
      clearWhiteout(ov, path);
      renameSync(build, real);
    }
  } catch (err) {
    rmSync(build, { recursive: true, force: true });
    throw err;
  }
  ov.changed(path);
  // A new directory is empty: names looked up in it can be answered "absent" without asking us.
  ov.sink?.listed(path, [], true);
}

export function rmdir(ov: Overlay, path: string): void {
  ov.writable();
  if (path === '/') fail('EBUSY', path);
  const node = ov.node(path);
  if (!isDir(node)) fail('ENOTDIR', path);
  if (!ov.isEmptyDir(path)) fail('ENOTEMPTY', path);
  removeName(ov, path, node);
  ov.changedTree(path);
}
