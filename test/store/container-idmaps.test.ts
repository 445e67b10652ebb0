/**
 * Containers with ID mappings of their own. On fuse-overlay the mount program maps owners at mount
 * time (containers/storage's SupportsShifting), so the container's layer stays unmapped like its
 * image's, and the mount shows the image's files owned by the container's host IDs; a single
 * one-ID range squashes every owner to it, as containers/storage asks fuse-overlayfs to. On vfs the
 * container's copy of the image is re-owned (containers/storage's naive UpdateLayerIDMap).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lchownSync, lstatSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lgetxattr, lsetxattr } from '../../src/native.js';
import { gz, makeTar, openStore, stream } from './helpers.js';

/** A valid v2 file capability (cap_net_raw+ep). */
const CAP_NET_RAW = Buffer.from('0100000200200000000000000000000000000000', 'hex');

const imageTar = (): Promise<Buffer> =>
  makeTar([
    { name: 'etc', type: 'directory' },
    { name: 'etc/motd', body: 'hello\n', uid: 1000, gid: 1001 },
    { name: 'root', type: 'directory', mode: 0o700 },
  ]);

const owners = (root: string, paths: string[]): string[] =>
  paths.map((p) => {
    const st = lstatSync(join(root, p));
    return `${p} ${st.uid}:${st.gid}`;
  });

describe('containers with their own ID mappings on fuse-overlay', () => {
  it('keeps the layer unmapped and shows the mapped owners through the mount', async () => {
    const { store, dir } = await openStore('fuse-overlay');
    expect(store.driver.supportsShifting?.([{ containerID: 0, hostID: 100000, size: 65536 }], [])).toBe(true);
    // Ranges with a gap cannot be shifted by fuse-overlayfs (it maps the upper layer too).
    expect(store.driver.supportsShifting?.([{ containerID: 0, hostID: 100000, size: 10 }, { containerID: 20, hostID: 200000, size: 10 }], [])).toBe(false);
    const { layer } = await store.putLayer({}, stream(gz(await imageTar())));
    await store.createImage({ layer: layer.id, names: ['img'] });
    const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const c = await store.createContainer({ image: 'img', uidMap: map, gidMap: map });
    expect(c.uidMap).toEqual(map);
    const clayer = await store.layer(c.layerID);
    expect([clayer.uidMap, clayer.gidMap]).toEqual([[], []]);

    const root = await store.mount(c.id);
    expect(owners(root, ['etc', 'etc/motd', 'root'])).toEqual(['etc 100000:100000', 'etc/motd 101000:101001', 'root 100000:100000']);
    // What the container's root (host 100000) writes lands on disk as container root; an ID
    // outside the mappings (the host's root) as the overflow ID, as with fuse-overlayfs.
    // (A container reaches its root through its own mount namespace; here the store's 0700
    // directories above the mount must let host 100000 through.)
    for (let d = dirname(root); d !== dirname(dir); d = dirname(d)) chmodSync(d, statSync(d).mode | 0o111);
    const asContainerRoot = spawnSync('setpriv', ['--reuid=100000', '--regid=100000', '--clear-groups', 'sh', '-c', 'echo x > "$1"', 'sh', join(root, 'etc', 'new')], { encoding: 'utf8' });
    expect(asContainerRoot.stderr).toBe('');
    writeFileSync(join(root, 'etc', 'by-host-root'), 'x');
    expect(owners(root, ['etc/new'])).toEqual(['etc/new 100000:100000']);
    await store.unmount(c.id);
    const diffDir = join(store.graphRoot, 'fuse-overlay', c.layerID, 'diff');
    expect(owners(diffDir, ['etc/new', 'etc/by-host-root'])).toEqual(['etc/new 0:0', 'etc/by-host-root 65534:65534']);

    // The image itself, mounted without mappings, is unchanged.
    const plain = await store.createContainer({ image: 'img' });
    const proot = await store.mount(plain.id);
    expect(owners(proot, ['etc', 'etc/motd'])).toEqual(['etc 0:0', 'etc/motd 1000:1001']);
    await store.unmount(plain.id);
  }, 60_000);

  it('squashes every owner to a single mapped ID', async () => {
    const { store } = await openStore('fuse-overlay');
    const { layer } = await store.putLayer({}, stream(gz(await imageTar())));
    await store.createImage({ layer: layer.id, names: ['img'] });
    const one = [{ containerID: 0, hostID: 4242, size: 1 }];
    const c = await store.createContainer({ image: 'img', uidMap: one, gidMap: one });
    const root = await store.mount(c.id);
    expect(owners(root, ['etc', 'etc/motd'])).toEqual(['etc 4242:4242', 'etc/motd 4242:4242']);
    await store.unmount(c.id);
  }, 60_000);
});

describe('containers with their own ID mappings on the kernel overlay', () => {
  it('re-owns through a mount, keeps the copy below the diff, and diffs only the container\'s changes', async () => {
    const { store, graph } = await openStore('overlay');
    expect(store.driver.supportsShifting?.([], [])).toBe(false);
    const { layer } = await store.putLayer({}, stream(gz(await imageTar())));
    await store.createImage({ layer: layer.id, names: ['img'] });
    const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const c = await store.createContainer({ image: 'img', uidMap: map, gidMap: map });
    const layerDir = join(graph, 'overlay', c.layerID);
    expect(owners(join(layerDir, 'diff1'), ['etc/motd'])).toEqual(['etc/motd 101000:101001']);
    const root = await store.mount(c.id);
    expect(owners(root, ['etc', 'etc/motd', 'root'])).toEqual(['etc 100000:100000', 'etc/motd 101000:101001', 'root 100000:100000']);
    writeFileSync(join(root, 'etc', 'new'), 'x');
    await store.unmount(c.id);
    expect(await store.changes('', c.layerID)).toEqual([
      { path: '/etc', kind: 'modify' },
      { path: '/etc/new', kind: 'add' },
    ]);
    // The image's own layer is untouched.
    expect(owners(join(graph, 'overlay', layer.id, 'diff'), ['etc/motd'])).toEqual(['etc/motd 1000:1001']);
  }, 60_000);
});

describe('containers with their own ID mappings on vfs', () => {
  const map = [{ containerID: 0, hostID: 100000, size: 65536 }];

  it('re-owns the container\'s copy of the image, keeping setuid bits and file capabilities', async () => {
    const { store, graph } = await openStore('vfs');
    const tar = await makeTar([
      { name: 'etc', type: 'directory' },
      { name: 'etc/motd', body: 'hello\n', uid: 1000, gid: 1001 },
      { name: 'bin', type: 'directory' },
      { name: 'bin/su', body: '#!', mode: 0o4755 },
    ]);
    const { layer } = await store.putLayer({}, stream(gz(tar)));
    const imageDir = join(graph, 'vfs', 'dir', layer.id);
    lsetxattr(join(imageDir, 'bin/su'), 'security.capability', CAP_NET_RAW);
    symlinkSync('etc/motd', join(imageDir, 'link'));
    lchownSync(join(imageDir, 'link'), 7, 8);
    await store.createImage({ layer: layer.id, names: ['img'] });
    const c = await store.createContainer({ image: 'img', uidMap: map, gidMap: map });
    expect((await store.layer(c.layerID)).uidMap).toEqual(map);
    const root = await store.mount(c.id);
    expect(owners(root, ['etc', 'etc/motd', 'bin/su', 'link'])).toEqual([
      'etc 100000:100000', 'etc/motd 101000:101001', 'bin/su 100000:100000', 'link 100007:100008',
    ]);
    expect(lstatSync(join(root, 'bin/su')).mode & 0o7777).toBe(0o4755);
    expect(lgetxattr(join(root, 'bin/su'), 'security.capability')).toEqual(CAP_NET_RAW);
    await store.unmount(c.id);
    // The image's own layer is untouched.
    expect(owners(imageDir, ['etc/motd', 'link'])).toEqual(['etc/motd 1000:1001', 'link 7:8']);
  }, 60_000);

  it('refuses a parent with an owner outside its own mappings, and leaves no layer behind', async () => {
    const { store } = await openStore('vfs');
    const inner = [{ containerID: 0, hostID: 5000, size: 10 }];
    const { layer } = await store.putLayer({ uidMap: inner, gidMap: inner }, stream(gz(await makeTar([{ name: 'f', body: 'x', uid: 3, gid: 3 }]))));
    // A file the mappings cannot explain (host 77 is no container ID of the parent's).
    const dir = await store.mount(layer.id);
    writeFileSync(join(dir, 'odd'), 'x');
    chownSync(join(dir, 'odd'), 77, 77);
    await store.unmount(layer.id);
    const before = (await store.layers()).length;
    await expect(store.createLayer({ parent: layer.id, uidMap: map, gidMap: map })).rejects.toThrow(/77:77/);
    expect((await store.layers()).length).toBe(before);
  }, 60_000);
});
