/**
 * The Store's core operations on every driver: the same calls must give the same answers on
 * vfs (plain copies), overlay (kernel mounts) and fuse-overlay (strata-fuse mounts), and the
 * mount counts must match what is really mounted.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Change } from '../../src/driver.js';
import { mountsUnder } from '../helpers/tmp.js';
import { drain, gz, makeTar, openStore, stream, tarListing } from './helpers.js';

const DRIVERS = ['vfs', 'overlay', 'fuse-overlay'] as const;

/** Whether `path` is a mount point right now (vfs "mounts" are plain directories). */
const isMounted = (path: string): boolean => mountsUnder(path).includes(path);

const baseTar = (): Promise<Buffer> =>
  makeTar([
    { name: 'etc', type: 'directory' },
    { name: 'etc/motd', body: 'hello\n', uid: 1000, gid: 1001 },
    { name: 'bin', type: 'directory' },
    { name: 'bin/sh', body: '#!', mode: 0o755 },
  ]);

/** What the child layer of each test changes, in the order every driver must report it. */
const CHILD_CHANGES: Change[] = [
  { path: '/bin', kind: 'modify' },
  { path: '/bin/sh', kind: 'delete' },
  { path: '/etc', kind: 'modify' },
  { path: '/etc/motd', kind: 'modify' },
  { path: '/etc/new', kind: 'add' },
];
const CHILD_DIFF = ['bin/ 0:0', 'bin/.wh.sh 0:0', 'etc/ 0:0', 'etc/motd 1000:1001', 'etc/new 0:0'];

for (const driver of DRIVERS) {
  describe(`store on ${driver}`, () => {
    it('imports a layer, counts mounts, and diffs, sizes and re-applies a child’s changes', async () => {
      const { store } = await openStore(driver);
      const { layer: base, size } = await store.putLayer({ names: ['base'] }, stream(gz(await baseTar())));
      expect(size).toBe('hello\n'.length + 2);
      expect([base.uidSet, base.gidSet]).toEqual([[0, 1000], [0, 1001]]);
      const child = await store.createLayer({ parent: 'base', names: ['child'] });

      // A second mount reuses the first; the last unmount (or a forced one) really unmounts.
      const root = await store.mount(child.id);
      expect(readFileSync(join(root, 'etc', 'motd'), 'utf8')).toBe('hello\n');
      expect(await store.mount(child.id)).toBe(root);
      expect(await store.mounted(child.id)).toBe(2);
      expect(isMounted(root)).toBe(driver !== 'vfs');
      writeFileSync(join(root, 'etc', 'motd'), 'changed\n');
      writeFileSync(join(root, 'etc', 'new'), 'new');
      rmSync(join(root, 'bin', 'sh'));
      expect(await store.unmount(child.id)).toBe(true);
      expect(await store.mounted(child.id)).toBe(1);
      expect(isMounted(root)).toBe(driver !== 'vfs');
      expect(await store.mount(child.id)).toBe(root);
      expect(await store.unmount(child.id, true)).toBe(false);
      expect(await store.mounted(child.id)).toBe(0);
      expect(isMounted(root)).toBe(false);

      expect(await store.changes('', child.id)).toEqual(CHILD_CHANGES);
      expect(await store.diffSize('', child.id)).toBe('changed\n'.length + 'new'.length);
      const diff = await drain(await store.diff('', child.id));
      expect(await tarListing(diff)).toEqual(CHILD_DIFF);

      // The diff applied to a sibling reproduces the child.
      const copy = await store.createLayer({ parent: base.id });
      expect(await store.applyDiff(copy.id, stream(diff))).toBe('changed\n'.length + 'new'.length);
      expect(await store.changes('', copy.id)).toEqual(CHILD_CHANGES);
      const copyRoot = await store.mount(copy.id);
      expect(readdirSync(join(copyRoot, 'bin'))).toEqual([]);
      expect(readFileSync(join(copyRoot, 'etc', 'motd'), 'utf8')).toBe('changed\n');
      await store.unmount(copy.id);
      expect(isMounted(copyRoot)).toBe(false);
      expect((await store.layer(copy.id)).uidSet).toEqual([0, 1000]);
    }, 60_000);

    it('keeps layers an image or container needs; deleting the container unmounts and removes its layer', async () => {
      const { store, graph } = await openStore(driver);
      const { layer: base } = await store.putLayer({ names: ['base'] }, stream(await baseTar()));
      const image = await store.createImage({ layer: base.id, names: ['img'] });
      const c = await store.createContainer({ image: 'img', names: ['ctr'] });
      expect((await store.layer(c.layerID)).parent).toBe(base.id);

      await expect(store.deleteLayer(base.id)).rejects.toThrow(`used by layer ${c.layerID}: layer has children`);
      await expect(store.deleteLayer(c.layerID)).rejects.toThrow(`layer ${c.layerID} used by container ${c.id}`);
      const rootfs = await store.mount('ctr');
      writeFileSync(join(rootfs, 'etc', 'ctr-only'), 'x');
      expect(await store.changes('', c.layerID)).toEqual([
        { path: '/etc', kind: 'modify' },
        { path: '/etc/ctr-only', kind: 'add' },
      ]);
      expect(await store.mounted('ctr')).toBe(1);

      // Deleting a mounted container's layer unmounts it first.
      await store.deleteContainer('ctr');
      expect(isMounted(rootfs)).toBe(false);
      expect(existsSync(rootfs)).toBe(false);
      expect(await store.exists(c.layerID)).toBe(false);
      expect(existsSync(join(graph, `${driver}-containers`, c.id))).toBe(false);
      await expect(store.deleteLayer(base.id)).rejects.toThrow(`layer ${base.id} used by image ${image.id}`);
      await store.deleteImage(image.id);
      expect(await store.layers()).toEqual([]);
    }, 60_000);

    it('shuts down only when nothing is mounted unless forced, and wipes everything', async () => {
      const { store } = await openStore(driver);
      const { layer } = await store.putLayer({}, stream(await baseTar()));
      await store.createImage({ layer: layer.id, names: ['i'] });
      const c = await store.createContainer({ image: 'i' });
      const rootfs = await store.mount(c.id);
      await expect(store.shutdown()).rejects.toThrow('layer is in use by a container');
      expect(isMounted(rootfs)).toBe(driver !== 'vfs');
      expect(await store.shutdown(true)).toEqual([c.layerID]);
      expect(await store.mounted(c.id)).toBe(0);
      expect(isMounted(rootfs)).toBe(false);
      await store.wipe();
      expect([await store.layers(), await store.images(), await store.containers()]).toEqual([[], [], []]);
      expect(await store.driver.listLayers()).toEqual([]);
    }, 60_000);
  });
}
