/**
 * The strata-fuse program through real mounts: command lines as mount helpers and podman write
 * them, daemon lifecycle (returns when live, exits on umount/fusermount3 -u, unmounts on SIGTERM),
 * what goes beyond the kernel overlay (renaming lower directories), and callers other than root.
 */
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  chmodSync,
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  lstatSync,
  statSync,
  statfsSync,
  unlinkSync,
  writeFileSync,
  linkSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { constants as nativeConstants, lgetxattrOptional, llistxattr, renameat2 } from '../../src/native.js';
import { rootlessUser, runAs } from '../helpers/rootless.js';
import { codeOf } from '../helpers/errors.js';
import { mountsUnder, tempDir } from '../helpers/tmp.js';
import { makeLayers, describeTree, type LayerSpec } from './layerset.js';
import { daemonPids, mountAsUser, mountStrata, runStrataFuse, waitFor } from './mount.js';

const LOWER: LayerSpec = {
  'file': 'lower',
  'dir/a': 'a',
  'dir/sub/b': 'b',
  'opq/': { dir: true, opaque: 'trusted' },
  'opq/in': 'in',
  'shared/': { dir: true, mode: 0o1777 },
  'rootfile': { file: 'root only', mode: 0o644 },
};
const BELOW: LayerSpec = { 'dir/c': 'c', 'opq/hidden': 'h' };


function mountSource(mnt: string): string | undefined {
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === mnt);
  return line?.split(' - ')[1]?.split(' ')[1];
}

beforeAll(() => {
  // Rootless FUSE needs the device open to everyone, as scripts/setup.sh arranges.
  chmodSync('/dev/fuse', 0o666);
});

describe('strata-fuse command line and lifecycle', () => {
  it('mounts with SOURCE first, relative symlinked lowers and empty options, and exits on umount', async () => {
    const base = tempDir();
    makeLayers(base, [LOWER, BELOW]);
    mkdirSync(join(base, 'merged'));
    // containers/storage names lowers by short symlinks under l/, relative to its home.
    mkdirSync(join(base, 'l'));
    symlinkSync('../lower0', join(base, 'l', 'AAA'));
    symlinkSync('../lower1', join(base, 'l', 'BBB'));
    const r = runStrataFuse(
      ['overlay', 'merged', '-o', 'rw,lowerdir=l/AAA:l/BBB,upperdir=upper,workdir=work,,volatile,frobnicate'],
      { cwd: base },
    );
    expect(r.stderr).toBe('strata-fuse: unknown argument ignored: frobnicate\n');
    expect(r.status).toBe(0);
    const mnt = join(base, 'merged');
    expect(mountSource(mnt)).toBe('overlay');
    expect(readdirSync(join(mnt, 'dir')).sort()).toEqual(['a', 'c', 'sub']);
    expect(daemonPids(mnt, base)).toHaveLength(1);
    expect(spawnSync('umount', [mnt]).status).toBe(0);
    expect(await waitFor(() => daemonPids(mnt, base).length === 0)).toBe(true);
  });

  it('unmounts and exits on SIGTERM', async () => {
    const base = tempDir();
    const dirs = makeLayers(base, [LOWER]);
    const mnt = join(base, 'm');
    mkdirSync(mnt);
    mountStrata(dirs, mnt);
    const [pid] = daemonPids(mnt);
    process.kill(pid!, 'SIGTERM');
    expect(await waitFor(() => mountsUnder(mnt).length === 0 && daemonPids(mnt).length === 0)).toBe(true);
  });

  it('serves a read-only mount without upperdir (EROFS) and exits on fusermount3 -u', async () => {
    const base = tempDir();
    const dirs = makeLayers(base, [LOWER, BELOW]);
    const mnt = join(base, 'm');
    mkdirSync(mnt);
    const r = runStrataFuse(['-o', `lowerdir=${dirs.lowers.join(':')}`, mnt]);
    expect(r.status).toBe(0);
    expect(readFileSync(join(mnt, 'dir/c'), 'utf8')).toBe('c');
    expect(codeOf(() => writeFileSync(join(mnt, 'new'), 'x'))).toBe('EROFS');
    expect(codeOf(() => unlinkSync(join(mnt, 'file')))).toBe('EROFS');
    expect(spawnSync('fusermount3', ['-u', mnt]).status).toBe(0);
    expect(await waitFor(() => daemonPids(mnt).length === 0)).toBe(true);
  });

  it('fails with a message naming a missing layer, leaving no mount', () => {
    const base = tempDir();
    const mnt = join(base, 'm');
    mkdirSync(mnt);
    const r = runStrataFuse(['-o', `lowerdir=${base}/nope`, mnt]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`lowerdir ${base}/nope does not exist`);
    expect(mountsUnder(mnt)).toEqual([]);
  });
});

describe('strata-fuse beyond the kernel overlay', () => {
  it('renames lower directories, keeps st_ino over copy-up, hides internals, keeps unlinked files', async () => {
    const base = tempDir();
    const dirs = makeLayers(base, [LOWER, BELOW]);
    const mnt = join(base, 'm');
    mkdirSync(mnt);
    mountStrata(dirs, mnt);
    const m = (rel: string): string => join(mnt, rel);

    // The kernel answers EXDEV here (without redirect_dir); we copy the tree up and move it.
    renameSync(m('dir'), m('moved'));
    expect(describeTree(m('moved'))).toEqual([
      'a f 644 1 86f7e437fa',
      'c f 644 1 84a516841b',
      'sub/ d 755',
      'sub/b f 644 1 e9d71f5ee7',
    ]);
    expect(codeOf(() => statSync(m('dir')))).toBe('ENOENT');

    const ino = statSync(m('file')).ino;
    writeFileSync(m('file'), 'changed');
    expect(statSync(m('file')).ino).toBe(ino);

    expect(llistxattr(m('opq'))).toEqual([]);
    expect(readdirSync(m('opq'))).toEqual(['in']);
    expect(codeOf(() => writeFileSync(m('.wh.sneaky'), ''))).toBe('EINVAL');
    expect(statfsSync(mnt).blocks).toBe(statfsSync(dirs.upper).blocks);

    const fd = openSync(m('moved/a'), 'r');
    unlinkSync(m('moved/a'));
    expect(fstatSync(fd).size).toBe(1);
    expect(readdirSync(m('moved')).sort()).toEqual(['c', 'sub']);
    closeSync(fd);
    // The kernel sends the release after close(2) returns; the parked copy goes then.
    expect(await waitFor(() => readdirSync(join(dirs.work, 'strata-fuse')).length === 0)).toBe(true);

    // renameat2: NOREPLACE is honoured; EXCHANGE with a lower directory works as rename of one does
    // (the kernel answers EXDEV; rename-exchange.test.ts compares the rest with it).
    expect(codeOf(() => renameat2(m('file'), m('opq'), nativeConstants.RENAME_NOREPLACE))).toBe('EEXIST');
    renameat2(m('file'), m('opq'), nativeConstants.RENAME_EXCHANGE);
    expect([readdirSync(m('file')), readFileSync(m('opq'), 'utf8')]).toEqual([['in'], 'changed']);
    renameat2(m('file'), m('opq'), nativeConstants.RENAME_EXCHANGE);
    expect(statSync(m('file')).ino).toBe(ino);

    // Each name of a hardlinked file is its own kernel inode: the old name's cached nlink must follow.
    expect(statSync(m('file')).nlink).toBe(1);
    linkSync(m('file'), m('file2'));
    expect(statSync(m('file')).nlink).toBe(2);
    appendFileSync(m('file2'), '+');
    expect(readFileSync(m('file'), 'utf8')).toBe('changed+');
    expect(statSync(m('file')).size).toBe(8);
    unlinkSync(m('file2'));
    expect(statSync(m('file')).nlink).toBe(1);
  });

  it('gives new files to the calling user and leaves permission checks to the kernel', () => {
    const user = rootlessUser();
    if (!user) return;
    const base = tempDir();
    const dirs = makeLayers(base, [LOWER, BELOW]);
    const mnt = join(base, 'm');
    mkdirSync(mnt);
    mountStrata(dirs, mnt);
    const r = runAs(user, 'sh', [
      '-c',
      `set -e; cd ${mnt}; echo hi > shared/mine; mkdir shared/mydir; ` +
        `if (echo x >> rootfile) 2>/dev/null; then echo WROTE; fi; cat rootfile`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('root only');
    for (const p of ['shared/mine', 'shared/mydir']) {
      const st = lstatSync(join(dirs.upper, p));
      expect([st.uid, st.gid]).toEqual([user.uid, user.gid]);
      expect(statSync(join(mnt, p)).uid).toBe(user.uid);
    }
  });
});

describe('strata-fuse run by an unprivileged user', () => {
  it('mounts, writes whiteouts and copies up as the user, and exits on fusermount3 -u', async () => {
    const user = rootlessUser();
    if (!user) return;
    const { dirs, mnt } = mountAsUser(user, (h) => makeLayers(h, [{ 'f': 'lower', 'd/x': 'x', 'd/y': 'y' }]));
    const r = runAs(user, 'sh', ['-c', `set -e; cd ${mnt}; rm f; echo more >> d/x; mkdir f; mv d d2; ls d2 f`]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('d2:\nx\ny\n\nf:\n');
    expect(lstatSync(join(dirs.upper, 'd')).isCharacterDevice()).toBe(true);
    expect(readFileSync(join(dirs.upper, 'd2/x'), 'utf8')).toBe('xmore\n');
    expect(lgetxattrOptional(join(dirs.upper, 'f'), 'user.overlay.opaque')?.toString()).toBe('y');
    expect(existsSync(join(dirs.upper, 'f/.wh..wh..opq'))).toBe(false);
    expect(lstatSync(join(dirs.upper, 'd2/x')).uid).toBe(user.uid);
    expect(runAs(user, 'fusermount3', ['-u', mnt]).status).toBe(0);
    expect(await waitFor(() => daemonPids(mnt).length === 0)).toBe(true);
    expect(mountsUnder(mnt)).toEqual([]);
  });
});
