/** Image operations of the Store facade. */
import { mkdir } from 'node:fs/promises';
import { copy, type StoreCore } from './core.js';
import { ErrImageUsedByContainer, ErrNotAnImage } from './errors.js';
import { mappings } from './layers.js';
import type { Image } from './types.js';

export interface CreateImageOptions {
  id?: string;
  names?: string[];
  /** Top layer ID or name; none for an image without layers. */
  layer?: string;
  metadata?: string;
  /** A digest to find the image by (`sha256:…`). */
  digest?: string;
  /** RFC 3339 creation time; now when omitted. */
  created?: string;
}

export function createImage(core: StoreCore, opts: CreateImageOptions): Promise<Image> {
  return core.locked({ layers: true, images: true }, async (held) => {
    const topLayer = opts.layer !== undefined && opts.layer !== '' ? core.layers.get(opts.layer).id : '';
    const image = await core.images.create(held.images, {
      id: opts.id,
      names: opts.names,
      topLayer,
      metadata: opts.metadata,
      created: opts.created,
      digest: opts.digest,
    });
    return copy(image);
  });
}

/**
 * Removes an image not used by a container, then its top layer and that layer's ancestors for
 * as long as no other image, container or remaining layer needs them. With `commit` false
 * nothing is removed; either way the layers (to be) removed are returned.
 */
export function deleteImage(core: StoreCore, id: string, commit = true): Promise<string[]> {
  return core.locked({ layers: true, images: true, containers: true }, async (held) => {
    const image = core.images.lookup(id);
    if (image === undefined) throw new ErrNotAnImage(`image "${id}"`);
    const user = core.containers.records.records.find((c) => c.imageID === image.id);
    if (user !== undefined) throw new ErrImageUsedByContainer(`image used by ${user.id}`);
    const children = new Map<string, string[]>();
    for (const l of core.layers.records.records) children.set(l.parent, [...(children.get(l.parent) ?? []), l.id]);
    const otherTops = new Set<string>();
    for (const other of core.images.records.records) {
      if (other.id === image.id) continue;
      otherTops.add(other.topLayer);
      for (const m of other.mappedTopLayers) otherTops.add(m);
    }
    const removing = [...image.mappedTopLayers];
    const slated = new Set(removing);
    let layerID = image.topLayer;
    while (layerID !== '') {
      if (core.containers.lookup(layerID) !== undefined || otherTops.has(layerID)) break;
      const check = layerID === image.topLayer ? [layerID, ...image.mappedTopLayers] : [layerID];
      const keptChild = check.some((l) => (children.get(l) ?? []).some((c) => !slated.has(c)));
      if (keptChild) break;
      removing.push(layerID);
      slated.add(layerID);
      layerID = core.layers.lookup(layerID)?.parent ?? '';
    }
    if (commit) {
      await core.images.delete(held.images, image);
      for (const l of removing) {
        const layer = core.layers.lookup(l);
        if (layer !== undefined) await core.layers.delete(held.layers, layer);
      }
    }
    return removing;
  });
}

export function imagesByDigest(core: StoreCore, digest: string): Promise<Image[]> {
  return core.locked({ images: true }, async () => core.images.byDigest(digest).map(copy));
}

export function imagesByTopLayer(core: StoreCore, id: string): Promise<Image[]> {
  return core.locked({ layers: true, images: true }, async () => {
    const layer = core.layers.get(id);
    return core.images.records.records
      .filter((i) => i.topLayer === layer.id || i.mappedTopLayers.includes(layer.id))
      .map(copy);
  });
}

/** The sizes of every layer under the image (diff sizes where none was recorded) plus its big data. */
export function imageSize(core: StoreCore, id: string): Promise<number> {
  return core.locked({ layers: true, images: true }, async () => {
    const image = core.images.get(id);
    const queue = [image.topLayer, ...image.mappedTopLayers].filter((l) => l !== '');
    const seen = new Set<string>();
    let size = 0;
    while (queue.length > 0) {
      const layerID = queue.shift() as string;
      if (seen.has(layerID)) continue;
      seen.add(layerID);
      const layer = core.layers.get(layerID);
      size +=
        layer.uncompressedDigest !== ''
          ? layer.uncompressedSize
          : await core.driver.diffSize(layer.id, layer.parent, mappings(layer));
      if (layer.parent !== '') queue.push(layer.parent);
    }
    for (const key of image.bigDataNames) size += await core.images.bigDataSize(image, key);
    return size;
  });
}

export function setImageBigData(
  core: StoreCore,
  id: string,
  key: string,
  data: Buffer,
  digestManifest?: (data: Buffer) => string,
): Promise<void> {
  return core.locked({ images: true }, (held) =>
    core.images.setBigData(held.images, core.images.get(id), key, data, digestManifest),
  );
}

export function imageBigData(core: StoreCore, id: string, key: string): Promise<Buffer> {
  return core.locked({ images: true }, () => core.images.bigData(core.images.get(id), key));
}

export function imageBigDataSize(core: StoreCore, id: string, key: string): Promise<number> {
  return core.locked({ images: true }, () => core.images.bigDataSize(core.images.get(id), key));
}

export function imageBigDataDigest(core: StoreCore, id: string, key: string): Promise<string> {
  return core.locked({ images: true }, async () => core.images.bigDataDigest(core.images.get(id), key));
}

/** `<graphroot>/<driver>-images/<id>/userdata` (or under the run root), created on demand. */
export function imageDirectory(core: StoreCore, id: string, root: 'graph' | 'run'): Promise<string> {
  return core.locked({ images: true }, async () => {
    const dir = core.userDataDir(root, 'image', core.images.get(id).id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  });
}
