import { constants as fsc, chownSync, lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyTree, splitDev } from '../../src/fs/copy-tree.js';
import { diskUsage } from '../../src/fs/disk-usage.js';
import { walkTree } from '../../src/fs/walk.js';
import { mknod } from '../../src/native.js';
import { rootlessUser, runTsAs } from '../helpers/rootless.js';
import { tempDir } from '../helpers/tmp.js';
import { fixtureTime, populateRichTree, setAllTimes } from './rich-tree.js';
import { snapshotTree } from './tree-snapshot.js';

const fixture = join(import.meta.dirname, 'fixtures', 'copy-as-user.ts');

describe('copyTree', () => {
  it('reproduces every entry kind with owners, mode bits, xattrs and ns times', async () => {
    const tmp = tempDir();
    const src = join(tmp, 'src');
    mkdirSync(src);
    populateRichTree(src);
    const before = snapshotTree(src);

    await copyTree(src, join(tmp, 'dst'));

    const after = snapshotTree(join(tmp, 'dst'));
    expect(after).toEqual(before);
    // Spot checks, so a snapshot that missed a field cannot hide a loss.
    expect(after['writeonly']).toMatchObject({ mode: '4222', uid: 0 });
    expect(after['sticky']).toMatchObject({ type: 'dir', mode: '1705', uid: 1, gid: 2 });
    expect(after['null']).toMatchObject({ type: 'char', rdev: String(statSync('/dev/null').rdev) });
    expect(after['plain']!.xattrs).toHaveProperty(['trusted.flag'], '000102ff');
    expect(after['link-rel']!.xattrs).toHaveProperty(['trusted.on-symlink']);
    expect(after['sub/deeper/leaf']!.mtimeNs).toMatch(/\d{9}$/);
  });

  it('keeps hardlinks as hardlinks of a new inode', async () => {
    const tmp = tempDir();
    const src = join(tmp, 'src');
    mkdirSync(src);
    populateRichTree(src);
    const dst = join(tmp, 'dst');

    await copyTree(src, dst);

    const ino = (rel: string): number => lstatSync(join(dst, rel)).ino;
    expect(ino('sub/hl-b')).toBe(ino('hl-a'));
    expect(ino('sub/deeper/hl-c')).toBe(ino('hl-a'));
    expect(ino('pair-2')).toBe(ino('sub/pair-1'));
    expect(ino('pair-2')).not.toBe(ino('hl-a'));
    expect(lstatSync(join(dst, 'hl-a')).nlink).toBe(3);
    expect(ino('hl-a')).not.toBe(lstatSync(join(src, 'hl-a')).ino);
    // Writing through one name shows through the others, as in the source.
    writeFileSync(join(dst, 'hl-a'), 'changed');
    expect(readFileSync(join(dst, 'sub/deeper/hl-c'), 'utf8')).toBe('changed');
    expect(readFileSync(join(src, 'hl-a'), 'utf8')).toBe('shared inode');
  });

  it('sets directory times after the children are written', async () => {
    const tmp = tempDir();
    const src = join(tmp, 'src');
    mkdirSync(join(src, 'a/b/c'), { recursive: true });
    for (let i = 0; i < 40; i++) writeFileSync(join(src, 'a/b/c', `f${i}`), String(i));
    setAllTimes(src);
    const dst = join(tmp, 'dst');

    await copyTree(src, dst);

    for (const rel of ['', 'a', 'a/b', 'a/b/c']) {
      expect(lstatSync(join(dst, rel), { bigint: true }).mtimeNs).toBe(
        lstatSync(join(src, rel), { bigint: true }).mtimeNs,
      );
    }
    const root = lstatSync(join(dst), { bigint: true }).mtimeNs;
    const t = fixtureTime([...walkTree(src)].length + 1);
    expect(root).toBe(BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec));
  });

  it('copies many files and deep trees, reporting the same disk usage', async () => {
    const tmp = tempDir();
    const src = join(tmp, 'src');
    let deep = src;
    for (let i = 0; i < 200; i++) deep = join(deep, 'd');
    mkdirSync(deep, { recursive: true });
    for (let i = 0; i < 600; i++) writeFileSync(join(src, `file-${i}`), 'x'.repeat(i));
    writeFileSync(join(deep, 'bottom'), 'deepest');
    const dst = join(tmp, 'dst');

    await copyTree(src, dst, { concurrency: 3 });

    expect(snapshotTree(dst)).toEqual(snapshotTree(src));
    expect(await diskUsage(dst)).toEqual(await diskUsage(src));
  });

  it('fills an existing empty destination root and takes on the source root metadata', async () => {
    const tmp = tempDir();
    const src = join(tmp, 'src');
    mkdirSync(src, { mode: 0o711 });
    writeFileSync(join(src, 'f'), 'x');
    chownSync(src, 5, 6);
    const dst = join(tmp, 'dst');
    mkdirSync(dst, { mode: 0o700 });

    await copyTree(src, dst);

    expect(statSync(dst)).toMatchObject({ uid: 5, gid: 6, mode: 0o40711 });
    expect(readFileSync(join(dst, 'f'), 'utf8')).toBe('x');
  });

  it('refuses to overwrite an existing entry and names it', async () => {
    const tmp = tempDir();
    const src = join(tmp, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'sub', 'f'), 'new');
    const dst = join(tmp, 'dst');
    mkdirSync(join(dst, 'sub'), { recursive: true });

    await expect(copyTree(src, dst)).rejects.toThrow(join(dst, 'sub'));
  });

  it('rejects a destination root that is not a directory', async () => {
    const tmp = tempDir();
    mkdirSync(join(tmp, 'src'));
    writeFileSync(join(tmp, 'dst'), '');
    await expect(copyTree(join(tmp, 'src'), join(tmp, 'dst'))).rejects.toThrow(/copy directory .*dst/);
  });

  it('decodes large device numbers like glibc', () => {
    const rdev = lstatSync('/dev/null').rdev;
    expect(splitDev(BigInt(rdev))).toEqual({ major: 1, minor: 3 });
    // makedev(300, 70000) per glibc's encoding.
    const enc = ((300n & 0xfffn) << 8n) | ((300n & ~0xfffn) << 32n) | (70000n & 0xffn) | ((70000n & ~0xffn) << 12n);
    expect(splitDev(enc)).toEqual({ major: 300, minor: 70000 });
  });
});

describe('copyTree as an unprivileged user', () => {
  const user = rootlessUser();

  /** A tree owned by the user with one device node only root could create. */
  function setup(): { src: string; dst: string } {
    const tmp = tempDir();
    const src = join(tmp, 'src');
    mkdirSync(join(src, 'dir'), { recursive: true });
    writeFileSync(join(src, 'dir', 'file'), 'content');
    mkdirSync(join(tmp, 'out'));
    for (const p of [src, join(src, 'dir'), join(src, 'dir', 'file'), join(tmp, 'out')]) {
      chownSync(p, user!.uid, user!.gid);
    }
    mknod(join(src, 'dir', 'null'), fsc.S_IFCHR | 0o666, 1, 3);
    return { src, dst: join(tmp, 'out', 'copy') };
  }

  it.skipIf(!user)('fails on a device node it cannot create, naming the path', () => {
    const { src, dst } = setup();
    const r = runTsAs(user!, fixture, ['copy', src, dst]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(join(dst, 'dir', 'null'));
    expect(r.stderr).toContain('EPERM');
  });

  it.skipIf(!user)('skips device nodes with ignoreDeviceErrors and copies the rest', () => {
    const { src, dst } = setup();
    const r = runTsAs(user!, fixture, ['copy', src, dst, '--ignore-device-errors']);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dst, 'dir', 'file'), 'utf8')).toBe('content');
    expect(() => lstatSync(join(dst, 'dir', 'null'))).toThrow(/ENOENT/);
    expect(statSync(join(dst, 'dir', 'file')).uid).toBe(user!.uid);
  });
});
