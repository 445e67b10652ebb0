/**
 * Directories' st_nlink against the kernel overlay: 1 for a directory merged from several layers,
 * the real count for one that lives in a single layer (upper-only, opaque, or one lower). Checked
 * both as JS answers a first stat and as the C attribute cache answers after a listing published
 * the entries; static_nlink shows 1 for every directory, as fuse-overlayfs documents.
 */
import { appendFileSync, lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { makeLayers, type LayerSpec } from './layerset.js';
import { mountPair, mountStrata, unmount } from './mount.js';

const TOP: LayerSpec = {
  'both/t1/': '',
  'both/t2/': '',
  'opaque/': { dir: true, opaque: 'trusted' },
  'opaque/o1/': '',
  'overfile/d1/': '',
  'toponly/a/': '',
  'toponly/b/': '',
  'toponly/c/': '',
  'big/m/t/': '',
  'big/solo/x/': '',
};
/** More entries than the C cache is ever given a listing of: its names are answered by JS. */
const BIG: LayerSpec = Object.fromEntries(Array.from({ length: 4100 }, (_, i) => [`big/f${i}`, '']));
const BOTTOM: LayerSpec = {
  'both/b1/': '',
  'opaque/hidden/': '',
  'overfile': 'a file under the top layer\'s directory',
  'bottomonly/x/': '',
  'bottomonly/f': 'f',
  'tocopy/s1/': '',
  'tocopy/s2/': '',
  'remade/r1/': '',
};

const DIRS = ['big/m', 'big/solo', '.', 'both', 'opaque', 'overfile', 'toponly', 'bottomonly', 'tocopy', 'remade', 'newdir'];

/** Makes upper-only, copied-up (merged) and re-made (opaque) directories, as the same calls on each mount. */
function changeThrough(root: string): void {
  mkdirSync(join(root, 'newdir'));
  for (const s of ['n1', 'n2']) mkdirSync(join(root, 'newdir', s));
  writeFileSync(join(root, 'tocopy/new'), 'copies tocopy up');
  rmSync(join(root, 'remade'), { recursive: true });
  mkdirSync(join(root, 'remade'));
  mkdirSync(join(root, 'remade/again'));
  // Copy-ups of parents only (no entry of theirs changes): their nlink changes all the same.
  appendFileSync(join(root, 'bottomonly/f'), '+');
  writeFileSync(join(root, 'toponly/a/new'), '');
}

const nlinks = (root: string, dirs = DIRS): string[] => dirs.map((d) => `${d} ${lstatSync(join(root, d)).nlink}`);

describe('directory st_nlink on strata-fuse', () => {
  it('matches the kernel overlay for merged, upper-only, opaque and lower-only directories', () => {
    const base = tempDir();
    const { ours, mOurs, mKernel } = mountPair(base, [TOP, { ...BIG, 'big/m/b/': '', ...BOTTOM }]);
    // Looked at before the changes too, so the kernel holds cached attributes that must not stay.
    const existing = DIRS.filter((d) => d !== 'newdir');
    const first = nlinks(mKernel, existing);
    expect(first).toContain('toponly 5');
    expect(first).toContain('bottomonly 3');
    expect(nlinks(mOurs, existing)).toEqual(first);
    changeThrough(mOurs);
    changeThrough(mKernel);
    const want = nlinks(mKernel);
    // Not vacuous: both rules are in play.
    expect(want).toContain('both 1');
    expect(want).toContain('toponly 1');
    expect(want).toContain('newdir 4');
    expect(want.slice(0, 2)).toEqual(['big/m 1', 'big/solo 3']);
    expect(nlinks(mOurs)).toEqual(want);
    unmount(mOurs);
    // A fresh mount whose listing of / publishes every entry to the C cache before any stat.
    const again = join(base, 'again');
    mkdirSync(again);
    mountStrata(ours, again);
    readdirSync(again, { withFileTypes: true });
    expect(nlinks(again)).toEqual(want);
    // Listing each directory publishes its own entry again (from the parent's cached lower listing):
    // merged ones must stay at 1.
    for (const d of DIRS) readdirSync(join(again, d));
    expect(nlinks(again)).toEqual(want);
    unmount(again);
    unmount(mKernel);
  });

  it('shows 1 for every directory with static_nlink', () => {
    const base = tempDir();
    const dirs = makeLayers(base, [TOP, BOTTOM]);
    const mnt = join(base, 'm');
    mkdirSync(mnt);
    mountStrata(dirs, mnt, ['static_nlink']);
    readdirSync(mnt);
    expect(['toponly', 'bottomonly', 'both', '.'].map((d) => lstatSync(join(mnt, d)).nlink)).toEqual([1, 1, 1, 1]);
    unmount(mnt);
  });
});
