/**
 * The overlay operations called directly (no FUSE): lookup and merge rules, copy-up, whiteouts,
 * opaque directories, renames. The mount tests check the same through the kernel.
 */
import { closeSync, existsSync, lstatSync, readFileSync, readSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lgetxattrOptional, lsetxattr } from '../../src/native.js';
import { defaultConfig, type OverlayConfig } from '../../src/fuse/options.js';
import { Overlay, type Caller } from '../../src/fuse/overlay.js';
import { chmod, chown, getattr, truncate, utimens } from '../../src/fuse/ops-attr.js';
import { mkdir, readdir, rmdir } from '../../src/fuse/ops-dir.js';
import { create, open } from '../../src/fuse/ops-file.js';
import { link, mknod, readlink, rename, symlink, unlink } from '../../src/fuse/ops-namespace.js';
import { getxattr, listxattr, removexattr, setxattr } from '../../src/fuse/ops-xattr.js';
import { ORIGIN_XATTR } from '../../src/fuse/node.js';
import { codeOf } from '../helpers/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { makeLayers, type LayerDirs, type LayerSpec } from './layerset.js';

const root: Caller = { uid: 0, gid: 0, pid: process.pid };
let savedUmask = 0;
beforeAll(() => {
  savedUmask = process.umask(0);
});
afterAll(() => {
  process.umask(savedUmask);
});

const LOWER_BOTTOM: LayerSpec = {
  'a': 'bottom-a',
  'gone-dev': 'x',
  'gone-file': 'x',
  'd/x': 'dx',
  'd/y': 'dy',
  'opq-trusted/old': 'o',
  'opq-user/old': 'o',
  'opq-fuse/old': 'o',
  'opq-marker/old': 'o',
  'deep/er/f': 'deep',
};
const LOWER_TOP: LayerSpec = {
  'a': { file: 'top-a', mode: 0o640, xattrs: { 'user.keep': 'kept', 'trusted.overlay.opaque': 'y' } },
  'b': 'top-b',
  'gone-dev': { whiteout: 'device' },
  'gone-file': { whiteout: 'file' },
  'd/z': 'dz',
  'opq-trusted/': { dir: true, opaque: 'trusted' },
  'opq-user/': { dir: true, opaque: 'user' },
  'opq-fuse/': { dir: true, opaque: 'fuse' },
  'opq-marker/': { dir: true, opaque: 'marker' },
  'opq-trusted/new': 'n',
  'link': { symlink: 'a' },
};

function setup(cfg: Partial<OverlayConfig> = {}, upper: LayerSpec = {}): { ov: Overlay; dirs: LayerDirs } {
  const dirs = makeLayers(tempDir(), [LOWER_TOP, LOWER_BOTTOM], upper);
  const ov = new Overlay({
    ...defaultConfig(),
    lowerdirs: dirs.lowers,
    upperdir: dirs.upper,
    workdir: dirs.work,
    ...cfg,
  });
  return { ov, dirs };
}

function names(ov: Overlay, path: string): string[] {
  return readdir(ov, path).entries.map((e) => e.name).sort();
}

/** The handle of an open or create that answered at once (copy-ups this small never wait). */
function now(fd: number | Promise<number>): number {
  if (typeof fd !== 'number') throw new Error('expected an answer without waiting');
  return fd;
}

function readAll(ov: Overlay, path: string): string {
  const fd = now(open(ov, path, 0));
  const buf = Buffer.alloc(4096);
  // The handle is a real descriptor; the C side reads and closes it on a mount.
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  return buf.subarray(0, n).toString();
}


describe('lookup and merge', () => {
  it('merges layers, hides both whiteout forms and stops at all four opaque forms', () => {
    const { ov } = setup();
    expect(names(ov, '/')).toEqual(['a', 'b', 'd', 'deep', 'link', 'opq-fuse', 'opq-marker', 'opq-trusted', 'opq-user']);
    expect(names(ov, '/d')).toEqual(['x', 'y', 'z']);
    for (const d of ['/opq-user', '/opq-fuse', '/opq-marker']) expect(names(ov, d)).toEqual([]);
    expect(names(ov, '/opq-trusted')).toEqual(['new']);
    expect(codeOf(() => getattr(ov, '/gone-dev'))).toBe('ENOENT');
    expect(codeOf(() => getattr(ov, '/gone-file'))).toBe('ENOENT');
    expect(codeOf(() => getattr(ov, '/opq-marker/old'))).toBe('ENOENT');
    expect(readAll(ov, '/a')).toBe('top-a');
    expect(readAll(ov, '/d/x')).toBe('dx');
    expect(readlink(ov, '/link')).toBe('a');
  });

  it('hides .wh. names and internal xattrs from users and refuses to create them', () => {
    const { ov } = setup();
    expect(codeOf(() => getattr(ov, '/.wh.gone-file'))).toBe('ENOENT');
    expect(codeOf(() => create(ov, root, '/.wh.x', 0o644))).toBe('EINVAL');
    expect(codeOf(() => mkdir(ov, root, '/.wh.y', 0o755))).toBe('EINVAL');
    expect(listxattr(ov, '/a')).toEqual(['user.keep']);
    expect(getxattr(ov, '/a', 'user.keep').toString()).toBe('kept');
    expect(codeOf(() => getxattr(ov, '/a', 'trusted.overlay.opaque'))).toBe('ENODATA');
    expect(codeOf(() => setxattr(ov, '/a', 'user.overlay.opaque', Buffer.from('y'), 0))).toBe('EPERM');
  });

  it('refuses every change with EROFS when there is no upper layer', () => {
    const { dirs } = setup();
    const ov = new Overlay({ ...defaultConfig(), lowerdirs: dirs.lowers, readOnly: true });
    expect(readAll(ov, '/b')).toBe('top-b');
    expect(codeOf(() => create(ov, root, '/new', 0o644))).toBe('EROFS');
    expect(codeOf(() => unlink(ov, '/a'))).toBe('EROFS');
    expect(codeOf(() => open(ov, '/a', 2))).toBe('EROFS');
    expect(codeOf(() => chmod(ov, '/a', 0o600))).toBe('EROFS');
    expect(readdirSync(dirs.upper)).toEqual([]);
  });
});

describe('copy-up', () => {
  it('copies data, mode, owner, ns times and user xattrs, but not overlay xattrs, and keeps st_ino', () => {
    const { ov, dirs } = setup();
    lsetxattr(join(dirs.lowers[0]!, 'a'), 'user.other', 'v');
    const before = getattr(ov, '/a');
    utimens(ov, '/d/x', { sec: 1_000_000_000, nsec: 123_456_789 }, { sec: 1_100_000_000, nsec: 987_654_321 });
    const fd = now(open(ov, '/a', 2));
    writeSync(fd, Buffer.from('TOP'), 0, 3, 0);
    closeSync(fd);
    const after = getattr(ov, '/a');
    expect(after.ino).toBe(before.ino);
    expect(after.mode).toBe(before.mode);
    expect(readFileSync(join(dirs.upper, 'a'), 'utf8')).toBe('TOP-a');
    expect(readFileSync(join(dirs.lowers[0]!, 'a'), 'utf8')).toBe('top-a');
    expect(lgetxattrOptional(join(dirs.upper, 'a'), 'user.keep')?.toString()).toBe('kept');
    expect(lgetxattrOptional(join(dirs.upper, 'a'), 'trusted.overlay.opaque')).toBeUndefined();
    expect(lgetxattrOptional(join(dirs.upper, 'a'), ORIGIN_XATTR)).toBeDefined();
    const dx = lstatSync(join(dirs.upper, 'd/x'), { bigint: true });
    expect(dx.mtimeNs).toBe(1_100_000_000_987_654_321n);
    expect(dx.atimeNs).toBe(1_000_000_000_123_456_789n);
    // The copied-up parent keeps the lower directory's times.
    expect(lstatSync(join(dirs.upper, 'd')).mtimeMs).toBe(lstatSync(join(dirs.lowers[0]!, 'd')).mtimeMs);
    expect(readdirSync(join(dirs.work, 'strata-fuse'))).toEqual([]);
  });

  it('copies up for truncate, chmod, chown and setxattr, and truncate(0) copies no data', () => {
    const { ov, dirs } = setup();
    truncate(ov, '/b', 0);
    expect(lstatSync(join(dirs.upper, 'b')).size).toBe(0);
    chmod(ov, '/d/y', 0o600);
    expect(lstatSync(join(dirs.upper, 'd/y')).mode & 0o7777).toBe(0o600);
    chown(ov, '/d/z', 123, 0xffffffff);
    expect(lstatSync(join(dirs.upper, 'd/z')).uid).toBe(123);
    setxattr(ov, '/deep/er/f', 'user.new', Buffer.from('1'), 0);
    expect(existsSync(join(dirs.upper, 'deep/er/f'))).toBe(true);
    removexattr(ov, '/deep/er/f', 'user.new');
    expect(codeOf(() => removexattr(ov, '/b', 'user.none'))).toBe('ENODATA');
  });
});

describe('deletes and whiteouts', () => {
  it('writes a whiteout only when a lower layer has the name', () => {
    const { ov, dirs } = setup();
    unlink(ov, '/b');
    expect(lstatSync(join(dirs.upper, 'b')).isCharacterDevice()).toBe(true);
    const fd = now(create(ov, root, '/fresh', 0o644));
    closeSync(fd);
    unlink(ov, '/fresh');
    expect(readdirSync(dirs.upper).sort()).toEqual(['b']);
    expect(names(ov, '/')).not.toContain('b');
  });

  it('falls back to .wh. files when whiteout devices are refused', () => {
    const { ov, dirs } = setup();
    ov.canMknod = false;
    unlink(ov, '/d/x');
    expect(existsSync(join(dirs.upper, 'd/.wh.x'))).toBe(true);
    expect(names(ov, '/d')).toEqual(['y', 'z']);
    // Creating the name again removes the whiteout.
    closeSync(now(create(ov, root, '/d/x', 0o600)));
    expect(existsSync(join(dirs.upper, 'd/.wh.x'))).toBe(false);
    expect(names(ov, '/d')).toEqual(['x', 'y', 'z']);
  });

  it('makes mkdir over a whiteout an opaque directory', () => {
    const { ov, dirs } = setup();
    for (const n of ['x', 'y', 'z']) unlink(ov, `/d/${n}`);
    rmdir(ov, '/d');
    expect(names(ov, '/')).not.toContain('d');
    mkdir(ov, root, '/d', 0o711);
    expect(names(ov, '/d')).toEqual([]);
    expect(lgetxattrOptional(join(dirs.upper, 'd'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    // The xattr is enough; a marker file would show up under the kernel overlay.
    expect(existsSync(join(dirs.upper, 'd/.wh..wh..opq'))).toBe(false);
    expect(getattr(ov, '/d').mode & 0o7777).toBe(0o711);
  });

  it('refuses rmdir of a directory that is not empty in the merged view', () => {
    const { ov } = setup();
    expect(codeOf(() => rmdir(ov, '/d'))).toBe('ENOTEMPTY');
    expect(codeOf(() => rmdir(ov, '/a'))).toBe('ENOTDIR');
    expect(codeOf(() => unlink(ov, '/d'))).toBe('EISDIR');
  });
});

describe('rename, links and special files', () => {
  it('renames a lower file, leaving a whiteout at the old name', () => {
    const { ov, dirs } = setup();
    const ino = getattr(ov, '/b').ino;
    rename(ov, '/b', '/d/b2');
    expect(readAll(ov, '/d/b2')).toBe('top-b');
    expect(getattr(ov, '/d/b2').ino).toBe(ino);
    expect(codeOf(() => getattr(ov, '/b'))).toBe('ENOENT');
    expect(lstatSync(join(dirs.upper, 'b')).isCharacterDevice()).toBe(true);
  });

  it('renames a directory that lives in lower layers by copying it up whole', () => {
    const { ov, dirs } = setup();
    rename(ov, '/d', '/moved');
    expect(names(ov, '/moved')).toEqual(['x', 'y', 'z']);
    expect(readAll(ov, '/moved/z')).toBe('dz');
    expect(codeOf(() => getattr(ov, '/d'))).toBe('ENOENT');
    expect(lstatSync(join(dirs.upper, 'd')).isCharacterDevice()).toBe(true);
    // Moving it back over the whiteout shows exactly the moved contents again.
    rename(ov, '/moved', '/d');
    expect(names(ov, '/d')).toEqual(['x', 'y', 'z']);
  });

  it('renames over an empty merged directory and refuses a non-empty one', () => {
    const { ov } = setup();
    mkdir(ov, root, '/empty', 0o755);
    expect(codeOf(() => rename(ov, '/empty', '/d'))).toBe('ENOTEMPTY');
    expect(codeOf(() => rename(ov, '/a', '/d'))).toBe('EISDIR');
    expect(codeOf(() => rename(ov, '/d', '/a'))).toBe('ENOTDIR');
    for (const n of ['x', 'y', 'z']) unlink(ov, `/d/${n}`);
    rename(ov, '/empty', '/d');
    expect(names(ov, '/d')).toEqual([]);
  });

  it('makes hardlinks, symlinks, fifos and files owned by the caller', () => {
    const { ov, dirs } = setup();
    link(ov, '/a', '/a2');
    expect(getattr(ov, '/a2').nlink).toBe(2);
    expect(getattr(ov, '/a').ino).toBe(getattr(ov, '/a2').ino);
    symlink(ov, { uid: 42, gid: 43, pid: 1 }, '/target', '/sl');
    expect(readlink(ov, '/sl')).toBe('/target');
    expect(lstatSync(join(dirs.upper, 'sl')).uid).toBe(42);
    mknod(ov, root, '/fifo', 0o010640, 0);
    expect(lstatSync(join(dirs.upper, 'fifo')).isFIFO()).toBe(true);
    closeSync(now(create(ov, { uid: 1000, gid: 1001, pid: 1 }, '/mine', 0o600)));
    const st = lstatSync(join(dirs.upper, 'mine'));
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([1000, 1001, 0o600]);
  });
});

describe('id mapping and xattr_permissions', () => {
  it('shows disk ids through the mapping and stores chown targets mapped back', () => {
    const { ov, dirs } = setup({
      uidMappings: [{ disk: 0, shown: 1000, size: 10 }],
      gidMappings: [{ disk: 0, shown: 2000, size: 10 }],
    });
    const a = getattr(ov, '/a');
    expect([a.uid, a.gid]).toEqual([1000, 2000]);
    chown(ov, '/b', 1005, 2003);
    const st = lstatSync(join(dirs.upper, 'b'));
    expect([st.uid, st.gid]).toEqual([5, 3]);
    writeFileSync(join(dirs.upper, 'unmapped'), '');
    expect(getattr(ov, '/unmapped').uid).toBe(1000);
  });

  it('squashes every owner with squash_to_root, squash_to_uid winning over it', () => {
    const { ov, dirs } = setup({ squashToRoot: true, squashToGid: 77 });
    writeFileSync(join(dirs.upper, 'owned'), '');
    chown(ov, '/owned', 1000, 1000);
    const a = getattr(ov, '/owned');
    expect([a.uid, a.gid]).toEqual([0, 77]);
    expect(lstatSync(join(dirs.upper, 'owned')).uid).toBe(1000);
  });

  it('keeps owner and mode in the override xattr with xattr_permissions=2', () => {
    const { ov, dirs } = setup({ xattrPermissions: 2 });
    chown(ov, '/b', 7, 8);
    chmod(ov, '/b', 0o4711);
    const st = lstatSync(join(dirs.upper, 'b'));
    expect(st.uid).toBe(0);
    expect(lgetxattrOptional(join(dirs.upper, 'b'), 'user.containers.override_stat')?.toString()).toBe('7:8:04711');
    const a = getattr(ov, '/b');
    expect([a.uid, a.gid, a.mode & 0o7777]).toEqual([7, 8, 0o4711]);
    expect(listxattr(ov, '/b')).toEqual([]);
  });
});
