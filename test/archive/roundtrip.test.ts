import { chmodSync, chownSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { tarDirectory, type WhiteoutFormat } from '../../src/archive/index.js';
import { lsetxattr, mknod, utimensat } from '../../src/native.js';
import { tempDir } from '../helpers/tmp.js';
import { apply, CAP_SETUID_SETGID, collect, parseTar } from './fixtures/helpers.js';
import { buildTar } from './fixtures/tar-builder.js';

/** A tree with one of everything a layer can hold. */
function richTree(root: string): void {
  mkdirSync(`${root}/usr/bin`, { recursive: true });
  mkdirSync(`${root}/tmp`);
  chmodSync(`${root}/tmp`, 0o1777);
  writeFileSync(`${root}/usr/bin/su`, 'setuid');
  chownSync(`${root}/usr/bin/su`, 0, 5);
  chmodSync(`${root}/usr/bin/su`, 0o4750);
  lsetxattr(`${root}/usr/bin/su`, 'security.capability', CAP_SETUID_SETGID);
  lsetxattr(`${root}/usr/bin/su`, 'user.comment', Buffer.from([0, 1, 2, 255]));
  linkSync(`${root}/usr/bin/su`, `${root}/usr/bin/su-again`);
  symlinkSync('su', `${root}/usr/bin/sudo`);
  writeFileSync(`${root}/${'long-'.repeat(30)}name`, 'long');
  writeFileSync(`${root}/ünïcödé`, 'utf-8');
  writeFileSync(`${root}/big`, Buffer.alloc(3 * 1024 * 1024 + 17, 0x5a));
  mknod(`${root}/null`, 0o20666, 1, 3);
  mknod(`${root}/fifo`, 0o10600, 0, 0);
  chownSync(`${root}/fifo`, 1234, 5678);
  utimensat(`${root}/usr/bin/su`, { sec: 1, nsec: 0 }, { sec: 1_234_567_890, nsec: 0 });
}

describe('round trips', () => {
  for (const format of ['naive', 'overlay', 'aufs'] as WhiteoutFormat[]) {
    test(`${format}: tar → applyLayer → tarDirectory gives back the same bytes`, async () => {
      const base = tempDir();
      richTree(`${base}/src`);
      const first = await collect(tarDirectory(`${base}/src`));
      mkdirSync(`${base}/dst`);
      await apply(`${base}/dst`, first, { whiteoutFormat: format }, 4096);
      const second = await collect(tarDirectory(`${base}/dst`));
      expect(second.equals(first)).toBe(true);
      expect((await parseTar(first)).length).toBe(11);
    });
  }

  test('a foreign tar (any order, implied parents) comes back with the same entries', async () => {
    const tar = buildTar([
      { name: 'b/file', body: 'b', mtime: 1_000, uid: 3 },
      { name: 'a/', type: '5', mode: 0o700, mtime: 2_000 },
      { name: 'b/', type: '5', mode: 0o750, mtime: 3_000 },
      { name: 'a/link', type: '2', linkname: '../b/file', mode: 0o777, mtime: 4_000 },
      { name: 'c', body: 'c', mtime: 5_000, pax: { 'SCHILY.xattr.user.x': 'y' } },
    ]);
    const dest = `${tempDir()}/d`;
    mkdirSync(dest);
    await apply(dest, tar, { whiteoutFormat: 'naive' });
    const strip = (entries: Awaited<ReturnType<typeof parseTar>>): unknown[] =>
      entries.map(({ name, type, mode, uid, gid, size, mtime, linkname, sha }) => ({ name, type, mode, uid, gid, size, mtime, linkname, sha })).sort((x, y) => (x.name < y.name ? -1 : 1));
    expect(strip(await parseTar(await collect(tarDirectory(dest))))).toEqual(strip(await parseTar(tar)));
  });

  test('overlay and AUFS whiteout formats convert both ways', async () => {
    const base = tempDir();
    const [lower, upper] = [`${base}/lower`, `${base}/upper`];
    mkdirSync(`${lower}/etc/conf.d`, { recursive: true });
    writeFileSync(`${lower}/etc/conf.d/old`, 'old');
    writeFileSync(`${lower}/etc/passwd`, 'root');
    mkdirSync(`${upper}/etc/conf.d`, { recursive: true });
    lsetxattr(`${upper}/etc/conf.d`, 'trusted.overlay.opaque', 'y');
    writeFileSync(`${upper}/etc/conf.d/new`, 'new');
    mknod(`${upper}/etc/passwd`, 0o20000, 0, 0);
    chownSync(`${upper}/etc/passwd`, 3, 4);
    utimensat(`${upper}/etc/passwd`, { sec: 7, nsec: 0 }, { sec: 1_111_111_111, nsec: 0 });
    const fromOverlay = await collect(tarDirectory(upper, { overlay: true, lowerDirs: [lower] }));
    expect((await parseTar(fromOverlay)).map((e) => e.name)).toEqual(['etc/', 'etc/conf.d/', 'etc/conf.d/.wh..wh..opq', 'etc/conf.d/new', 'etc/.wh.passwd']);

    // overlay → AUFS: the whiteouts land as files, and archiving them plainly gives the same
    // entries (in on-disk name order, so `.wh.passwd` now sorts before `conf.d`).
    const aufs = `${base}/aufs`;
    mkdirSync(aufs);
    await apply(aufs, fromOverlay, { whiteoutFormat: 'aufs' });
    const fromAufs = await collect(tarDirectory(aufs));
    const byName = (es: Awaited<ReturnType<typeof parseTar>>): typeof es => [...es].sort((x, y) => (x.name < y.name ? -1 : 1));
    expect(byName(await parseTar(fromAufs))).toEqual(byName(await parseTar(fromOverlay)));

    // AUFS → overlay: applying that tar in the overlay format gives back devices and xattrs.
    const upper2 = `${base}/upper2`;
    mkdirSync(upper2);
    await apply(upper2, fromAufs, { whiteoutFormat: 'overlay' });
    expect((await collect(tarDirectory(upper2, { overlay: true, lowerDirs: [lower] }))).equals(fromOverlay)).toBe(true);
  });
});
