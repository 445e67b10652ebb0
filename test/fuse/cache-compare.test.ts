/**
 * strata-fuse's caches against the kernel's overlay: the kernel may keep entries, attributes and
 * listings for as long as the mount lives, and the C side answers lookups from its own table, so
 * every change must reach both. One script of changes, each followed by reads through other names
 * and other paths, played on both mounts; the answers must be the same.
 */
import {
  appendFileSync,
  chmodSync,
  chownSync,
  closeSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ASYNC_COPY_UP_BYTES } from '../../src/fuse/copyup.js';
import { tempDir } from '../helpers/tmp.js';
import { describeTree, type LayerSpec } from './layerset.js';
import { mountPair, play, unmount, type Step } from './mount.js';

/** Big enough to be copied up off the JS thread. */
const BIG = 'b'.repeat(ASYNC_COPY_UP_BYTES + 4096);

const BOTTOM: LayerSpec = {
  'f': 'lower f',
  'g': 'lower g',
  'd/x': 'x',
  'd/y': 'y',
  'd/sub/z': 'z',
  'tree/a/1': '1',
  'tree/a/2': '2',
  'tree/b': 'b',
  'big': BIG,
  'ro': { file: 'read only', mode: 0o444 },
};
const TOP: LayerSpec = {
  'd/w': 'w',
  'e/': { dir: true },
  'g': { whiteout: 'device' },
};

const p = (r: string, rel: string): string => join(r, rel);
const ls = (r: string, rel: string): string[] => readdirSync(p(r, rel)).sort();
const st = (r: string, rel: string): string => {
  const s = lstatSync(p(r, rel));
  return `${(s.mode & 0o7777).toString(8)} ${s.uid}:${s.gid} n${s.nlink} ${s.size}`;
};
/** st, or the errno code. */
const stOrCode = (r: string, rel: string): string => {
  try {
    return st(r, rel);
  } catch (err) {
    return (err as { code: string }).code;
  }
};

const SCRIPT: Step[] = [
  // Fill the caches first: listings, lookups, attributes, missing names.
  ['warm up', (r) => [ls(r, ''), ls(r, 'd'), ls(r, 'e'), st(r, 'f'), st(r, 'd/x'), st(r, 'd/sub/z')]],
  ['missing names', (r) => [stOrCode(r, 'g'), stOrCode(r, 'e/none'), stOrCode(r, 'd/none')]],
  ['create in a listed directory', (r) => {
    writeFileSync(p(r, 'e/new'), 'new');
    writeFileSync(p(r, 'd/none'), 'now there');
    return [ls(r, 'e'), ls(r, 'd'), st(r, 'e/new'), readFileSync(p(r, 'd/none'), 'utf8')];
  }],
  ['recreate a whited-out name', (r) => {
    writeFileSync(p(r, 'g'), 'again');
    return [ls(r, ''), st(r, 'g'), readFileSync(p(r, 'g'), 'utf8')];
  }],
  ['hardlink, then write through the new name', (r) => {
    linkSync(p(r, 'f'), p(r, 'f2'));
    appendFileSync(p(r, 'f2'), ' + more');
    return [st(r, 'f'), st(r, 'f2'), readFileSync(p(r, 'f'), 'utf8'), statSync(p(r, 'f')).ino === statSync(p(r, 'f2')).ino];
  }],
  ['chmod and chown through one name, stat through the other', (r) => {
    chmodSync(p(r, 'f2'), 0o600);
    chownSync(p(r, 'f2'), 123, 456);
    return [st(r, 'f'), st(r, 'd/../f')];
  }],
  ['unlink one name of two', (r) => {
    unlinkSync(p(r, 'f2'));
    return [st(r, 'f'), ls(r, '')];
  }],
  ['rename a file, look up both names', (r) => {
    renameSync(p(r, 'd/x'), p(r, 'e/x-moved'));
    return [ls(r, 'd'), ls(r, 'e'), st(r, 'e/x-moved'), stOrCode(r, 'd/x')];
  }],
  ['rename a file over another', (r) => {
    renameSync(p(r, 'd/y'), p(r, 'd/w'));
    return [ls(r, 'd'), readFileSync(p(r, 'd/w'), 'utf8')];
  }],
  ['chmod a directory, stat it and enter it', (r) => {
    chmodSync(p(r, 'd/sub'), 0o700);
    return [st(r, 'd/sub').split(' ')[0], ls(r, 'd/sub'), readFileSync(p(r, 'd/sub/z'), 'utf8')];
  }],
  ['truncate by path, stat and read', (r) => {
    truncateSync(p(r, 'e/new'), 1);
    return [st(r, 'e/new'), readFileSync(p(r, 'e/new'), 'utf8')];
  }],
  ['unlink while open', (r) => {
    const fd = openSync(p(r, 'e/new'), 'r+');
    unlinkSync(p(r, 'e/new'));
    writeSync(fd, 'Q', 0);
    const buf = Buffer.alloc(4);
    const n = readSync(fd, buf, 0, 4, 0);
    const nlink = fstatSync(fd).nlink;
    closeSync(fd);
    return [buf.subarray(0, n).toString(), nlink, ls(r, 'e')];
  }],
  ['remove a lower tree and make the same names again', (r) => {
    rmSync(p(r, 'tree'), { recursive: true });
    mkdirSync(p(r, 'tree'));
    mkdirSync(p(r, 'tree/a'));
    writeFileSync(p(r, 'tree/a/1'), 'one again');
    return [ls(r, 'tree'), ls(r, 'tree/a'), readFileSync(p(r, 'tree/a/1'), 'utf8')];
  }],
  ['append to a big lower file', (r) => {
    appendFileSync(p(r, 'big'), 'END');
    const all = readFileSync(p(r, 'big'), 'utf8');
    return [st(r, 'big'), all.slice(-5), all.length];
  }],
  ['rewrite a read-only lower file in place as root', (r) => {
    const fd = openSync(p(r, 'ro'), 'r+');
    writeSync(fd, 'READ', 0);
    closeSync(fd);
    return [st(r, 'ro'), readFileSync(p(r, 'ro'), 'utf8')];
  }],
  ['symlink, then stat through it', (r) => {
    symlinkSync('d/w', p(r, 'lnk'));
    return [readlinkSync(p(r, 'lnk')), statSync(p(r, 'lnk')).size, ls(r, '')];
  }],
  ['empty and remove a directory, then make a file of that name', (r) => {
    for (const n of readdirSync(p(r, 'd/sub'))) unlinkSync(p(r, `d/sub/${n}`));
    rmdirSync(p(r, 'd/sub'));
    writeFileSync(p(r, 'd/sub'), 'file now');
    return [st(r, 'd/sub'), ls(r, 'd')];
  }],
];

/**
 * The kernel forgets unused dentries, inodes and their cached listings: the next lookups and
 * listings reach strata-fuse, whose C side answers them from its own table and listings.
 */
function dropKernelCaches(): void {
  writeFileSync('/proc/sys/vm/drop_caches', '2');
}

/** Each step runs on kernel caches just dropped, and looks again after dropping them once more. */
const withDrops = (steps: Step[]): Step[] =>
  steps.map(([name, run]): Step => [name, (r) => {
    dropKernelCaches();
    const v = run(r);
    dropKernelCaches();
    return [v, describeTree(r)];
  }]);

describe('strata-fuse caches match the kernel overlay', () => {
  it('shows every change through other names, other paths and cached listings', () => {
    const base = tempDir();
    const { mOurs, mKernel } = mountPair(base, [TOP, BOTTOM]);
    expect(play(mOurs, SCRIPT)).toEqual(play(mKernel, SCRIPT));
    expect(describeTree(mOurs, { owners: true })).toEqual(describeTree(mKernel, { owners: true }));
    unmount(mOurs);
    unmount(mKernel);
  });

  it('answers from its own table and listings what the kernel forgot, after every change', () => {
    const base = tempDir();
    const { mOurs, mKernel } = mountPair(base, [TOP, BOTTOM]);
    const script = withDrops(SCRIPT);
    expect(play(mOurs, script)).toEqual(play(mKernel, script));
    unmount(mOurs);
    unmount(mKernel);
  });
});
