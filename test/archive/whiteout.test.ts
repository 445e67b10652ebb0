import { existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  isInternalXattr,
  isOpaqueDir,
  isWhiteoutDevice,
  opaqueXattrName,
  whitedOutName,
  whiteoutName,
  type WhiteoutFormat,
} from '../../src/archive/index.js';
import { lgetxattrOptional, lsetxattr, mknod } from '../../src/native.js';
import { tempDir } from '../helpers/tmp.js';
import { apply } from './fixtures/helpers.js';
import { buildTar } from './fixtures/tar-builder.js';

function dest(): string {
  const dir = `${tempDir()}/layer`;
  mkdirSync(dir);
  return dir;
}

const deletions = buildTar([
  { name: '.wh.gone', uid: 12, gid: 34 },
  { name: 'etc/', type: '5' },
  { name: 'etc/.wh..wh..opq' },
  { name: 'etc/fresh', body: 'new' },
]);

describe('whiteout formats', () => {
  test('overlay: .wh.NAME becomes a 0/0 device, .wh..wh..opq the opaque xattr', async () => {
    const d = dest();
    await apply(d, deletions, { whiteoutFormat: 'overlay' });
    const gone = lstatSync(`${d}/gone`);
    expect(isWhiteoutDevice(gone)).toBe(true);
    expect([gone.uid, gone.gid]).toEqual([12, 34]);
    expect(lgetxattrOptional(`${d}/etc`, 'trusted.overlay.opaque')?.toString()).toBe('y');
    expect(readdirSync(d).sort()).toEqual(['etc', 'gone']);
    expect(readdirSync(`${d}/etc`)).toEqual(['fresh']);
  });

  test('overlay with userXattr marks opaque directories with user.overlay.opaque', async () => {
    const d = dest();
    await apply(d, deletions, { whiteoutFormat: 'overlay', userXattr: true });
    expect(lgetxattrOptional(`${d}/etc`, 'user.overlay.opaque')?.toString()).toBe('y');
    expect(lgetxattrOptional(`${d}/etc`, 'trusted.overlay.opaque')).toBeUndefined();
  });

  test('aufs: whiteouts are written literally as files', async () => {
    const d = dest();
    await apply(d, deletions, { whiteoutFormat: 'aufs' });
    expect(lstatSync(`${d}/.wh.gone`).isFile()).toBe(true);
    expect(lstatSync(`${d}/etc/.wh..wh..opq`).isFile()).toBe(true);
    expect(existsSync(`${d}/gone`)).toBe(false);
  });

  test('naive: .wh.NAME deletes NAME; the opaque marker deletes what the layer did not unpack', async () => {
    const d = dest();
    mkdirSync(`${d}/gone/deep`, { recursive: true });
    writeFileSync(`${d}/gone/deep/file`, 'x');
    mkdirSync(`${d}/etc/old.d`, { recursive: true });
    writeFileSync(`${d}/etc/passwd`, 'root');
    writeFileSync(`${d}/etc/old.d/conf`, 'x');
    writeFileSync(`${d}/etc/fresh`, 'replaced by the layer');
    const tar = buildTar([
      { name: '.wh.gone' },
      { name: 'etc/', type: '5' },
      { name: 'etc/early', body: 'unpacked before the marker' },
      { name: 'etc/.wh..wh..opq' },
      { name: 'etc/fresh', body: 'new' },
    ]);
    await apply(d, tar, { whiteoutFormat: 'naive' });
    expect(existsSync(`${d}/gone`)).toBe(false);
    expect(readdirSync(`${d}/etc`).sort()).toEqual(['early', 'fresh']);
  });

  for (const format of ['overlay', 'aufs', 'naive'] as WhiteoutFormat[]) {
    test(`${format}: nested whiteouts (.wh.foo then foo/.wh.bar) apply without recreating foo`, async () => {
      const d = dest();
      if (format === 'naive') {
        mkdirSync(`${d}/foo`);
        writeFileSync(`${d}/foo/bar`, 'x');
      }
      await apply(d, buildTar([{ name: '.wh.foo' }, { name: 'foo/.wh.bar' }, { name: 'foo/.wh..wh..opq' }]), { whiteoutFormat: format });
      const names = readdirSync(d);
      if (format === 'overlay') {
        expect(names).toEqual(['foo']);
        expect(isWhiteoutDevice(lstatSync(`${d}/foo`))).toBe(true);
      } else if (format === 'aufs') expect(names).toEqual(['.wh.foo']);
      else expect(names).toEqual([]);
    });
  }

  test('a whiteout for something the same layer creates is refused in the overlay format', async () => {
    const err = await apply(dest(), buildTar([{ name: 'x', body: 'x' }, { name: '.wh.x' }]), { whiteoutFormat: 'overlay' }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/whiteout "\.wh\.x" deletes "x", which the same layer creates/);
  });

  test('AUFS metadata entries (.wh..wh.plnk…) are never unpacked except in the aufs format', async () => {
    const tar = buildTar([{ name: '.wh..wh.plnk/', type: '5' }, { name: '.wh..wh.plnk/123.456', body: 'x' }, { name: 'real', body: 'y' }]);
    for (const format of ['overlay', 'naive'] as WhiteoutFormat[]) {
      const d = dest();
      await apply(d, tar, { whiteoutFormat: format });
      expect(readdirSync(d)).toEqual(['real']);
    }
  });
});

describe('whiteout vocabulary', () => {
  test('names and devices', () => {
    expect(whiteoutName('foo')).toBe('.wh.foo');
    expect(whitedOutName('.wh.foo')).toBe('foo');
    expect(whitedOutName('.wh..wh..opq')).toBeUndefined();
    expect(whitedOutName('foo')).toBeUndefined();
    const d = dest();
    mknod(`${d}/wo`, 0o20000, 0, 0);
    mknod(`${d}/null`, 0o20666, 1, 3);
    writeFileSync(`${d}/file`, '');
    expect(isWhiteoutDevice(lstatSync(`${d}/wo`))).toBe(true);
    expect(isWhiteoutDevice(lstatSync(`${d}/wo`, { bigint: true }))).toBe(true);
    expect(isWhiteoutDevice(lstatSync(`${d}/null`))).toBe(false);
    expect(isWhiteoutDevice(lstatSync(`${d}/file`))).toBe(false);
  });

  test('isOpaqueDir reads all four opaque forms and nothing else', () => {
    const d = dest();
    const forms: Array<[string, () => void]> = [
      ['trusted', () => lsetxattr(`${d}/trusted`, 'trusted.overlay.opaque', 'y')],
      ['user', () => lsetxattr(`${d}/user`, 'user.overlay.opaque', 'y')],
      ['fuse', () => lsetxattr(`${d}/fuse`, 'user.fuseoverlayfs.opaque', 'y')],
      ['marker', () => writeFileSync(`${d}/marker/.wh..wh..opq`, '')],
      ['x-value', () => lsetxattr(`${d}/x-value`, 'trusted.overlay.opaque', 'x')],
      ['plain', () => undefined],
    ];
    for (const [name, make] of forms) {
      mkdirSync(`${d}/${name}`);
      make();
    }
    expect(forms.map(([n]) => [n, isOpaqueDir(`${d}/${n}`)])).toEqual([
      ['trusted', true],
      ['user', true],
      ['fuse', true],
      ['marker', true],
      ['x-value', false],
      ['plain', false],
    ]);
  });

  test('internal xattrs and the opaque xattr name', () => {
    for (const n of ['trusted.overlay.opaque', 'trusted.overlay.redirect', 'user.overlay.origin', 'user.fuseoverlayfs.opaque', 'user.containers.override_stat']) {
      expect(isInternalXattr(n), n).toBe(true);
    }
    for (const n of ['user.mime_type', 'security.capability', 'trusted.other', 'user.overlayish']) expect(isInternalXattr(n), n).toBe(false);
    expect(opaqueXattrName(false)).toBe('trusted.overlay.opaque');
    expect(opaqueXattrName(true)).toBe('user.overlay.opaque');
  });
});
