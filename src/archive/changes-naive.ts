/**
 * The naive walking differ (containers/storage ChangesDirs): both trees are walked side by
 * side and compared entry by entry. Correct for any pair of directories, and O(both trees).
 */
import { lstatSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Change } from '../driver.js';
import { plainTree, sortChanges, TreeComparator, type TreeNode } from './changes-compare.js';

function rootNode(dir: string): TreeNode {
  const path = resolve(dir);
  return { path, stat: lstatSync(path, { bigint: true }) };
}

/** Naive walking differ (containers/storage ChangesDirs): changes of newDir relative to oldDir ('' = everything is an add). Sorted by path. */
export async function changesDirs(newDir: string, oldDir: string): Promise<Change[]> {
  const tree = plainTree();
  const cmp = new TreeComparator(tree, tree);
  cmp.compareDir('', oldDir === '' ? undefined : rootNode(oldDir), rootNode(newDir), true);
  return sortChanges(cmp.changes);
}
