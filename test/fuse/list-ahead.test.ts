/**
 * Listing ahead of a walk: the order (the walk's, depth first), the budget that bounds a lone
 * listing's work, its growth while a walk keeps outrunning it, and no directory listed twice.
 * Then on a real mount: changes made while the subtree is being listed ahead, and walks after
 * them with the kernel's caches dropped, must show what the kernel overlay shows.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ListAhead } from '../../src/fuse/list-ahead.js';
import type { DirEntry } from '../../src/fuse/ops-dir.js';
import { tempDir } from '../helpers/tmp.js';
import { describeTree, type LayerSpec } from './layerset.js';
import { mountPair, unmount } from './mount.js';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/** A tree of directories: path → its subdirectory names (each also gets one file). */
const TREE: Record<string, string[]> = {
  '/': ['a', 'b', 'c'],
  '/a': ['a1', 'a2'],
  '/a/a1': ['x'],
  '/a/a1/x': [],
  '/a/a2': [],
  '/b': [],
  '/c': ['c1'],
  '/c/c1': [],
};

function entriesOf(dir: string): DirEntry[] {
  const dirs = (TREE[dir] ?? []).map((name) => ({ name, layer: 0, id: { mode: S_IFDIR | 0o755, ino: 1 } }));
  return [{ name: 'file', layer: 0, id: { mode: S_IFREG | 0o644, ino: 2 } }, ...dirs] as unknown as DirEntry[];
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
};

/** A ListAhead whose listings come from `list` (TREE by default), recording what it listed. */
function recorder(budget: number, list: (dir: string) => DirEntry[] = entriesOf): { ahead: ListAhead; listed: string[] } {
  const listed: string[] = [];
  const ahead = new ListAhead({
    prepare: (dir) => {
      const entries = list(dir);
      listed.push(dir);
      return entries;
    },
  }, budget);
  return { ahead, listed };
}

describe('ListAhead', () => {
  it('lists the subtree depth first, in listing order, never the answered directory itself', async () => {
    const { ahead, listed } = recorder(64);
    ahead.answered('/', entriesOf('/'));
    await settle();
    expect(listed).toEqual(['/a', '/a/a1', '/a/a1/x', '/a/a2', '/b', '/c', '/c/c1']);
  });

  it('stops at the budget of one answered listing, counted in entries listed', async () => {
    // /a costs 1 + its 3 entries, /a/a1 1 + 2: the budget of 5 runs out there.
    const { ahead, listed } = recorder(5);
    ahead.answered('/', entriesOf('/'));
    await settle();
    expect(listed).toEqual(['/a', '/a/a1']);
  });

  it('counts a big directory by its size', async () => {
    const files = Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, layer: 0, id: { mode: S_IFREG | 0o644, ino: 3 + i } }));
    const { ahead, listed } = recorder(10, () => files as unknown as DirEntry[]);
    ahead.answered('/', entriesOf('/'));
    await settle();
    expect(listed).toEqual(['/a']);
  });

  it('doubles the budget when the walk outruns it below listed directories, and skips what JS answered', async () => {
    const { ahead, listed } = recorder(5);
    ahead.answered('/', entriesOf('/'));
    await settle();
    // The walk reached /a/a1/x first: JS answered it; its parent was listed ahead, so a walk is on.
    ahead.answered('/a/a1/x', entriesOf('/a/a1/x'));
    await settle();
    // Budget 10 now: the rest of the plan, /a/a1/x not listed again.
    expect(listed).toEqual(['/a', '/a/a1', '/a/a2', '/b', '/c', '/c/c1']);
  });

  it('starts again at the base budget for a listing unrelated to the last ones', async () => {
    const { ahead, listed } = recorder(1);
    ahead.answered('/c', entriesOf('/c'));
    await settle();
    ahead.answered('/a', entriesOf('/a'));
    await settle();
    expect(listed).toEqual(['/c/c1', '/a/a1']);
  });

  it('goes on after a directory that cannot be listed any more', async () => {
    const { ahead, listed } = recorder(64, (dir) => {
      if (dir === '/a') throw Object.assign(new Error('gone'), { code: 'ENOENT' });
      return entriesOf(dir);
    });
    ahead.answered('/', entriesOf('/'));
    await settle();
    expect(listed).toEqual(['/b', '/c', '/c/c1']);
  });
});

/** Ten directories of ten, spread over two lowers, with files. */
function wideTree(): [LayerSpec, LayerSpec] {
  const top: LayerSpec = {};
  const bottom: LayerSpec = {};
  for (let i = 0; i < 10; i++) {
    for (let j = 0; j < 10; j++) {
      (j % 2 ? top : bottom)[`d${i}/s${j}/f`] = `${i}.${j}`;
      bottom[`d${i}/s${j}/g`] = 'g';
    }
  }
  return [top, bottom];
}

function changeWhileListing(root: string): void {
  // Sets off listing ahead of the whole tree, then changes it at once, deep and shallow.
  readdirSync(root);
  // (The kernel overlay refuses to move a lower directory: EXDEV. An upper one moves.)
  mkdirSync(join(root, 'd9/up'));
  writeFileSync(join(root, 'd9/up/f'), 'up');
  renameSync(join(root, 'd9/up'), join(root, 'd0/moved'));
  renameSync(join(root, 'd9/s9/f'), join(root, 'd3/s3/f-moved'));
  rmSync(join(root, 'd5'), { recursive: true });
  mkdirSync(join(root, 'd5'));
  writeFileSync(join(root, 'd5/new'), 'new');
  writeFileSync(join(root, 'd7/s3/f'), 'rewritten');
  rmSync(join(root, 'd8/s1/g'));
  mkdirSync(join(root, 'd2/s2/deeper'));
}

describe('listing ahead on a mount', () => {
  it('shows every change made while the tree is listed ahead, through the kernel cache and without it', () => {
    const base = tempDir();
    const { mOurs, mKernel } = mountPair(base, wideTree());
    changeWhileListing(mOurs);
    changeWhileListing(mKernel);
    const want = describeTree(mKernel);
    expect(want).toContain('d0/moved/ d 755');
    expect(describeTree(mOurs)).toEqual(want);
    writeFileSync('/proc/sys/vm/drop_caches', '2');
    expect(describeTree(mOurs)).toEqual(want);
    unmount(mOurs);
    unmount(mKernel);
  });
});
