import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { is } from '../../src/errors.js';
import { sha256Digest } from '../../src/store/bigdata.js';
import { ErrDuplicateName, ErrImageUnknown, ErrNotAnID } from '../../src/store/errors.js';
import { openVfs, readJSON } from './helpers.js';

describe('store images and containers (vfs)', () => {
  it('creates images on layers with unique names and finds them by digest', async () => {
    const { store, graph } = await openVfs();
    const layer = await store.createLayer({ names: ['l'] });
    const image = await store.createImage({ layer: 'l', names: ['img'], metadata: 'm' });
    expect(image.topLayer).toBe(layer.id);
    await expect(store.createImage({ names: ['img'] })).rejects.toThrow(
      `image name "img" is already associated with image "${image.id}": that name is already in use`,
    );
    const missing = await store.createImage({ layer: 'nope' }).catch((e: unknown) => e);
    expect((missing as Error).message).toBe('layer "nope": layer not known');

    const manifest = Buffer.from('{"schemaVersion":2}');
    await store.setImageBigData(image.id, 'manifest-sha256:x', manifest);
    await store.setImageBigData(image.id, 'Config', Buffer.from('cfg'));
    const found = await store.imagesByDigest(sha256Digest(manifest));
    expect(found.map((i) => i.id)).toEqual([image.id]);
    expect((await store.image(image.id)).digest).toBe(sha256Digest(manifest));
    expect(await store.imageBigDataSize(image.id, 'Config')).toBe(3);
    expect(await store.imageBigDataDigest(image.id, 'Config')).toBe(sha256Digest(Buffer.from('cfg')));
    expect(readdirSync(join(graph, 'vfs-images', image.id)).sort()).toEqual(
      [`=${Buffer.from('Config').toString('base64')}`, `=${Buffer.from('manifest-sha256:x').toString('base64')}`].sort(),
    );
    const onDisk = readJSON(join(graph, 'vfs-images', 'images.json')) as Array<Record<string, unknown>>;
    expect(onDisk[0]).toMatchObject({
      id: image.id,
      digest: sha256Digest(manifest),
      names: ['img'],
      layer: layer.id,
      metadata: 'm',
      'big-data-names': ['manifest-sha256:x', 'Config'],
      'big-data-sizes': { Config: 3, 'manifest-sha256:x': manifest.length },
    });
    expect(await store.imageSize(image.id)).toBe(manifest.length + 3);
  });

  it('creates a container with a read-write layer on the image top layer', async () => {
    const { store, graph } = await openVfs();
    const top = await store.createLayer({ names: ['top'] });
    const image = await store.createImage({ layer: top.id, names: ['img'] });
    const c = await store.createContainer({ image: 'img', names: ['c1'], metadata: 'cm' });
    expect(c.imageID).toBe(image.id);
    expect(c.flags).toEqual({ MountLabel: '', ProcessLabel: '' });
    expect((await store.layer(c.layerID)).parent).toBe(top.id);
    const dup = await store.createContainer({ image: 'img', names: ['c1'] }).catch((e: unknown) => e);
    expect(is(dup, ErrDuplicateName)).toBe(true);
    // The refused container did not leave a layer behind.
    expect(await store.layers()).toHaveLength(2);
    const noImage = await store.createContainer({ image: 'nope' }).catch((e: unknown) => e);
    expect(is(noImage, ErrImageUnknown)).toBe(true);

    await store.setContainerBigData('c1', 'state', Buffer.from('running'));
    expect((await store.containerBigData('c1', 'state')).toString()).toBe('running');
    const dir = await store.containerDirectory('c1');
    expect(dir).toBe(join(graph, 'vfs-containers', c.id, 'userdata'));
    writeFileSync(join(dir, 'f'), '12345');
    expect(await store.containerSize('c1')).toBe('running'.length + 5);
    const rootfs = await store.mount('c1');
    expect(rootfs).toBe(join(graph, 'vfs', 'dir', c.layerID));
    expect(await store.mounted('c1')).toBe(1);

    await store.deleteContainer('c1');
    expect(existsSync(join(graph, 'vfs-containers', c.id))).toBe(false);
    expect(await store.exists(c.layerID)).toBe(false);
    expect(await store.containers()).toEqual([]);
  });

  it('deletes an image with the layers only it used, or just reports them', async () => {
    const { store } = await openVfs();
    const base = await store.createLayer();
    const mid = await store.createLayer({ parent: base.id });
    const top1 = await store.createLayer({ parent: mid.id });
    const top2 = await store.createLayer({ parent: mid.id });
    const img1 = await store.createImage({ layer: top1.id });
    await store.createImage({ layer: top2.id });
    // mid stays: top2 (another image's layer) still needs it.
    expect(await store.deleteImage(img1.id, false)).toEqual([top1.id]);
    expect(await store.exists(top1.id)).toBe(true);
    expect(await store.deleteImage(img1.id)).toEqual([top1.id]);
    expect(await store.exists(img1.id)).toBe(false);
    expect((await store.layers()).map((l) => l.id).sort()).toEqual([base.id, mid.id, top2.id].sort());
  });

  it('sets, adds and removes names; a taken name moves', async () => {
    const { store } = await openVfs();
    const a = await store.createImage({ names: ['a'] });
    const b = await store.createImage({ names: ['b'] });
    await store.addNames(a.id, ['a2']);
    expect(await store.names(a.id)).toEqual(['a2', 'a']);
    await store.removeNames(a.id, ['a']);
    expect(await store.names(a.id)).toEqual(['a2']);
    await store.setNames(b.id, ['a2', 'b']);
    expect(await store.names(b.id)).toEqual(['a2', 'b']);
    expect(await store.names(a.id)).toEqual([]);
    expect((await store.image(b.id)).namesHistory).toEqual(['b', 'a2']);
    expect(await store.lookup('a2')).toBe(b.id);
  });

  it('reads and writes metadata of any kind of record', async () => {
    const { store } = await openVfs();
    const layer = await store.createLayer({ names: ['l'] });
    const image = await store.createImage({ layer: 'l', names: ['i'] });
    const c = await store.createContainer({ image: 'i', names: ['ctr'] });
    for (const id of [layer.id, image.id, c.id]) await store.setMetadata(id, `md-${id}`);
    expect(await store.metadata('l')).toBe(`md-${layer.id}`);
    expect(await store.metadata('i')).toBe(`md-${image.id}`);
    expect(await store.metadata('ctr')).toBe(`md-${c.id}`);
    // As in containers/storage, a unique ID prefix finds a record too (layers are searched first).
    expect(await store.metadata(c.id.slice(0, 12))).toBe(`md-${c.id}`);
    const err = await store.metadata('nope').catch((e: unknown) => e);
    expect(is(err, ErrNotAnID)).toBe(true);
  });

  it('wipes everything, and shuts down only when nothing is mounted unless forced', async () => {
    const { store, graph } = await openVfs();
    const l = await store.createLayer();
    await store.createImage({ layer: l.id, names: ['i'] });
    const c = await store.createContainer({ image: 'i' });
    await store.mount(c.id);
    await expect(store.shutdown()).rejects.toThrow('layer is in use by a container');
    expect(await store.shutdown(true)).toEqual([c.layerID]);
    expect(await store.mounted(c.id)).toBe(0);
    await store.wipe();
    expect([await store.layers(), await store.images(), await store.containers()]).toEqual([[], [], []]);
    expect(readdirSync(join(graph, 'vfs', 'dir'))).toEqual([]);
  });
});
