/**
 * renameat2(RENAME_EXCHANGE) and RENAME_WHITEOUT on strata-fuse against the kernel overlay: the
 * same script on identical layers, then the merged trees, each name's inode number before and
 * after, and what a fresh mount (and the kernel overlay mounted on our layers) shows afterwards.
 * Directories with lower contents are the exception: the kernel (without redirect_dir) answers
 * EXDEV, strata-fuse exchanges them as its plain rename moves them.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { constants as nativeConstants, renameat2 } from '../../src/native.js';
import { rootlessUser, runAs } from '../helpers/rootless.js';
import { tempDir } from '../helpers/tmp.js';
import { describeTree, makeLayers, type LayerSpec } from './layerset.js';
import { mountAsUser, mountKernel, mountPair, mountStrata, play, type Step, unmount } from './mount.js';

const BOTTOM: LayerSpec = {
  'f1': 'one',
  'f2': 'two',
  'dir/x': 'dx',
  'dir/sub/z': 'dz',
  'merged/a': 'ma',
  'ld/old': 'lower contents',
};
const TOP: LayerSpec = {
  'l1': { symlink: 'target-1' },
  'l2': { symlink: 'target-2' },
  'lowdir/q': 'q',
  'merged/b': 'mb',
};

const p = (r: string, rel: string): string => join(r, rel);
const exchange = (r: string, a: string, b: string): void => renameat2(p(r, a), p(r, b), nativeConstants.RENAME_EXCHANGE);
/** What a name shows: type and content (or target), and its inode number. */
function show(r: string, rel: string): { what: string; ino: number } {
  const st = lstatSync(p(r, rel));
  const what = st.isDirectory()
    ? `dir ${readdirSync(p(r, rel)).sort().join(',')}`
    : st.isSymbolicLink()
      ? `link ${readlinkSync(p(r, rel))}`
      : `file ${readFileSync(p(r, rel), 'utf8')}`;
  return { what, ino: st.ino };
}

/**
 * Exchanges a and b after looking both up (so the kernel has them cached), then reports what each
 * name shows and whether each file kept its inode number under its new name.
 */
function swapStep(a: string, b: string): Step {
  return [`exchange ${a} ${b}`, (r) => {
    const before = [show(r, a), show(r, b)] as const;
    exchange(r, a, b);
    const after = [show(r, a), show(r, b)] as const;
    return {
      a: after[0].what,
      b: after[1].what,
      swapped: after[0].what === before[1].what && after[1].what === before[0].what,
      inosFollow: after[0].ino === before[1].ino && after[1].ino === before[0].ino,
      types: readdirSync(p(r, a.includes('/') ? a.slice(0, a.lastIndexOf('/')) : '.'), { withFileTypes: true })
        .map((d) => `${d.name}:${d.isDirectory() ? 'd' : d.isSymbolicLink() ? 'l' : 'f'}`)
        .sort(),
    };
  }];
}

const SCRIPT: Step[] = [
  ['make upper-only entries', (r) => {
    writeFileSync(p(r, 'u1'), 'upper one');
    mkdirSync(p(r, 'ud1'));
    writeFileSync(p(r, 'ud1/in1'), 'i1');
    mkdirSync(p(r, 'ud2'));
    writeFileSync(p(r, 'ud2/in2'), 'i2');
    symlinkSync('upper-target', p(r, 'us'));
  }],
  swapStep('f1', 'f2'),
  swapStep('f1', 'u1'),
  swapStep('l1', 'l2'),
  swapStep('us', 'f2'),
  swapStep('ud1', 'ud2'),
  swapStep('ud1', 'u1'),
  swapStep('dir/x', 'f1'),
  swapStep('merged/a', 'merged/b'),
  ['exchange with a missing name', (r) => exchange(r, 'f1', 'nothing')],
  ['exchange a missing name', (r) => exchange(r, 'nothing', 'f1')],
  ['exchange a name with itself', (r) => exchange(r, 'f2', 'f2')],
  ['exchange into itself', (r) => exchange(r, 'ud2', 'ud2/in1')],
  // An upper-only directory lands where the lowers have a directory: it must not merge with it.
  ['exchange an upper dir onto a lower dir\'s name', (r) => {
    rmSync(p(r, 'ld'), { recursive: true });
    writeFileSync(p(r, 'ld'), 'file over a removed dir');
    exchange(r, 'ud2', 'ld');
    return [readdirSync(p(r, 'ld')).sort(), readFileSync(p(r, 'ud2'), 'utf8')];
  }],
  ['RENAME_WHITEOUT', (r) => renameat2(p(r, 'f1'), p(r, 'f2'), nativeConstants.RENAME_WHITEOUT)],
  ['RENAME_EXCHANGE | RENAME_NOREPLACE', (r) =>
    renameat2(p(r, 'f1'), p(r, 'f2'), nativeConstants.RENAME_EXCHANGE | nativeConstants.RENAME_NOREPLACE)],
  ['readdir root after', (r) => readdirSync(r).sort()],
  ['lstat after', (r) => ['f1', 'f2', 'u1', 'ud1', 'ld', 'ud2', 'dir', 'merged'].map((n) => [n, lstatSync(p(r, n)).nlink, lstatSync(p(r, n)).size])],
];

describe('renameat2 RENAME_EXCHANGE on strata-fuse', () => {
  it('matches the kernel overlay: results, inode numbers, merged trees, and the layers left behind', () => {
    const base = tempDir();
    const { ours, kernel, mOurs, mKernel } = mountPair(base, [TOP, BOTTOM]);
    const got = play(mOurs, SCRIPT);
    const want = play(mKernel, SCRIPT);
    expect(got).toEqual(want);
    // The script's exchanges all worked, and a missing name is ENOENT (not vacuous).
    expect(got.filter((l) => l.includes('"swapped":true,"inosFollow":true'))).toHaveLength(8);
    expect(got).toContain('exchange with a missing name: ENOENT');
    expect(got).toContain('RENAME_WHITEOUT: EINVAL');
    expect(describeTree(mOurs, { owners: true })).toEqual(describeTree(mKernel, { owners: true }));
    unmount(mOurs);
    unmount(mKernel);
    // A fresh mount reads back the same tree, as does the kernel overlay over strata-fuse's layers.
    const again = join(base, 'again');
    const kernelOnOurs = join(base, 'kernel-on-ours');
    const kernelAgain = join(base, 'kernel-again');
    for (const m of [again, kernelOnOurs, kernelAgain]) mkdirSync(m);
    mountKernel(kernel, kernelAgain);
    const reference = describeTree(kernelAgain);
    unmount(kernelAgain);
    mountStrata(ours, again);
    expect(describeTree(again)).toEqual(reference);
    unmount(again);
    mountKernel(ours, kernelOnOurs);
    expect(describeTree(kernelOnOurs)).toEqual(reference);
    unmount(kernelOnOurs);
  });

  it('exchanges directories with lower contents (where the kernel says EXDEV), keeping each tree and inode', () => {
    const base = tempDir();
    const { ours, kernel, mOurs, mKernel } = mountPair(base, [TOP, BOTTOM]);
    expect(play(mKernel, [['exchange', (r) => exchange(r, 'dir', 'merged')]])).toEqual(['exchange: EXDEV']);
    const treeOf = (r: string, d: string): string[] => describeTree(p(r, d));
    const dirBefore = treeOf(mOurs, 'dir');
    const mergedBefore = treeOf(mOurs, 'merged');
    const inos = [statSync(p(mOurs, 'dir')).ino, statSync(p(mOurs, 'merged')).ino, statSync(p(mOurs, 'dir/sub/z')).ino];
    exchange(mOurs, 'dir', 'merged');
    expect(treeOf(mOurs, 'merged')).toEqual(dirBefore);
    expect(treeOf(mOurs, 'dir')).toEqual(mergedBefore);
    expect([statSync(p(mOurs, 'merged')).ino, statSync(p(mOurs, 'dir')).ino, statSync(p(mOurs, 'merged/sub/z')).ino]).toEqual(inos);
    // A lower-only directory and an upper-only one, across directories.
    mkdirSync(p(mOurs, 'merged/new'));
    writeFileSync(p(mOurs, 'merged/new/n'), 'n');
    exchange(mOurs, 'merged/new', 'lowdir');
    expect(readdirSync(p(mOurs, 'lowdir'))).toEqual(['n']);
    expect(readdirSync(p(mOurs, 'merged/new'))).toEqual(['q']);
    const tree = describeTree(mOurs);
    unmount(mOurs);
    unmount(mKernel);
    // The kernel overlay reads the same tree from the layers strata-fuse left (opaque markers right).
    const k = join(base, 'k2');
    mkdirSync(k);
    mountKernel(ours, k);
    expect(describeTree(k)).toEqual(tree);
    unmount(k);
  });

  it('exchanges lower files when run by an unprivileged user', () => {
    const user = rootlessUser();
    if (!user) return;
    const { dirs, mnt } = mountAsUser(user, (h) => makeLayers(h, [{ 'a': 'lower a', 'd/b': 'lower b' }]));
    // root cannot enter the user's mount (no allow_other): everything is looked at as the user.
    const py = [
      'import ctypes, os, sys',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'a, b = sys.argv[1], sys.argv[2]',
      'def show(): return [open(a).read(), open(b).read(), os.lstat(a).st_ino, os.lstat(b).st_ino]',
      'before = show()',
      'for flags in (2, 4):',
      '  r = libc.renameat2(-100, a.encode(), -100, b.encode(), flags)',
      '  print(os.strerror(ctypes.get_errno()) if r else "ok")',
      'after = show()',
      'print(after[:2], after[2:] == before[2:][::-1])',
    ].join('\n');
    const r = runAs(user, 'python3', ['-c', py, p(mnt, 'a'), p(mnt, 'd/b')]);
    expect(r.stderr).toBe('');
    // RENAME_WHITEOUT reaches the filesystem for anyone (Linux 5.8+), and the kernel overlay refuses it.
    expect(r.stdout).toBe("ok\nInvalid argument\n['lower b', 'lower a'] True\n");
    expect(lstatSync(join(dirs.upper, 'a')).uid).toBe(user.uid);
    expect(runAs(user, 'fusermount3', ['-u', mnt]).status).toBe(0);
  });
});
