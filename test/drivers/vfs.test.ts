import { chownSync, linkSync, lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/drivers.js';
import { parseVfsOptions } from '../../drivers/vfs/options.js';
import type { Driver } from '../../src/driver.js';
import { ErrDuplicateID, ErrInvalidOption, ErrLayerUnknown, is } from '../../src/errors.js';
import { backingFsName } from '../../src/fs/backing-fs.js';
import { registry } from '../../src/registry.js';
import { rootlessUser, runTsAs } from '../helpers/rootless.js';
import { tempDir } from '../helpers/tmp.js';
import { populateRichTree } from '../fs/rich-tree.js';
import { snapshotTree } from '../fs/tree-snapshot.js';

const fixture = join(import.meta.dirname, 'fixtures', 'vfs-rootless.ts');

async function newVfs(driverOptions: string[] = []): Promise<{ driver: Driver; root: string }> {
  const root = join(tempDir(), 'graph');
  const driver = await registry.getDriver('vfs', { root, driverOptions });
  return { driver, root };
}

/** Resolves to the error a promise rejects with; fails the test when it resolves. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('vfs init and options', () => {
  it('makes <root>/vfs and <root>/vfs/dir mode 0700 and reports the backing filesystem', async () => {
    const { driver, root } = await newVfs();
    expect(driver.home).toBe(join(root, 'vfs'));
    expect(statSync(driver.home).mode & 0o7777).toBe(0o700);
    expect(statSync(join(driver.home, 'dir')).mode & 0o7777).toBe(0o700);
    expect(await driver.status()).toEqual([['Backing Filesystem', backingFsName(driver.home)]]);
    expect(await driver.listLayers()).toEqual([]);
  });

  it('names backing filesystems as the Go driver does', () => {
    expect(backingFsName('/dev/shm')).toBe('tmpfs');
    expect(backingFsName('/proc')).toBe('<unknown>');
  });

  it('accepts ignore_chown_errors with the vfs. prefix, a bare dot, or none, in any case', () => {
    expect(parseVfsOptions(['vfs.ignore_chown_errors=true'])).toEqual({ ignoreChownErrors: true });
    expect(parseVfsOptions(['.ignore_chown_errors=1'])).toEqual({ ignoreChownErrors: true });
    expect(parseVfsOptions(['ignore_chown_errors=TRUE'])).toEqual({ ignoreChownErrors: true });
    expect(parseVfsOptions(['VFS.Ignore_Chown_Errors=f'])).toEqual({ ignoreChownErrors: false });
    expect(parseVfsOptions(['vfs.ignore_chown_errors=true', 'vfs.ignore_chown_errors=false'])).toEqual({
      ignoreChownErrors: false,
    });
  });

  it("ignores options addressed to another driver: newDriver offers one list to every candidate", () => {
    expect(parseVfsOptions(['overlay.mountopt=nodev', 'fuse-overlay.mount_program=/x'])).toEqual({ ignoreChownErrors: false });
  });

  it.each([
    ['vfs.size=10G', /"vfs\.size"/],
    ['vfs.mountopt=nodev', /mount options/],
    ['vfs.ignore_chown_errors=maybe', /"maybe"/],
    ['vfs.ignore_chown_errors', /unable to parse key\/value option: vfs\.ignore_chown_errors/],
  ])('rejects %s at init with ErrInvalidOption', async (option, message) => {
    const err = await rejection(newVfs([option]));
    expect(is(err, ErrInvalidOption)).toBe(true);
    expect(err.message).toMatch(message);
  });
});

describe('vfs layers', () => {
  it('rejects IDs that are not a single path component, naming them', async () => {
    const { driver } = await newVfs();
    for (const id of ['', '.', '..', 'a/b', '../escape']) {
      const err = await rejection(driver.create(id, ''));
      expect(is(err, ErrInvalidOption), id).toBe(true);
      expect(err.message).toContain(`"${id}"`);
      expect(await driver.exists(id)).toBe(false);
    }
    expect(await driver.listLayers()).toEqual([]);
  });

  it('reports unknown layers as ErrLayerUnknown from get, remove, metadata, disk usage and as a parent', async () => {
    const { driver } = await newVfs();
    // Each call starts only when awaited: a rejection nobody awaits yet would be an unhandled one.
    for (const call of [
      () => driver.get('nope'),
      () => driver.remove('nope'),
      () => driver.metadata('nope'),
      () => driver.readWriteDiskUsage('nope'),
      () => driver.create('child', 'nope'),
    ]) {
      const err = await rejection(call());
      expect(is(err, ErrLayerUnknown)).toBe(true);
      expect(err.message).toContain('nope');
    }
    expect(await driver.exists('child')).toBe(false);
  });

  it('refuses to create an existing layer and leaves it intact', async () => {
    const { driver } = await newVfs();
    await driver.create('one', '');
    writeFileSync(join(await driver.get('one'), 'keep'), 'me');
    const err = await rejection(driver.create('one', ''));
    expect(is(err, ErrDuplicateID)).toBe(true);
    expect(readFileSync(join(await driver.get('one'), 'keep'), 'utf8')).toBe('me');
  });

  it('accepts only the ro mount option, which returns the same directory', async () => {
    const { driver } = await newVfs();
    await driver.create('l', '');
    const dir = await driver.get('l');
    expect(dir).toBe(join(driver.home, 'dir', 'l'));
    expect(await driver.get('l', { options: ['ro'] })).toBe(dir);
    const err = await rejection(driver.get('l', { options: ['ro', 'nodev'] }));
    expect(is(err, ErrInvalidOption)).toBe(true);
    expect(err.message).toContain('"nodev"');
    await driver.put('l');
    expect(await driver.metadata('l')).toEqual({});
  });

  it('rejects storage options', async () => {
    const { driver } = await newVfs();
    const err = await rejection(driver.create('l', '', { storageOpt: { size: '1G' } }));
    expect(is(err, ErrInvalidOption)).toBe(true);
    expect(err.message).toContain('size');
    expect(await driver.exists('l')).toBe(false);
  });

  it('owns a new empty layer by the mapped root and refuses an unmapped root', async () => {
    const { driver } = await newVfs();
    const idMappings = {
      uidMap: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMap: [{ containerID: 0, hostID: 200000, size: 65536 }],
    };
    await driver.create('mapped', '', { idMappings });
    const st = statSync(await driver.get('mapped'));
    expect({ uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }).toEqual({ uid: 100000, gid: 200000, mode: 0o555 });

    const unmapped = { uidMap: [{ containerID: 1, hostID: 1000, size: 10 }], gidMap: [] };
    const err = await rejection(driver.create('unmapped', '', { idMappings: unmapped }));
    expect(is(err, ErrInvalidOption)).toBe(true);
    expect(await driver.exists('unmapped')).toBe(false);
  });

  it('snapshots a parent faithfully: hardlinks, devices, xattrs, owners, mode bits, ns times', async () => {
    const { driver } = await newVfs();
    await driver.createReadWrite('base', '');
    const base = await driver.get('base');
    populateRichTree(base);
    const expected = snapshotTree(base);

    await driver.create('child', 'base');
    await driver.createFromTemplate('templated', 'child', 'base');

    for (const id of ['child', 'templated']) {
      const dir = await driver.get(id);
      expect(snapshotTree(dir)).toEqual(expected);
      expect(lstatSync(join(dir, 'sub/hl-b')).ino).toBe(lstatSync(join(dir, 'hl-a')).ino);
      expect(lstatSync(join(dir, 'hl-a')).ino).not.toBe(lstatSync(join(base, 'hl-a')).ino);
    }
    expect((await driver.listLayers()).sort()).toEqual(['base', 'child', 'templated']);
  });

  it('counts hardlinked files once in readWriteDiskUsage', async () => {
    const { driver } = await newVfs();
    await driver.create('l', '');
    const dir = await driver.get('l');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'a'), 'x'.repeat(1000));
    linkSync(join(dir, 'a'), join(dir, 'sub', 'b'));
    writeFileSync(join(dir, 'sub', 'c'), 'y'.repeat(24));
    // root, sub, a (= sub/b), sub/c
    expect(await driver.readWriteDiskUsage('l')).toEqual({ size: 1024, inodeCount: 4 });
  });

  it('removes a layer and only that layer', async () => {
    const { driver } = await newVfs();
    await driver.create('a', '');
    await driver.create('b', 'a');
    mkdirSync(join(await driver.get('b'), 'x/y'), { recursive: true });
    await driver.remove('b');
    expect(await driver.listLayers()).toEqual(['a']);
    expect(() => statSync(join(driver.home, 'dir', 'b'))).toThrow(/ENOENT/);
    expect(await driver.exists('a')).toBe(true);
  });
});

describe('vfs as an unprivileged user', () => {
  const user = rootlessUser();

  function userRoot(): string {
    const root = join(tempDir(), 'graph');
    mkdirSync(root);
    chownSync(root, user!.uid, user!.gid);
    return root;
  }

  it.skipIf(!user)('creates and copies layers with ignore_chown_errors, owned by the user', () => {
    const root = userRoot();
    const r = runTsAs(user!, fixture, [root, 'ignore']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { base: string; child: string; layers: string[] };
    expect(out.layers).toEqual(['base', 'child']);
    expect(snapshotTree(out.child)).toEqual(snapshotTree(out.base));
    const file = statSync(join(out.child, 'dir', 'file'));
    expect({ uid: file.uid, mode: file.mode & 0o7777 }).toEqual({ uid: user!.uid, mode: 0o440 });
    expect(lstatSync(join(out.child, 'hardlink')).ino).toBe(file.ino);
    expect(statSync(join(out.child, 'dir')).mode & 0o7777).toBe(0o555);
  });

  it.skipIf(!user)('fails to create a root-owned layer without ignore_chown_errors and leaves nothing', () => {
    const root = userRoot();
    const r = runTsAs(user!, fixture, [root, 'strict']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { error: string; layers: string[] };
    expect(out.error).toMatch(/EPERM/);
    expect(out.error).toContain('vfs.ignore_chown_errors');
    expect(out.layers).toEqual([]);
  });
});
