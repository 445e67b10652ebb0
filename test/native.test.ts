import {
  chownSync, closeSync, constants as fsc, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync,
  readSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osc, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  constants, FsMagic, fsMagic, lgetxattr, lgetxattrOptional, llistxattr, lremovexattr, lsetxattr, mknod,
  mount, mountFs, renameat2, umount2, utimensat,
} from '../src/native.js';
import { repoRoot, rootlessUser, runTsAs } from './helpers/rootless.js';
import { tempDir } from './helpers/tmp.js';

type SysError = NodeJS.ErrnoException & { dest?: string };
type RawAddon = Record<string, (...args: unknown[]) => unknown> & { constants: Record<string, number> };

/** The addon itself, for what the typed wrappers never pass (wrong types, raw fds). */
const raw = createRequire(import.meta.url)(
  join(repoRoot, 'native', 'build', 'Release', 'strata_native.node'),
) as RawAddon;

function caught(fn: () => unknown): SysError {
  try {
    fn();
  } catch (err) {
    return err as SysError;
  }
  throw new Error('expected the call to throw');
}

function write(dir: string, name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

/** True when overlay accepts `lowerdir+` through fsconfig (Linux 6.8+); probed without mounting. */
function kernelHasLowerdirPlus(): boolean {
  const fd = raw.fsopen('overlay', raw.constants.FSOPEN_CLOEXEC) as number;
  try {
    raw.fsconfig(fd, raw.constants.FSCONFIG_SET_STRING, 'lowerdir+', tmpdir(), 0);
    return true;
  } catch (err) {
    if ((err as SysError).code === 'EINVAL') return false;
    throw err;
  } finally {
    raw.close(fd);
  }
}

describe('addon exports', () => {
  it('exports exactly the functions of the Addon interface plus constants', () => {
    expect(Object.keys(raw).sort()).toEqual([
      'close', 'constants', 'fsconfig', 'fsmount', 'fsopen', 'lgetxattr', 'listDir', 'llistxattr', 'lremovexattr',
      'lsetxattr', 'mknod', 'mount', 'moveMount', 'renameat2', 'umount2', 'utimensat', 'warmDir',
    ]);
    expect(raw.constants).toMatchObject({ AT_FDCWD: -100, RENAME_WHITEOUT: 4, MNT_DETACH: 2, MS_BIND: 4096 });
    expect(Object.isFrozen(raw.constants)).toBe(true);
  });
});

describe('mknod', () => {
  it('creates the 0/0 character device overlay uses as a whiteout', () => {
    const p = join(tempDir(), 'wh');
    mknod(p, fsc.S_IFCHR | 0o000);
    const st = lstatSync(p);
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0);
  });

  it('creates a fifo and a block device with its major/minor', () => {
    const dir = tempDir();
    mknod(join(dir, 'fifo'), fsc.S_IFIFO | 0o644);
    mknod(join(dir, 'blk'), fsc.S_IFBLK | 0o600, 7, 3);
    expect(lstatSync(join(dir, 'fifo')).isFIFO()).toBe(true);
    const blk = lstatSync(join(dir, 'blk'));
    expect(blk.isBlockDevice()).toBe(true);
    expect(blk.rdev).toBe((7 << 8) | 3);
    expect(blk.mode & 0o777).toBe(0o600);
  });

  it('reports an existing path as EEXIST', () => {
    const dir = tempDir();
    const err = caught(() => mknod(dir, fsc.S_IFIFO | 0o644));
    expect(err).toMatchObject({ code: 'EEXIST', syscall: 'mknod', path: dir });
  });
});

describe('xattrs', () => {
  it('sets, gets, lists and removes trusted.* and user.* attributes', () => {
    const f = write(tempDir(), 'f', 'x');
    lsetxattr(f, 'trusted.overlay.opaque', 'y');
    lsetxattr(f, 'user.bin', Buffer.from([0, 1, 2, 255]));
    expect(lgetxattr(f, 'trusted.overlay.opaque').toString()).toBe('y');
    expect([...lgetxattr(f, 'user.bin')]).toEqual([0, 1, 2, 255]);
    expect(llistxattr(f).sort()).toEqual(['trusted.overlay.opaque', 'user.bin']);
    lremovexattr(f, 'user.bin');
    expect(llistxattr(f)).toEqual(['trusted.overlay.opaque']);
  });

  it('reads values and name lists larger than the first-try buffer', () => {
    const dir = tempDir();
    const f = write(dir, 'f', 'x');
    const big = Buffer.alloc(3000, 'v');
    big[10] = 0; // values are binary, NULs included
    lsetxattr(f, 'user.big', big);
    expect(lgetxattr(f, 'user.big').equals(big)).toBe(true);
    // A separate file: ext4 keeps all of an inode's xattrs in one block.
    const g = write(dir, 'g', 'x');
    const names = Array.from({ length: 30 }, (_, i) => `user.a-rather-long-attribute-name-${i}`);
    for (const n of names) lsetxattr(g, n, '1');
    expect(llistxattr(g).sort()).toEqual(names.sort());
  });

  it('acts on a symlink itself, never its target', () => {
    const dir = tempDir();
    const target = write(dir, 'target', 'x');
    const link = join(dir, 'link');
    symlinkSync('target', link);
    lsetxattr(link, 'trusted.overlay.redirect', '/elsewhere');
    expect(lgetxattr(link, 'trusted.overlay.redirect').toString()).toBe('/elsewhere');
    expect(llistxattr(link)).toEqual(['trusted.overlay.redirect']);
    expect(llistxattr(target)).toEqual([]);
    lremovexattr(link, 'trusted.overlay.redirect');
    expect(llistxattr(link)).toEqual([]);
  });

  it('honours XATTR_CREATE and XATTR_REPLACE', () => {
    const f = write(tempDir(), 'f', 'x');
    expect(caught(() => lsetxattr(f, 'user.a', 'v', constants.XATTR_REPLACE)).code).toBe('ENODATA');
    lsetxattr(f, 'user.a', 'v', constants.XATTR_CREATE);
    expect(caught(() => lsetxattr(f, 'user.a', 'w', constants.XATTR_CREATE)).code).toBe('EEXIST');
    lsetxattr(f, 'user.a', 'w', constants.XATTR_REPLACE);
    expect(lgetxattr(f, 'user.a').toString()).toBe('w');
  });

  it('reports a missing attribute as ENODATA, which lgetxattrOptional turns into undefined', () => {
    const dir = tempDir();
    const f = write(dir, 'f', 'x');
    const err = caught(() => lgetxattr(f, 'user.none'));
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: 'ENODATA', errno: -osc.errno.ENODATA, syscall: 'lgetxattr', path: f });
    expect(err.message).toBe(`ENODATA: no data available, lgetxattr '${f}'`);
    expect(lgetxattrOptional(f, 'user.none')).toBeUndefined();
    lsetxattr(f, 'user.some', 'v');
    expect(lgetxattrOptional(f, 'user.some')?.toString()).toBe('v');
    // A missing file is a real error, not an absent attribute.
    expect(caught(() => lgetxattrOptional(join(dir, 'gone'), 'user.some')).code).toBe('ENOENT');
  });
});

describe('renameat2', () => {
  it('renames plainly, replacing the destination', () => {
    const dir = tempDir();
    const a = write(dir, 'a', 'A');
    const b = write(dir, 'b', 'B');
    renameat2(a, b);
    expect(existsSync(a)).toBe(false);
    expect(readFileSync(b, 'utf8')).toBe('A');
  });

  it('refuses to replace with RENAME_NOREPLACE (EEXIST naming both paths)', () => {
    const dir = tempDir();
    const a = write(dir, 'a', 'A');
    const b = write(dir, 'b', 'B');
    const err = caught(() => renameat2(a, b, constants.RENAME_NOREPLACE));
    expect(err).toMatchObject({ code: 'EEXIST', errno: -osc.errno.EEXIST, syscall: 'renameat2', path: a, dest: b });
    expect(err.message).toBe(`EEXIST: file exists, renameat2 '${a}' -> '${b}'`);
    expect(readFileSync(a, 'utf8')).toBe('A');
    expect(readFileSync(b, 'utf8')).toBe('B');
  });

  it('swaps two entries atomically with RENAME_EXCHANGE', () => {
    const dir = tempDir();
    const a = write(dir, 'a', 'A');
    mkdirSync(join(dir, 'b'));
    renameat2(a, join(dir, 'b'), constants.RENAME_EXCHANGE);
    expect(statSync(a).isDirectory()).toBe(true);
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('A');
  });

  it('leaves a 0/0 whiteout behind with RENAME_WHITEOUT', () => {
    const dir = tempDir();
    const a = write(dir, 'a', 'A');
    renameat2(a, join(dir, 'b'), constants.RENAME_WHITEOUT);
    const st = lstatSync(a);
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0);
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('A');
  });
});

describe('mount and umount2', () => {
  it('mounts and unmounts a tmpfs, which fsMagic tells apart from /tmp', () => {
    const dir = tempDir();
    expect(fsMagic(dir)).not.toBe(FsMagic.TMPFS);
    mount('tmpfs', dir, 'tmpfs', constants.MS_NOSUID | constants.MS_NODEV, 'size=1m,mode=0755');
    expect(fsMagic(dir)).toBe(FsMagic.TMPFS);
    write(dir, 'inside', 'x');
    umount2(dir);
    expect(fsMagic(dir)).not.toBe(FsMagic.TMPFS);
    expect(existsSync(join(dir, 'inside'))).toBe(false);
  });

  it('bind-mounts a directory and remounts it read-only', () => {
    const dir = tempDir();
    const src = join(dir, 'src');
    const dst = join(dir, 'dst');
    mkdirSync(src);
    mkdirSync(dst);
    write(src, 'f', 'shared');
    mount(src, dst, '', constants.MS_BIND);
    expect(readFileSync(join(dst, 'f'), 'utf8')).toBe('shared');
    mount('', dst, '', constants.MS_REMOUNT | constants.MS_BIND | constants.MS_RDONLY);
    expect(caught(() => writeFileSync(join(dst, 'g'), 'x')).code).toBe('EROFS');
    umount2(dst);
    expect(readdirSync(dst)).toEqual([]);
  });

  it('detaches a busy mount with MNT_DETACH where a plain umount2 gets EBUSY', () => {
    const dir = tempDir();
    mount('tmpfs', dir, 'tmpfs', 0, 'size=1m');
    const fd = openSync(write(dir, 'open', 'still readable'), 'r');
    try {
      expect(caught(() => umount2(dir))).toMatchObject({ code: 'EBUSY', syscall: 'umount2', path: dir });
      umount2(dir, constants.MNT_DETACH);
      expect(fsMagic(dir)).not.toBe(FsMagic.TMPFS);
      const buf = Buffer.alloc(32);
      expect(buf.toString('utf8', 0, readSync(fd, buf))).toBe('still readable');
    } finally {
      closeSync(fd);
    }
  });

  it('reports a missing mount point as ENOENT naming source and target', () => {
    const target = join(tempDir(), 'missing');
    expect(caught(() => mount('tmpfs', target, 'tmpfs'))).toMatchObject({
      code: 'ENOENT', syscall: 'mount', path: 'tmpfs', dest: target,
    });
  });
});

describe('overlay mounts', () => {
  function layers(): { dir: string; a: string; b: string; upper: string; work: string; merged: string } {
    const dir = tempDir();
    const [a, b, upper, work, merged] = ['a', 'b', 'upper', 'work', 'merged'].map((n) => join(dir, n)) as
      [string, string, string, string, string];
    for (const d of [a, b, upper, work, merged]) mkdirSync(d);
    write(a, 'from-a', 'A');
    write(a, 'shadowed', 'a wins');
    write(b, 'from-b', 'B');
    write(b, 'shadowed', 'b loses');
    return { dir, a, b, upper, work, merged };
  }

  it('mounts an overlay with mount() and an option string', () => {
    const { a, b, upper, work, merged } = layers();
    mount('overlay', merged, 'overlay', 0, `lowerdir=${a}:${b},upperdir=${upper},workdir=${work}`);
    expect(fsMagic(merged)).toBe(FsMagic.OVERLAY);
    expect(readdirSync(merged).sort()).toEqual(['from-a', 'from-b', 'shadowed']);
    expect(readFileSync(join(merged, 'shadowed'), 'utf8')).toBe('a wins');
  });

  it('mounts an overlay with mountFs and one lowerdir+ per layer, writing to upperdir', (ctx) => {
    // Probed before tempDir: a dynamic skip would bypass its cleanup.
    if (!kernelHasLowerdirPlus()) ctx.skip('kernel overlay lacks fsconfig lowerdir+ (needs Linux 6.8+)');
    const { a, b, upper, work, merged } = layers();
    mountFs('overlay', merged, [['lowerdir+', a], ['lowerdir+', b], ['upperdir', upper], ['workdir', work]]);
    expect(fsMagic(merged)).toBe(FsMagic.OVERLAY);
    expect(readdirSync(merged).sort()).toEqual(['from-a', 'from-b', 'shadowed']);
    expect(readFileSync(join(merged, 'shadowed'), 'utf8')).toBe('a wins');
    writeFileSync(join(merged, 'from-b'), 'changed');
    expect(readFileSync(join(upper, 'from-b'), 'utf8')).toBe('changed');
    expect(readFileSync(join(b, 'from-b'), 'utf8')).toBe('B');
  });

  it("carries the filesystem's own message in fsconfig errors and leaks no fds", () => {
    const { merged } = layers();
    const fds = readdirSync('/proc/self/fd').length;
    const err = caught(() => mountFs('overlay', merged, [['bogus', 'x']]));
    expect(err).toMatchObject({ code: 'EINVAL', syscall: 'fsconfig', path: 'bogus=x' });
    expect(err.message).toMatch(/^EINVAL: invalid argument, fsconfig 'bogus=x' \(overlay: .*bogus/);
    expect(readdirSync('/proc/self/fd').length).toBe(fds);
  });
});

describe('utimensat', () => {
  it('sets atime and mtime to the nanosecond', () => {
    const f = write(tempDir(), 'f', 'x');
    utimensat(f, { sec: 1_000_000_000, nsec: 1 }, { sec: 1_600_000_000, nsec: 123_456_789 });
    const st = statSync(f, { bigint: true });
    expect(st.atimeNs).toBe(1_000_000_000_000_000_001n);
    expect(st.mtimeNs).toBe(1_600_000_000_123_456_789n);
  });

  it('changes a symlink itself with nofollow, and its target without', () => {
    const dir = tempDir();
    const target = write(dir, 'target', 'x');
    const link = join(dir, 'link');
    symlinkSync('target', link);
    const before = statSync(target, { bigint: true }).mtimeNs;
    utimensat(link, { sec: 5, nsec: 6 }, { sec: 7, nsec: 8 }, true);
    expect(lstatSync(link, { bigint: true }).mtimeNs).toBe(7_000_000_008n);
    expect(statSync(target, { bigint: true }).mtimeNs).toBe(before);
    utimensat(link, { sec: 9, nsec: 0 }, { sec: 10, nsec: 11 }, false);
    expect(statSync(target, { bigint: true }).mtimeNs).toBe(10_000_000_011n);
    expect(lstatSync(link, { bigint: true }).mtimeNs).toBe(7_000_000_008n);
  });

  it('keeps a time given as UTIME_OMIT', () => {
    const f = write(tempDir(), 'f', 'x');
    utimensat(f, { sec: 100, nsec: 0 }, { sec: 200, nsec: 0 });
    utimensat(f, { sec: 0, nsec: constants.UTIME_OMIT }, { sec: 300, nsec: 0 });
    const st = statSync(f, { bigint: true });
    expect(st.atimeNs).toBe(100_000_000_000n);
    expect(st.mtimeNs).toBe(300_000_000_000n);
  });
});

describe('argument validation', () => {
  it('throws a TypeError naming the argument of the wrong type', () => {
    const cases: [() => unknown, string][] = [
      [() => raw.mknod(42, 0, 0, 0), 'path'],
      [() => raw.mknod('/x', '0', 0, 0), 'mode'],
      [() => raw.lsetxattr('/x', 'user.a', 'not a buffer', 0), 'value'],
      [() => raw.renameat2('/a', undefined, 0), 'newPath'],
      [() => raw.fsconfig(0, 0, 5, null, 0), 'key'],
      [() => raw.moveMount(0, '', 'cwd', '/t', 0), 'toDfd'],
      [() => raw.lgetxattr('/x'), 'name'],
    ];
    for (const [call, name] of cases) {
      const err = caught(call);
      expect(err).toBeInstanceOf(TypeError);
      expect(err.code).toBe('ERR_INVALID_ARG_TYPE');
      expect(err.message).toContain(`"${name}" argument`);
    }
  });

  it('rejects paths with NUL bytes and integers out of range', () => {
    expect(caught(() => raw.lgetxattr('/tmp\0/x', 'user.a'))).toBeInstanceOf(TypeError);
    const range = caught(() => raw.mount('a', 'b', 'c', 1.5, ''));
    expect(range).toBeInstanceOf(RangeError);
    expect(range.message).toContain('"flags" argument');
    expect(caught(() => raw.utimensat('/x', 0, 1e9 + 2 ** 30, 0, 0, 0))).toBeInstanceOf(RangeError);
  });
});

describe('error objects', () => {
  it("match Node's own fs errors in shape and wording", () => {
    const missing = join(tempDir(), 'missing');
    const node = caught(() => readFileSync(missing));
    const ours = caught(() => llistxattr(missing));
    expect(ours).toBeInstanceOf(Error);
    expect(Object.keys(ours).sort()).toEqual(['code', 'errno', 'path', 'syscall']);
    expect(ours.errno).toBe(node.errno);
    expect(ours.code).toBe(node.code);
    expect(ours.message.replace('llistxattr', 'open')).toBe(node.message);
  });

  it('leave path out of the message and the object for fd-only calls', () => {
    const err = caught(() => raw.close(1_000_000));
    expect(err).toMatchObject({ code: 'EBADF', errno: -osc.errno.EBADF, syscall: 'close' });
    expect(err.message).toBe('EBADF: bad file descriptor, close');
    expect(err.path).toBeUndefined();
  });
});

describe('as an unprivileged user', () => {
  it('cannot mount (EPERM) but can use user.* xattrs on its own files', (ctx) => {
    const user = rootlessUser();
    if (!user) return ctx.skip('no strata-rootless user: run scripts/setup.sh test');
    const dir = join(tempDir(), 'home');
    mkdirSync(dir);
    chownSync(dir, user.uid, user.gid);
    const res = runTsAs(user, join(repoRoot, 'test', 'fixtures', 'native-rootless.ts'), [dir]);
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(out.uid).toBe(user.uid);
    expect(out.mount).toEqual({ code: 'EPERM', errno: -osc.errno.EPERM, syscall: 'mount', path: 'tmpfs' });
    expect(out.setUser).toEqual({ ok: true });
    expect(out.getUser).toEqual({ ok: 'hello' });
    expect(out.list).toEqual({ ok: ['user.strata'] });
    expect(out.setTrusted).toMatchObject({ code: 'EPERM', syscall: 'lsetxattr' });
  });
});
