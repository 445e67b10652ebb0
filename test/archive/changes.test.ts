import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, linkSync, lutimesSync, mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { changesDirs, changesSize, exportChanges } from '../../src/archive/index.js';
import { lsetxattr, utimensat } from '../../src/native.js';
import type { Change } from '../../src/driver.js';
import { tempDir } from '../helpers/tmp.js';
import { collect, parseTar } from './fixtures/helpers.js';

const T0 = { sec: 1_600_000_000, nsec: 0 };

/** An "old" tree and a modified copy of it with one change of every kind. */
function trees(): { oldDir: string; newDir: string } {
  const base = tempDir();
  const oldDir = `${base}/old`;
  const newDir = `${base}/new`;
  mkdirSync(`${oldDir}/etc`, { recursive: true });
  for (const f of ['conf', 'keep', 'mode', 'owner', 'ns', 'touched']) writeFileSync(`${oldDir}/etc/${f}`, f[0]!);
  utimensat(`${oldDir}/etc/ns`, T0, { sec: 1_600_000_000, nsec: 123_456_789 });
  mkdirSync(`${oldDir}/var/cache/x`, { recursive: true });
  writeFileSync(`${oldDir}/var/cache/x/y`, 'y');
  mkdirSync(`${oldDir}/bin`);
  symlinkSync('target1', `${oldDir}/bin/link`);
  mkdirSync(`${oldDir}/data`);
  writeFileSync(`${oldDir}/data/xattr`, 'data');
  mkdirSync(`${oldDir}/same`);
  writeFileSync(`${oldDir}/same/file`, 'same');
  writeFileSync(`${oldDir}/swap`, 'file');
  execFileSync('cp', ['-a', oldDir, newDir]);

  writeFileSync(`${newDir}/etc/conf`, 'changed');
  chmodSync(`${newDir}/etc/mode`, 0o600);
  chownSync(`${newDir}/etc/owner`, 5, 5);
  // tar keeps whole seconds: the same second with the nanoseconds cut off is no change.
  utimensat(`${newDir}/etc/ns`, T0, { sec: 1_600_000_000, nsec: 0 });
  utimensat(`${newDir}/etc/touched`, T0, { sec: 1_700_000_000, nsec: 0 });
  rmSync(`${newDir}/var/cache`, { recursive: true });
  mkdirSync(`${newDir}/new/dir`, { recursive: true });
  writeFileSync(`${newDir}/new/dir/file`, 'new');
  unlinkSync(`${newDir}/bin/link`);
  symlinkSync('target2', `${newDir}/bin/link`);
  lsetxattr(`${newDir}/data/xattr`, 'user.tag', 'v');
  rmSync(`${newDir}/swap`);
  mkdirSync(`${newDir}/swap`);
  writeFileSync(`${newDir}/swap/in`, 'in');
  return { oldDir, newDir };
}

const list = (changes: Change[]): string[] => changes.map((c) => `${c.kind[0]!.toUpperCase()} ${c.path}`);

describe('changesDirs (naive differ)', () => {
  test('reports adds, modifies and deletes with containers/storage rules, sorted by path', async () => {
    const { oldDir, newDir } = trees();
    expect(list(await changesDirs(newDir, oldDir))).toEqual([
      'M /bin',
      'M /bin/link',
      'M /data',
      'M /data/xattr',
      'M /etc',
      'M /etc/conf',
      'M /etc/mode',
      'M /etc/owner',
      'M /etc/touched',
      'A /new',
      'A /new/dir',
      'A /new/dir/file',
      'M /swap',
      'A /swap/in',
      'M /var',
      'D /var/cache',
    ]);
  });

  test('with no old directory everything is an add', async () => {
    const { oldDir } = trees();
    const changes = await changesDirs(oldDir, '');
    expect(changes.every((c) => c.kind === 'add')).toBe(true);
    expect(changes.map((c) => c.path)).toContain('/var/cache/x/y');
    expect(changes).toHaveLength(18);
  });

  test('identical trees have no changes', async () => {
    const { oldDir } = trees();
    const copy = `${tempDir()}/copy`;
    execFileSync('cp', ['-a', oldDir, copy]);
    expect(await changesDirs(copy, oldDir)).toEqual([]);
  });

  test('a directory whose mtime alone changed is no change; a file whose mtime changed is', async () => {
    const { oldDir } = trees();
    const copy = `${tempDir()}/copy`;
    execFileSync('cp', ['-a', oldDir, copy]);
    // containers/storage's statDifferent: a directory's mtime moves with its entries, which are compared themselves.
    utimensat(`${copy}/same`, T0, { sec: 1_700_000_000, nsec: 0 });
    expect(await changesDirs(copy, oldDir)).toEqual([]);
    utimensat(`${copy}/same/file`, T0, { sec: 1_700_000_000, nsec: 0 });
    expect(list(await changesDirs(copy, oldDir))).toEqual(['M /same', 'M /same/file']);
  });
});

describe('exportChanges and changesSize', () => {
  test('exports changes sorted, deletes as .wh. entries, the same bytes every time', async () => {
    const { oldDir, newDir } = trees();
    const changes = await changesDirs(newDir, oldDir);
    const tar = await collect(exportChanges(newDir, [...changes].reverse()));
    expect((await collect(exportChanges(newDir, changes))).equals(tar)).toBe(true);
    const entries = await parseTar(tar);
    expect(entries.map((e) => e.name)).toEqual([
      'bin/',
      'bin/link',
      'data/',
      'data/xattr',
      'etc/',
      'etc/conf',
      'etc/mode',
      'etc/owner',
      'etc/touched',
      'new/',
      'new/dir/',
      'new/dir/file',
      'swap/',
      'swap/in',
      'var/',
      'var/.wh.cache',
    ]);
    expect(entries.at(-1)).toMatchObject({ type: 'file', mode: 0, size: 0, mtime: 0, uid: 0 });
    expect(entries.find((e) => e.name === 'data/xattr')!.pax).toEqual({ 'SCHILY.xattr.user.tag': 'v' });
  });

  test('changesSize counts added and modified non-directories once per inode', async () => {
    const { oldDir, newDir } = trees();
    writeFileSync(`${newDir}/new/h1`, '12345');
    linkSync(`${newDir}/new/h1`, `${newDir}/new/h2`);
    lutimesSync(`${newDir}/new`, 1, 1);
    const changes = await changesDirs(newDir, oldDir);
    expect(list(changes)).toEqual(expect.arrayContaining(['A /new/h1', 'A /new/h2']));
    // conf 7 + mode 1 + owner 1 + touched 1 + link target 7 + xattr 4 + new/dir/file 3 + swap/in 2 + h1 5
    expect(await changesSize(newDir, changes)).toBe(31);
    expect(await changesSize(newDir, [{ path: '/var/cache', kind: 'delete' }, { path: '/vanished', kind: 'add' }])).toBe(0);
  });
});
