import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { applyLayer, OVERRIDE_STAT_XATTR } from '../../src/archive/index.js';
import { ErrInvalidArchive, ErrInvalidOption, is } from '../../src/errors.js';
import { lgetxattr, lgetxattrOptional, llistxattr } from '../../src/native.js';
import { tempDir } from '../helpers/tmp.js';
import { apply, CAP_SETUID_SETGID } from './fixtures/helpers.js';
import { buildTar, type RawEntry } from './fixtures/tar-builder.js';

function dest(): string {
  const dir = `${tempDir()}/layer`;
  mkdirSync(dir);
  return dir;
}

const everyType: RawEntry[] = [
  { name: 'tmp/', type: '5', mode: 0o1777 },
  { name: 'srv/', type: '5', mode: 0o2775, uid: 33, gid: 33 },
  { name: 'usr/bin/helper', body: 'elf', mode: 0o4755, uid: 1000, gid: 2000, pax: { 'SCHILY.xattr.security.capability': CAP_SETUID_SETGID, 'SCHILY.xattr.user.origin': 'image' } },
  { name: 'usr/bin/alias', type: '2', linkname: 'helper', uid: 7, gid: 8 },
  { name: 'usr/bin/twin', type: '1', linkname: 'usr/bin/helper', mode: 0o4755, uid: 1000, gid: 2000 },
  { name: 'dev/null', type: '3', mode: 0o666, devmajor: 1, devminor: 3 },
  { name: 'dev/sda', type: '4', mode: 0o660, devmajor: 8, devminor: 0, gid: 6 },
  { name: 'run/pipe', type: '6', mode: 0o600 },
];

describe('applyLayer', () => {
  test('unpacks every entry type with its mode, owner, device numbers and xattrs', async () => {
    const d = dest();
    await apply(d, buildTar(everyType), { whiteoutFormat: 'overlay' });
    const mode = (p: string): number => lstatSync(`${d}/${p}`).mode;
    expect(mode('tmp') & 0o7777).toBe(0o1777);
    expect(mode('srv') & 0o7777).toBe(0o2775);
    expect([lstatSync(`${d}/srv`).uid, lstatSync(`${d}/srv`).gid]).toEqual([33, 33]);
    const helper = lstatSync(`${d}/usr/bin/helper`);
    expect([helper.mode & 0o7777, helper.uid, helper.gid, helper.nlink]).toEqual([0o4755, 1000, 2000, 2]);
    expect(readFileSync(`${d}/usr/bin/helper`, 'utf8')).toBe('elf');
    // The capability survives the chown and chmod that follow it in the unpacker.
    expect(lgetxattr(`${d}/usr/bin/helper`, 'security.capability').equals(CAP_SETUID_SETGID)).toBe(true);
    expect(lgetxattr(`${d}/usr/bin/helper`, 'user.origin').toString()).toBe('image');
    expect(lstatSync(`${d}/usr/bin/twin`).ino).toBe(helper.ino);
    expect(readlinkSync(`${d}/usr/bin/alias`)).toBe('helper');
    expect([lstatSync(`${d}/usr/bin/alias`).uid, lstatSync(`${d}/usr/bin/alias`).gid]).toEqual([7, 8]);
    const nul = lstatSync(`${d}/dev/null`);
    expect([nul.isCharacterDevice(), nul.rdev, nul.mode & 0o7777]).toEqual([true, 0x103, 0o666]);
    const sda = lstatSync(`${d}/dev/sda`);
    expect([sda.isBlockDevice(), sda.rdev, sda.gid]).toEqual([true, 0x800, 6]);
    expect(lstatSync(`${d}/run/pipe`).isFIFO()).toBe(true);
    // Parents the archive leaves out are created 0755.
    expect(mode('usr') & 0o7777).toBe(0o755);
  });

  test('restores nanosecond mtimes, on symlinks too, and directory times after their children', async () => {
    const d = dest();
    const tar = buildTar([
      { name: 'dir/', type: '5', pax: { mtime: '1500000000.123456789' } },
      { name: 'dir/file', body: 'x', pax: { mtime: '1400000000.5' } },
      { name: 'dir/link', type: '2', linkname: 'file', pax: { mtime: '1300000000.25' } },
      { name: 'dir/sub/', type: '5', mtime: 1_200_000_000 },
      { name: 'dir/sub/late', body: 'y' },
    ]);
    await apply(d, tar, { whiteoutFormat: 'overlay' });
    const ns = (p: string): bigint => lstatSync(`${d}/${p}`, { bigint: true }).mtimeNs;
    expect(ns('dir')).toBe(1_500_000_000_123_456_789n);
    expect(ns('dir/file')).toBe(1_400_000_000_500_000_000n);
    expect(ns('dir/link')).toBe(1_300_000_000_250_000_000n);
    expect(ns('dir/sub')).toBe(1_200_000_000_000_000_000n);
    expect(ns('dir/sub/late')).toBe(1_600_000_000_000_000_000n);
  });

  test('returns the bytes of regular file content, as containers/storage', async () => {
    const tar = buildTar([{ name: 'a', body: 'x'.repeat(1000) }, { name: 'b', body: 'y'.repeat(24) }, { name: 'l', type: '2', linkname: 'a' }, { name: 'h', type: '1', linkname: 'a' }]);
    expect(await apply(dest(), tar, { whiteoutFormat: 'naive' })).toBe(1024);
  });

  test('maps owners through ID mappings, and refuses owners outside them', async () => {
    const idMappings = { uidMap: [{ containerID: 0, hostID: 100_000, size: 65_536 }], gidMap: [{ containerID: 0, hostID: 200_000, size: 65_536 }] };
    const d = dest();
    await apply(d, buildTar([{ name: 'home/user/file', body: 'x', uid: 1000, gid: 1001 }]), { whiteoutFormat: 'overlay', idMappings });
    const st = lstatSync(`${d}/home/user/file`);
    expect([st.uid, st.gid]).toEqual([101_000, 201_001]);
    // Directories the archive implies are owned by the mapped root.
    expect([lstatSync(`${d}/home`).uid, lstatSync(`${d}/home`).gid]).toEqual([100_000, 200_000]);
    const err = await apply(dest(), buildTar([{ name: 'far', uid: 70_000 }]), { whiteoutFormat: 'overlay', idMappings }).catch((e: unknown) => e);
    expect(is(err, ErrInvalidArchive)).toBe(true);
    expect((err as Error).message).toMatch(/entry "far": owner 70000:0 is outside the layer's ID mappings/);
  });

  test('forceMask stores the real owner, mode and type in user.containers.override_stat', async () => {
    const d = dest();
    await apply(d, buildTar([{ name: './', type: '5', mode: 0o750, uid: 5, gid: 6 }, ...everyType]), { whiteoutFormat: 'overlay', forceMask: 0o700 });
    const override = (p: string): string | undefined => lgetxattrOptional(`${d}/${p}`, OVERRIDE_STAT_XATTR)?.toString();
    expect(override('usr/bin/helper')).toBe('1000:2000:4755:file');
    expect(override('srv')).toBe('33:33:2775:dir');
    expect(override('dev/null')).toBe('0:0:0666:char-1-3');
    expect(override('dev/sda')).toBe('0:6:0660:block-8-0');
    expect(override('run/pipe')).toBe('0:0:0600:pipe');
    expect(override('')).toBe('5:6:0750:dir');
    // Devices and fifos become plain files; everything gets the mask and the caller's ownership.
    const sda = lstatSync(`${d}/dev/sda`);
    expect([sda.isFile(), sda.mode & 0o7777, sda.uid]).toEqual([true, 0o700, 0]);
    expect(lstatSync(`${d}/usr/bin/helper`).mode & 0o7777).toBe(0o700);
    expect(llistxattr(`${d}/usr/bin/alias`)).toEqual([]);
  });

  test('replaces existing entries but merges into existing directories', async () => {
    const d = dest();
    mkdirSync(`${d}/keep`);
    writeFileSync(`${d}/keep/old`, 'old');
    writeFileSync(`${d}/was-file`, 'file');
    mkdirSync(`${d}/was-dir/deep`, { recursive: true });
    symlinkSync('/nowhere', `${d}/was-link`);
    const tar = buildTar([
      { name: 'keep/', type: '5', mode: 0o700 },
      { name: 'keep/new', body: 'new' },
      { name: 'was-file', type: '2', linkname: 'keep' },
      { name: 'was-dir', body: 'now a file' },
      { name: 'was-link/', type: '5' },
    ]);
    await apply(d, tar, { whiteoutFormat: 'naive' });
    expect(readFileSync(`${d}/keep/old`, 'utf8')).toBe('old');
    expect(lstatSync(`${d}/keep`).mode & 0o777).toBe(0o700);
    expect(readlinkSync(`${d}/was-file`)).toBe('keep');
    expect(readFileSync(`${d}/was-dir`, 'utf8')).toBe('now a file');
    expect(lstatSync(`${d}/was-link`).isDirectory()).toBe(true);
  });

  test('the root entry: naive applies its metadata, overlay and aufs leave the target root alone', async () => {
    const root = buildTar([{ name: './', type: '5', mode: 0o711, uid: 9, gid: 9 }]);
    const naive = dest();
    await apply(naive, root, { whiteoutFormat: 'naive' });
    expect([lstatSync(naive).mode & 0o7777, lstatSync(naive).uid]).toEqual([0o711, 9]);
    const overlay = dest();
    await apply(overlay, root, { whiteoutFormat: 'overlay' });
    expect([lstatSync(overlay).mode & 0o7777, lstatSync(overlay).uid]).toEqual([0o755, 0]);
  });

  test('applies gzip and zstd layers and reads the input to its end', async () => {
    const tar = buildTar([{ name: 'hello', body: 'world' }]);
    const padded = Buffer.concat([tar, Buffer.alloc(8192)]);
    for (const data of [padded, gzipSync(padded), execFileSync('zstd', ['-q', '-c'], { input: padded })]) {
      const d = dest();
      const input = Readable.from([data.subarray(0, 10), data.subarray(10)], { objectMode: false });
      await applyLayer(d, input, { whiteoutFormat: 'overlay' });
      expect(readFileSync(`${d}/hello`, 'utf8')).toBe('world');
      expect(input.readableEnded).toBe(true);
    }
  });

  test('inUserNS skips character and block devices, as containers/storage does rootless', async () => {
    const d = dest();
    await apply(d, buildTar(everyType), { whiteoutFormat: 'overlay', inUserNS: true });
    expect(() => lstatSync(`${d}/dev/null`)).toThrow(/ENOENT/);
    expect(() => lstatSync(`${d}/dev/sda`)).toThrow(/ENOENT/);
    expect(lstatSync(`${d}/run/pipe`).isFIFO()).toBe(true);
  });

  test('never applies security.selinux or storage-internal xattrs from a layer', async () => {
    const d = dest();
    const pax = {
      'SCHILY.xattr.trusted.overlay.redirect': '/etc',
      'SCHILY.xattr.trusted.overlay.opaque': 'y',
      'SCHILY.xattr.user.overlay.metacopy': '',
      'SCHILY.xattr.user.fuseoverlayfs.opaque': 'y',
      'SCHILY.xattr.user.containers.override_stat': '0:0:4755:file',
      'SCHILY.xattr.security.selinux': 'system_u:object_r:shadow_t:s0',
      'SCHILY.xattr.user.kept': 'yes',
    };
    await apply(d, buildTar([{ name: 'dir/', type: '5', pax }, { name: 'file', body: 'x', pax }]), { whiteoutFormat: 'overlay' });
    for (const p of ['dir', 'file']) {
      expect(llistxattr(`${d}/${p}`).filter((n) => !n.startsWith('security.selinux'))).toEqual(['user.kept']);
    }
  });

  test('rejects bad options before reading anything', async () => {
    const err1 = await apply(dest(), buildTar([]), { whiteoutFormat: 'zfs' as never }).catch((e: unknown) => e);
    expect(is(err1, ErrInvalidOption)).toBe(true);
    const err2 = await apply(dest(), buildTar([]), { whiteoutFormat: 'naive', forceMask: 0o17777 }).catch((e: unknown) => e);
    expect(is(err2, ErrInvalidOption)).toBe(true);
    const err3 = await apply(`${tempDir()}/missing`, buildTar([]), { whiteoutFormat: 'naive' }).catch((e: unknown) => e);
    expect((err3 as Error).message).toMatch(/is not a directory/);
  });
});
