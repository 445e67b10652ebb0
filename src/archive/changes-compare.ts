/**
 * Comparing two trees into Add/Modify/Delete changes with containers/storage's ChangesDirs
 * rules: a path differs when its mode, owner or device differ, for non-directories its mtime
 * (second-truncation tolerant) or size, or its capability, symlink target or user.* xattrs;
 * an added directory's contents are all adds, a deleted directory is one delete, and a
 * directory with changes inside is reported as modified. Pairs with the same inode are skipped.
 */
import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import type { Change } from '../driver.js';
import type { ViewNode } from './lower-view.js';
import { compareBytes } from './tar/header.js';
import { comparableXattrs } from './xattrs.js';

export type TreeNode = ViewNode;

/** Where the comparator reads a directory's entries from (a plain tree, a merged lower view…). */
export interface TreeSource {
  children(rel: string, node: TreeNode): Map<string, TreeNode>;
}

/** A directory tree on disk, optionally hiding some entries (whiteouts of an upper dir). */
export function plainTree(hide?: (name: string, stat: BigIntStats) => boolean): TreeSource {
  return {
    children(_rel, node) {
      const out = new Map<string, TreeNode>();
      for (const name of readdirSync(node.path).sort(compareBytes)) {
        const path = `${node.path}/${name}`;
        const stat = lstatSync(path, { bigint: true, throwIfNoEntry: false });
        if (stat === undefined || hide?.(name, stat)) continue;
        out.set(name, { path, stat });
      }
      return out;
    },
  };
}

export function childRel(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

/** Same second, and the same nanoseconds unless one side was truncated to the second by tar. */
export function sameTime(a: bigint, b: bigint): boolean {
  if (a === b) return true;
  const ns = 1_000_000_000n;
  if (a / ns !== b / ns) return false;
  return a % ns === 0n || b % ns === 0n;
}

/**
 * A directory's mtime and size say nothing of its own: both move whenever its entries change,
 * which the comparison reports by itself (containers/storage's statDifferent skips them too).
 */
function statDifferent(a: BigIntStats, b: BigIntStats): boolean {
  return (
    a.mode !== b.mode ||
    a.uid !== b.uid ||
    a.gid !== b.gid ||
    a.rdev !== b.rdev ||
    (!a.isDirectory() && (!sameTime(a.mtimeNs, b.mtimeNs) || a.size !== b.size))
  );
}

/** The full ChangesDirs test for one pair present in both trees. */
export function nodesDiffer(a: TreeNode, b: TreeNode): boolean {
  if (statDifferent(a.stat, b.stat)) return true;
  if (a.stat.isSymbolicLink() && readlinkSync(a.path) !== readlinkSync(b.path)) return true;
  return comparableXattrs(a.path) !== comparableXattrs(b.path);
}

function sameInode(a: TreeNode, b: TreeNode): boolean {
  return a.stat.ino === b.stat.ino && a.stat.dev === b.stat.dev;
}

export class TreeComparator {
  readonly changes: Change[] = [];

  constructor(
    private readonly oldSrc: TreeSource,
    private readonly newSrc: TreeSource,
    /** Prefix for reported paths (the opaque directory a sub-diff starts at). */
    private readonly base = '',
  ) {}

  private push(kind: Change['kind'], rel: string): void {
    this.changes.push({ path: `/${this.base === '' ? rel : rel === '' ? this.base : `${this.base}/${rel}`}`, kind });
  }

  /** Compares directory `rel` of both trees; `reported` says the directory itself was already recorded. */
  compareDir(rel: string, oldNode: TreeNode | undefined, newNode: TreeNode, reported: boolean): void {
    const before = this.changes.length;
    const newChildren = this.newSrc.children(rel, newNode);
    const oldChildren = oldNode?.stat.isDirectory() ? this.oldSrc.children(rel, oldNode) : new Map<string, TreeNode>();
    for (const [name, newChild] of newChildren) {
      const crel = childRel(rel, name);
      const oldChild = oldChildren.get(name);
      oldChildren.delete(name);
      if (oldChild !== undefined && sameInode(oldChild, newChild)) continue;
      if (oldChild === undefined) {
        this.push('add', crel);
        if (newChild.stat.isDirectory()) this.compareDir(crel, undefined, newChild, true);
        continue;
      }
      const modified = nodesDiffer(oldChild, newChild);
      if (modified) this.push('modify', crel);
      if (newChild.stat.isDirectory()) this.compareDir(crel, oldChild, newChild, modified);
    }
    for (const name of oldChildren.keys()) this.push('delete', childRel(rel, name));
    // A directory whose contents changed is part of the diff even if its own stat did not.
    if (this.changes.length > before && !reported && (rel !== '' || this.base !== '')) this.push('modify', rel);
  }
}

/** Changes sorted by path, bytewise, as containers/storage sorts them for export. */
export function sortChanges(changes: Change[]): Change[] {
  return changes.sort((a, b) => compareBytes(a.path, b.path));
}
