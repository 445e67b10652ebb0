import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { is } from '../../src/errors.js';
import { ErrDuplicateName, ErrStoreLayerUnknown } from '../../src/store/errors.js';
import { Compression } from '../../src/store/types.js';
import { drain, gz, makeTar, openVfs, readJSON, stream, tarListing } from './helpers.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('store layers (vfs)', () => {
  it('creates layers with generated IDs and names unique among layers', async () => {
    const { store, graph } = await openVfs();
    const base = await store.createLayer({ names: ['base', 'base'] });
    expect(base.id).toMatch(/^[0-9a-f]{64}$/);
    expect(base.names).toEqual(['base']);
    expect(base.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const err = await store.createLayer({ names: ['other', 'base'] }).catch((e: unknown) => e);
    expect(is(err, ErrDuplicateName)).toBe(true);
    expect((err as Error).message).toContain('"base"');
    // The refused layer left nothing behind.
    expect(await store.layers()).toHaveLength(1);
    expect(readdirSync(join(graph, 'vfs', 'dir'))).toEqual([base.id]);

    const child = await store.createLayer({ id: 'child-1', parent: 'base' });
    expect(child.parent).toBe(base.id);
    expect((await store.layer(base.id.slice(0, 10))).id).toBe(base.id);
    const unknown = await store.layer('nope').catch((e: unknown) => e);
    expect(is(unknown, ErrStoreLayerUnknown)).toBe(true);
    expect((unknown as Error).message).toBe('layer "nope": layer not known');
  });

  it('records digests, sizes, compression and owners when a diff is applied', async () => {
    const { store, graph } = await openVfs();
    const tarball = await makeTar([
      { name: 'etc', type: 'directory' },
      { name: 'etc/motd', body: 'hello\n', uid: 1000, gid: 1001 },
      { name: 'etc/.wh.old', uid: 77, gid: 77 },
    ]);
    const blob = gz(tarball);
    const { layer } = await store.putLayer({ names: ['l1'] }, stream(blob));
    expect(layer.compressedDigest).toBe(sha(blob));
    expect(layer.compressedSize).toBe(blob.length);
    expect(layer.uncompressedDigest).toBe(sha(tarball));
    expect(layer.uncompressedSize).toBe(tarball.length);
    expect(layer.compressionType).toBe(Compression.Gzip);
    expect(layer.uidSet).toEqual([0, 1000]);
    expect(layer.gidSet).toEqual([0, 1001]);
    expect(await store.layersByUncompressedDigest(sha(tarball))).toHaveLength(1);

    // On disk with containers/storage's field names, and the content really applied.
    const onDisk = readJSON(join(graph, 'vfs-layers', 'layers.json')) as Array<Record<string, unknown>>;
    expect(onDisk[0]).toMatchObject({
      id: layer.id,
      names: ['l1'],
      'compressed-diff-digest': sha(blob),
      'compressed-size': blob.length,
      'diff-digest': sha(tarball),
      'diff-size': tarball.length,
      compression: 2,
      uidset: [0, 1000],
      gidset: [0, 1001],
    });
    expect(onDisk[0]).not.toHaveProperty('flags');
    const root = await store.mount(layer.id);
    expect(readFileSync(join(root, 'etc', 'motd'), 'utf8')).toBe('hello\n');
    await store.unmount(layer.id);
  });

  it('removes the layer again when applying its diff fails', async () => {
    const { store, graph } = await openVfs();
    const bad = Buffer.concat([gz(await makeTar([{ name: 'a', body: 'x' }])).subarray(0, 20), Buffer.alloc(64, 1)]);
    await expect(store.putLayer({ id: 'broken', names: ['b'] }, stream(bad))).rejects.toThrow();
    expect(await store.layers()).toEqual([]);
    expect(existsSync(join(graph, 'vfs', 'dir', 'broken'))).toBe(false);
    // The name is free again.
    await store.createLayer({ names: ['b'] });
  });

  it('diffs a child layer against its parent, compressed as its diff was', async () => {
    const { store } = await openVfs();
    const { layer: base } = await store.putLayer({}, stream(gz(await makeTar([{ name: 'a', body: 'A' }]))));
    const child = await store.createLayer({ parent: base.id });
    const root = await store.mount(child.id);
    writeFileSync(join(root, 'b'), 'B');
    await store.unmount(child.id);

    expect(await store.changes('', child.id)).toEqual([{ path: '/b', kind: 'add' }]);
    expect(await store.diffSize('', child.id)).toBe(1);
    expect(await tarListing(await drain(await store.diff('', child.id)))).toEqual(['b 0:0']);
    // The base layer came from a gzip blob: its diff is gzip unless asked otherwise.
    const baseDiff = await drain(await store.diff('', base.id));
    expect(baseDiff.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const plain = await drain(await store.diff('', base.id, { compression: Compression.Uncompressed }));
    expect(await tarListing(plain)).toEqual(['a 0:0']);
  });

  it('counts mounts in mountpoints.json and unmounts by path or by force', async () => {
    const { store, run } = await openVfs();
    const layer = await store.createLayer({ writeable: true });
    const first = await store.mount(layer.id);
    expect(await store.mount(layer.id)).toBe(first);
    expect(await store.mounted(layer.id)).toBe(2);
    const mountsFile = join(run, 'vfs-layers', 'mountpoints.json');
    expect(readJSON(mountsFile)).toEqual([{ id: layer.id, path: first, count: 2 }]);
    expect(await store.unmount(first)).toBe(true);
    expect(await store.mounted(layer.id)).toBe(1);
    await store.mount(layer.id);
    expect(await store.unmount(layer.id, true)).toBe(false);
    expect(await store.mounted(layer.id)).toBe(0);
    expect(readJSON(mountsFile)).toEqual([]);
  });

  it('keeps layer big data in files named as containers/storage names them', async () => {
    const { store, graph } = await openVfs();
    const layer = await store.createLayer();
    await store.setLayerBigData(layer.id, 'toc.json', Buffer.from('{"a":1}'));
    await store.setLayerBigData(layer.id, 'Upper', Buffer.from('U'));
    expect(await store.listLayerBigData(layer.id)).toEqual(['toc.json', 'Upper']);
    expect((await drain(await store.layerBigData(layer.id, 'Upper'))).toString()).toBe('U');
    expect(readdirSync(join(graph, 'vfs-layers', layer.id)).sort()).toEqual(['=VXBwZXI=', 'toc.json']);
    await expect(store.layerBigData(layer.id, 'missing')).rejects.toThrow(/missing/);
  });

  it('refuses to delete a layer that is a parent or used by an image or a container', async () => {
    const { store } = await openVfs();
    const base = await store.createLayer({ names: ['base'] });
    const top = await store.createLayer({ parent: 'base', names: ['top'] });
    await expect(store.deleteLayer('base')).rejects.toThrow(`used by layer ${top.id}: layer has children`);
    const image = await store.createImage({ layer: 'top' });
    await expect(store.deleteLayer('top')).rejects.toThrow(`layer ${top.id} used by image ${image.id}`);
    const c = await store.createContainer({ image: image.id });
    await expect(store.deleteLayer(c.layerID)).rejects.toThrow(`used by container ${c.id}`);
    await expect(store.deleteLayer('nope')).rejects.toThrow('identifier is not a layer');
    await store.deleteContainer(c.id);
    await store.deleteImage(image.id, false);
    await store.delete(image.id);
    await store.deleteLayer('top');
    await store.deleteLayer(base.id);
    expect(await store.layers()).toEqual([]);
  });
});
