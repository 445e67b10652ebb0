import { chmodSync, chownSync, linkSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, test } from 'vitest';
import { OVERRIDE_STAT_XATTR, tarDirectory } from '../../src/archive/index.js';
import { lsetxattr, mknod, utimensat } from '../../src/native.js';
import { tempDir } from '../helpers/tmp.js';
import { collect, parseTar } from './fixtures/helpers.js';

function tree(): string {
  const root = `${tempDir()}/tree`;
  mkdirSync(`${root}/a/b`, { recursive: true });
  writeFileSync(`${root}/a.txt`, 'sibling');
  writeFileSync(`${root}/a/b/file`, 'content');
  writeFileSync(`${root}/b`, 'bee');
  symlinkSync('a/b/file', `${root}/link`);
  linkSync(`${root}/a/b/file`, `${root}/z-hard`);
  mknod(`${root}/tty`, 0o20620, 4, 1);
  chmodSync(`${root}/tty`, 0o620);
  utimensat(`${root}/a/b/file`, { sec: 1_600_000_000, nsec: 0 }, { sec: 1_600_000_123, nsec: 987_654_321 });
  return root;
}

describe('tarDirectory', () => {
  test('the same tree always gives the same bytes (reads and ctime changes do not matter)', async () => {
    const root = tree();
    const first = await collect(tarDirectory(root));
    readFileSync(`${root}/b`);
    chmodSync(`${root}/b`, 0o644);
    const second = await collect(tarDirectory(root));
    expect(second.equals(first)).toBe(true);
    writeFileSync(`${root}/b`, 'changed');
    expect((await collect(tarDirectory(root))).equals(first)).toBe(false);
  });

  test('walks like Go (a directory, then its contents) with containers/storage header conventions', async () => {
    const root = tree();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(`${root}/socket`, resolve));
    try {
      const entries = await parseTar(await collect(tarDirectory(root)));
      expect(entries.map((e) => e.name)).toEqual(['a/', 'a/b/', 'a/b/file', 'a.txt', 'b', 'link', 'tty', 'z-hard']);
      const byName = new Map(entries.map((e) => [e.name, e]));
      expect(byName.get('a/b/file')).toMatchObject({ type: 'file', size: 7, mtime: 1_600_000_123, mode: 0o644 });
      expect(byName.get('link')).toMatchObject({ type: 'symlink', linkname: 'a/b/file' });
      expect(byName.get('z-hard')).toMatchObject({ type: 'link', linkname: 'a/b/file', size: 0 });
      expect(byName.get('tty')).toMatchObject({ type: 'character-device', devmajor: 4, devminor: 1, mode: 0o620 });
    } finally {
      server.close();
    }
  });

  test('overlay: whiteout devices become .wh. entries and opaque dirs a marker when a lower has them', async () => {
    const base = tempDir();
    const [upper, lower] = [`${base}/upper`, `${base}/lower`];
    mkdirSync(`${lower}/replaced`, { recursive: true });
    writeFileSync(`${lower}/replaced/old`, 'old');
    mkdirSync(`${upper}/replaced`, { recursive: true });
    mkdirSync(`${upper}/brand-new`);
    lsetxattr(`${upper}/replaced`, 'trusted.overlay.opaque', 'y');
    lsetxattr(`${upper}/brand-new`, 'user.overlay.opaque', 'y');
    writeFileSync(`${upper}/replaced/new`, 'new');
    mknod(`${upper}/gone`, 0o20000, 0, 0);
    chownSync(`${upper}/gone`, 7, 7);
    writeFileSync(`${upper}/file`, 'x');
    for (const [name, value] of [
      ['trusted.overlay.origin', 'o'],
      ['user.overlay.impure', 'y'],
      ['user.fuseoverlayfs.origin', 'o'],
      [OVERRIDE_STAT_XATTR, 'garbage'],
      ['user.kept', 'yes'],
    ]) {
      lsetxattr(`${upper}/file`, name!, value!);
    }
    const entries = await parseTar(await collect(tarDirectory(upper, { overlay: true, lowerDirs: [lower] })));
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ['brand-new/', 'directory'],
      ['file', 'file'],
      ['.wh.gone', 'file'],
      ['replaced/', 'directory'],
      ['replaced/.wh..wh..opq', 'file'],
      ['replaced/new', 'file'],
    ]);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('.wh.gone')).toMatchObject({ mode: 0, uid: 7, gid: 7, size: 0 });
    expect(byName.get('replaced/.wh..wh..opq')).toMatchObject({ mode: 0o755, mtime: 0, size: 0 });
    expect(Object.keys(byName.get('file')!.pax)).toEqual(['SCHILY.xattr.user.kept']);
    for (const e of entries) expect(Object.keys(e.pax).some((k) => /overlay|fuseoverlayfs|override_stat/.test(k))).toBe(false);
  });

  test('maps owners back to container IDs, and fails the stream for an unmappable owner', async () => {
    const root = `${tempDir()}/t`;
    mkdirSync(root);
    writeFileSync(`${root}/f`, 'x');
    chownSync(root, 100_000, 100_000);
    chownSync(`${root}/f`, 100_005, 100_006);
    const idMappings = { uidMap: [{ containerID: 0, hostID: 100_000, size: 1000 }], gidMap: [{ containerID: 0, hostID: 100_000, size: 1000 }] };
    const [f] = await parseTar(await collect(tarDirectory(root, { idMappings })));
    expect([f!.uid, f!.gid]).toEqual([5, 6]);
    writeFileSync(`${root}/stranger`, 'x');
    chownSync(`${root}/stranger`, 4242, 4242);
    await expect(collect(tarDirectory(root, { idMappings }))).rejects.toThrow(/"stranger": owner 4242:4242 is outside the ID mappings/);
  });

  test('files stored under a forced mask are archived with their real owner, mode and type', async () => {
    const root = `${tempDir()}/t`;
    mkdirSync(root);
    writeFileSync(`${root}/su`, 'x');
    writeFileSync(`${root}/dev`, '');
    lsetxattr(`${root}/su`, OVERRIDE_STAT_XATTR, '1000:1001:4755:file');
    lsetxattr(`${root}/dev`, OVERRIDE_STAT_XATTR, '0:5:0620:char-4-2');
    utimesSync(`${root}/dev`, 1, 1);
    const [dev, su] = await parseTar(await collect(tarDirectory(root)));
    expect(su).toMatchObject({ name: 'su', uid: 1000, gid: 1001, mode: 0o4755, type: 'file' });
    expect(dev).toMatchObject({ name: 'dev', gid: 5, mode: 0o620, type: 'character-device', devmajor: 4, devminor: 2 });
  });
});
