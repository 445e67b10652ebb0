/**
 * The upperdir differ from buildkit: the changes of an overlay layer found by walking only its
 * upper dir and looking each name up in the merged lower layers, so the cost follows the
 * layer's own size, not the image's.
 */
import { resolve } from 'node:path';
import type { Change } from '../driver.js';
import { childRel, plainTree, sameTime, sortChanges, TreeComparator, type TreeSource } from './changes-compare.js';
import { LowerView, type ViewNode } from './lower-view.js';
import { baseOf, dirOf } from './safe-path.js';
import { DepthFirstWalk } from './walk.js';
import { isOpaqueDir, isWhiteoutDevice, whitedOutName, WHITEOUT_PREFIX } from './whiteout.js';
import { capability } from './xattrs.js';

export interface OverlayChangesOptions {
  /**
   * The layer was written with user.overlay.* xattrs. Every opaque spelling is recognised
   * either way; the option is accepted for symmetry with applyLayer.
   */
  userXattr?: boolean;
  /**
   * containers/storage semantics, as its OverlayChanges (and so its `changes` command and
   * graphtest) has them: every directory above a change is modified, and a directory whose
   * mtime alone changed is modified too. buildkit skips both, as a child's change moves its
   * parent's mtime anyway.
   */
  reportParents?: boolean;
}

/** buildkit's upperdir differ: O(upper) changes of an overlay upper dir against its lower dirs (top first). */
export async function overlayChanges(upperDir: string, lowerDirs: string[], opts: OverlayChangesOptions = {}): Promise<Change[]> {
  const view = new LowerView(lowerDirs.map((d) => resolve(d)));
  const changes: Change[] = [];
  const walk = new DepthFirstWalk(resolve(upperDir));
  for (const entry of walk.entries()) {
    const { rel, stat } = entry;
    // A whiteout is a delete, unless there was nothing below to delete (the naive differ agrees;
    // containers/storage's OverlayChanges reports those too).
    if (isWhiteoutDevice(stat)) {
      if (view.lookup(rel) !== undefined) changes.push({ path: `/${rel}`, kind: 'delete' });
      continue;
    }
    if (baseOf(rel).startsWith(WHITEOUT_PREFIX)) {
      const victim = whitedOutName(baseOf(rel));
      // `.wh..wh..opq` and other metadata are read with their directory.
      if (victim === undefined) continue;
      const victimRel = childRel(dirOf(rel), victim);
      if (view.lookup(victimRel) !== undefined) changes.push({ path: `/${victimRel}`, kind: 'delete' });
      continue;
    }
    const lower = view.lookup(rel);
    // A directory that is only here because something below it changed is not a change itself.
    if (lower === undefined) changes.push({ path: `/${rel}`, kind: 'add' });
    else if (!sameDir(lower, entry, opts.reportParents ?? false)) changes.push({ path: `/${rel}`, kind: 'modify' });
    if (lower !== undefined && stat.isDirectory() && isOpaqueDir(entry.path)) {
      // An opaque directory replaced its lower contents: diff it against the lower view, as the
      // naive differ sees it (containers/storage's OverlayChanges reports the directory deleted).
      const cmp = new TreeComparator(lowerSource(view, rel), upperView, rel);
      cmp.compareDir('', lower, entry, true);
      changes.push(...cmp.changes);
      walk.skipChildren();
    }
  }
  return sortChanges(opts.reportParents ? withParents(changes) : changes);
}

/** Adds each missing ancestor directory of a change as a modify. */
function withParents(changes: Change[]): Change[] {
  const seen = new Set(changes.map((c) => c.path));
  const out = [...changes];
  for (const c of changes) {
    for (let dir = dirOf(c.path.slice(1)); dir !== '' && dir !== '.'; dir = dirOf(dir)) {
      const path = `/${dir}`;
      if (seen.has(path)) break;
      seen.add(path);
      out.push({ path, kind: 'modify' });
    }
  }
  return out;
}

/** The upper dir as a container sees it through the overlay: whiteouts are not entries. */
const upperView: TreeSource = plainTree((name, stat) => isWhiteoutDevice(stat) || name.startsWith(WHITEOUT_PREFIX));

function lowerSource(view: LowerView, base: string): TreeSource {
  return { children: (rel) => view.list(childRel(base, rel).replace(/\/$/, '')) };
}

/** buildkit's sameDir: both directories with equal mode, owner, rdev and capability (and mtime, if asked). */
function sameDir(a: ViewNode, b: ViewNode, compareMtime: boolean): boolean {
  if (!a.stat.isDirectory() || !b.stat.isDirectory()) return false;
  if (a.stat.dev === b.stat.dev && a.stat.ino === b.stat.ino) return true;
  if (a.stat.mode !== b.stat.mode || a.stat.uid !== b.stat.uid || a.stat.gid !== b.stat.gid || a.stat.rdev !== b.stat.rdev) {
    return false;
  }
  if (compareMtime && !sameTime(a.stat.mtimeNs, b.stat.mtimeNs)) return false;
  const ca = capability(a.path);
  const cb = capability(b.path);
  return ca === undefined ? cb === undefined : cb !== undefined && ca.equals(cb);
}
