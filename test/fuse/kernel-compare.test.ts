/**
 * strata-fuse against the kernel's overlayfs: identical layers, one operation script played on
 * each mount, then the step results (values and errno codes) and the merged trees must be equal.
 */
import {
  appendFileSync,
  chmodSync,
  chownSync,
  closeSync,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
  readSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { constants as nativeConstants, lgetxattr, llistxattr, lsetxattr, mknod, renameat2 } from '../../src/native.js';
import { tempDir } from '../helpers/tmp.js';
import { describeTree, type LayerSpec } from './layerset.js';
import { mountPair, play, unmount, type Step } from './mount.js';

const BOTTOM: LayerSpec = {
  'a': 'bottom-a',
  'f1': 'one',
  'big': 'x'.repeat(300_000),
  'dir/x': 'dx',
  'dir/y': 'dy',
  'dir/sub/z': 'dz',
  'gone': 'g',
  'op/old': 'o',
};
const TOP: LayerSpec = {
  'a': { file: 'top-a', mode: 0o640 },
  'b': 'b',
  'gone': { whiteout: 'device' },
  'op/': { dir: true, opaque: 'trusted' },
  'op/new': 'n',
  'link': { symlink: 'a' },
  'dir/w': 'w',
  'emptydir/': { dir: true, mode: 0o700 },
  'trunc': 'long contents here',
  'sgid/': { dir: true, mode: 0o2775 },
};

const p = (r: string, rel: string): string => join(r, rel);

const SCRIPT: Step[] = [
  ['readdir root', (r) => readdirSync(r).sort()],
  ['readdir opaque', (r) => readdirSync(p(r, 'op')).sort()],
  ['read whited out', (r) => readFileSync(p(r, 'gone'), 'utf8')],
  ['ino before copy-up', (r) => statSync(p(r, 'f1')).ino === statSync(p(r, 'f1')).ino],
  ['append lower', (r) => appendFileSync(p(r, 'a'), '+')],
  ['overwrite middle of big', (r) => {
    const fd = openSync(p(r, 'big'), 'r+');
    writeSync(fd, 'MID', 150_000);
    closeSync(fd);
    return readFileSync(p(r, 'big'), 'utf8').slice(149_998, 150_005);
  }],
  ['truncate lower', (r) => truncateSync(p(r, 'f1'), 1)],
  ['chmod lower', (r) => chmodSync(p(r, 'b'), 0o600)],
  ['utimes lower', (r) => {
    utimesSync(p(r, 'dir/x'), 1000.5, 2000.25);
    return statSync(p(r, 'dir/x')).mtimeMs;
  }],
  ['unlink lower', (r) => unlinkSync(p(r, 'dir/y'))],
  ['overwrite lower (O_TRUNC)', (r) => writeFileSync(p(r, 'trunc'), 'short')],
  ['chown lower', (r) => chownSync(p(r, 'dir/w'), 1234, 5678)],
  ['new entries in a setgid dir', (r) => {
    chownSync(p(r, 'sgid'), 0, 50);
    writeFileSync(p(r, 'sgid/f'), '');
    mkdirSync(p(r, 'sgid/d'), { mode: 0o755 });
    return [statSync(p(r, 'sgid/f')).gid, statSync(p(r, 'sgid/d')).gid, (statSync(p(r, 'sgid/d')).mode & 0o7777).toString(8)];
  }],
  ['create', (r) => writeFileSync(p(r, 'new'), 'new')],
  ['mkdir', (r) => mkdirSync(p(r, 'nd'), { mode: 0o750 })],
  ['rm -r lower dir', (r) => rmSync(p(r, 'dir'), { recursive: true })],
  ['mkdir over whiteout', (r) => mkdirSync(p(r, 'dir'))],
  ['readdir new opaque', (r) => readdirSync(p(r, 'dir'))],
  ['create in it', (r) => writeFileSync(p(r, 'dir/again'), 'x')],
  ['rename lower file', (r) => renameSync(p(r, 'b'), p(r, 'b2'))],
  ['rename over existing', (r) => renameSync(p(r, 'new'), p(r, 'a'))],
  ['renameat2 NOREPLACE onto an existing name', (r) => renameat2(p(r, 'b2'), p(r, 'a'), nativeConstants.RENAME_NOREPLACE)],
  ['renameat2 NOREPLACE onto a whited-out name', (r) => renameat2(p(r, 'b2'), p(r, 'gone'), nativeConstants.RENAME_NOREPLACE)],
  ['renameat2 NOREPLACE back, and plain renameat2', (r) => {
    renameat2(p(r, 'gone'), p(r, 'b3'), nativeConstants.RENAME_NOREPLACE);
    renameat2(p(r, 'b3'), p(r, 'b2'), 0);
    return readdirSync(r).sort();
  }],
  ['symlink', (r) => symlinkSync('target', p(r, 'sl'))],
  ['readlink lower', (r) => readlinkSync(p(r, 'link'))],
  // The new name's count; the old name's cached count lags by up to attr_timeout (mount.test.ts).
  ['hardlink lower', (r) => {
    linkSync(p(r, 'f1'), p(r, 'f1-link'));
    return [statSync(p(r, 'f1-link')).nlink, statSync(p(r, 'f1-link')).ino === statSync(p(r, 'f1')).ino];
  }],
  ['mkfifo', (r) => mknod(p(r, 'fifo'), 0o010640)],
  ['mknod char device', (r) => mknod(p(r, 'null'), 0o020666, 1, 3)],
  ['write to the device', (r) => writeFileSync(p(r, 'null'), 'discarded')],
  ['setxattr', (r) => lsetxattr(p(r, 'f1'), 'user.t', 'v')],
  ['getxattr', (r) => lgetxattr(p(r, 'f1'), 'user.t').toString()],
  ['listxattr', (r) => llistxattr(p(r, 'f1')).filter((n) => !n.startsWith('security.')).sort()],
  ['open file survives unlink', (r) => {
    const fd = openSync(p(r, 'f1-link'), 'r+');
    unlinkSync(p(r, 'f1-link'));
    writeSync(fd, 'Z', 1);
    const buf = Buffer.alloc(8);
    const n = readSync(fd, buf, 0, 8, 0);
    const nlink = fstatSync(fd).nlink;
    closeSync(fd);
    return [buf.subarray(0, n).toString(), nlink];
  }],
  ['rename over an open file', (r) => {
    const fd = openSync(p(r, 'b2'), 'r');
    writeFileSync(p(r, 'tmpf'), 'T');
    renameSync(p(r, 'tmpf'), p(r, 'b2'));
    const old = readFileSync(fd, 'utf8');
    const nlink = fstatSync(fd).nlink;
    closeSync(fd);
    return [old, nlink, readFileSync(p(r, 'b2'), 'utf8')];
  }],
  ['rmdir non-empty', (r) => rmdirSync(p(r, 'op'))],
  ['unlink missing', (r) => unlinkSync(p(r, 'none'))],
  ['mkdir existing', (r) => mkdirSync(p(r, 'nd'))],
  ['open dir for write', (r) => openSync(p(r, 'nd'), 'w')],
  ['rename into itself', (r) => renameSync(p(r, 'nd'), p(r, 'nd/sub'))],
  ['rename file over dir', (r) => renameSync(p(r, 'a'), p(r, 'nd'))],
  ['rename dir over file', (r) => renameSync(p(r, 'nd'), p(r, 'a'))],
  ['link dir', (r) => linkSync(p(r, 'nd'), p(r, 'nd2'))],
  ['rmdir file', (r) => rmdirSync(p(r, 'a'))],
  ['rename upper dir', (r) => renameSync(p(r, 'nd'), p(r, 'nd-moved'))],
  ['rename dir over empty lower dir', (r) => renameSync(p(r, 'nd-moved'), p(r, 'emptydir'))],
  ['rmdir after emptying', (r) => {
    unlinkSync(p(r, 'op/new'));
    rmdirSync(p(r, 'op'));
  }],
  ['readdir root after', (r) => readdirSync(r).sort()],
];

describe('strata-fuse matches the kernel overlay', () => {
  it('gives the same results, errnos and merged tree for one operation script', () => {
    const base = tempDir();
    const { ours, kernel, mOurs, mKernel } = mountPair(base, [TOP, BOTTOM]);
    expect(describeTree(mOurs, { owners: true })).toEqual(describeTree(mKernel, { owners: true }));
    const got = play(mOurs, SCRIPT);
    const want = play(mKernel, SCRIPT);
    expect(got).toEqual(want);
    expect(describeTree(mOurs, { owners: true })).toEqual(describeTree(mKernel, { owners: true }));
    // The lower layers are untouched by either.
    expect(describeTree(ours.lowers[0]!)).toEqual(describeTree(kernel.lowers[0]!));
    expect(describeTree(ours.lowers[1]!)).toEqual(describeTree(kernel.lowers[1]!));
    unmount(mOurs);
    unmount(mKernel);
  });
});
