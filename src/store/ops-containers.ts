/** Container operations of the Store facade. */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrInvalidOption } from '../errors.js';
import { diskUsage } from '../fs/disk-usage.js';
import { MOUNT_LABEL_FLAG, MOUNT_OPTS_FLAG, PROCESS_LABEL_FLAG, VOLATILE_FLAG } from './containers.js';
import { copy, type StoreCore } from './core.js';
import { mappings, unmapped } from './layers.js';
import type { Container, Flags, IDMappingOptions, Layer } from './types.js';

export interface CreateContainerOptions extends IDMappingOptions {
  id?: string;
  names?: string[];
  /** Image ID or name; its top layer becomes the parent of the container's layer. */
  image?: string;
  /** ID for the container's layer (generated when omitted). */
  layer?: string;
  metadata?: string;
  mountLabel?: string;
  processLabel?: string;
  mountOpts?: string[];
  volatile?: boolean;
  flags?: Flags;
  storageOpt?: Record<string, string>;
}

/** Creates the container's read-write layer on the image's top layer, then the record. */
export function createContainer(core: StoreCore, opts: CreateContainerOptions): Promise<Container> {
  return core.locked({ layers: true, images: true, containers: true }, async (held) => {
    const uidMap = opts.hostUIDMapping === true ? [] : [...(opts.uidMap ?? [])];
    const gidMap = opts.hostGIDMapping === true ? [] : [...(opts.gidMap ?? [])];
    core.containers.precheck(opts.id, opts.names ?? [], uidMap, gidMap);
    let imageID = '';
    let top: Layer | undefined;
    if (opts.image !== undefined && opts.image !== '') {
      const image = core.images.get(opts.image);
      imageID = image.id;
      if (image.topLayer !== '') top = core.layers.get(image.topLayer);
    }
    let layerUIDs = opts.hostUIDMapping === true ? [] : uidMap.length > 0 ? uidMap : (top?.uidMap ?? core.uidMap);
    let layerGIDs = opts.hostGIDMapping === true ? [] : gidMap.length > 0 ? gidMap : (top?.gidMap ?? core.gidMap);
    // A driver that maps owners at mount time (containers/storage's SupportsShifting) needs no
    // mapped copy: the layer stays unmapped like the image's, and mount applies the container's.
    const ownMaps = uidMap.length > 0 || gidMap.length > 0;
    if (ownMaps && top !== undefined && unmapped(top) && core.driver.supportsShifting?.(layerUIDs, layerGIDs) === true) {
      layerUIDs = [];
      layerGIDs = [];
    }
    const flags: Flags = { ...(opts.flags ?? {}) };
    const plabel = opts.processLabel ?? (typeof flags[PROCESS_LABEL_FLAG] === 'string' ? flags[PROCESS_LABEL_FLAG] : '');
    const mlabel = opts.mountLabel ?? (typeof flags[MOUNT_LABEL_FLAG] === 'string' ? flags[MOUNT_LABEL_FLAG] : '');
    if ((plabel === '') !== (mlabel === '')) {
      throw new ErrInvalidOption('ProcessLabel and MountLabel must either not be specified or both specified');
    }
    // Without SELinux both labels are empty, and containers/storage records them so.
    flags[PROCESS_LABEL_FLAG] = plabel;
    flags[MOUNT_LABEL_FLAG] = mlabel;
    if (opts.mountOpts !== undefined) flags[MOUNT_OPTS_FLAG] = [...opts.mountOpts];
    if (opts.volatile === true) flags[VOLATILE_FLAG] = true;
    const { layer } = await core.layers.create(held.layers, {
      id: opts.layer,
      parent: top,
      mountLabel: mlabel as string,
      writeable: true,
      uidMap: layerUIDs,
      gidMap: layerGIDs,
      storageOpt: opts.storageOpt,
    });
    try {
      const container = await core.containers.create(held.containers, {
        id: opts.id,
        names: opts.names,
        imageID,
        layerID: layer.id,
        metadata: opts.metadata,
        uidMap,
        gidMap,
        flags,
      });
      return copy(container);
    } catch (err) {
      await core.layers.delete(held.layers, layer).catch(() => undefined);
      throw err;
    }
  });
}

/** Removes the container, its layer and its data directories in both roots. */
export function deleteContainer(core: StoreCore, id: string, notFound: (id: string) => Error): Promise<void> {
  return core.locked({ layers: true, images: true, containers: true }, async (held) => {
    const container = core.containers.lookup(id);
    if (container === undefined) throw notFound(id);
    const layer = core.layers.lookup(container.layerID);
    if (layer !== undefined) await core.layers.delete(held.layers, layer);
    await core.containers.delete(held.containers, container);
    for (const root of ['graph', 'run'] as const) {
      await rm(join(core.userDataDir(root, 'container', container.id), '..'), { recursive: true, force: true });
    }
  });
}

/** The container layer's diff size, its big data, and its data directories' contents. */
export function containerSize(core: StoreCore, id: string): Promise<number> {
  return core.locked({ layers: true, containers: true }, async () => {
    const container = core.containers.get(id);
    const layer = core.layers.get(container.layerID);
    let size = await core.driver.diffSize(layer.id, layer.parent, mappings(layer));
    for (const key of container.bigDataNames) size += await core.containers.bigDataSize(container, key);
    for (const root of ['graph', 'run'] as const) {
      const dir = core.userDataDir(root, 'container', container.id);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      size += (await diskUsage(dir)).size;
    }
    return size;
  });
}

export function setContainerBigData(core: StoreCore, id: string, key: string, data: Buffer): Promise<void> {
  return core.locked({ containers: true }, (held) =>
    core.containers.setBigData(held.containers, core.containers.get(id), key, data),
  );
}

export function containerBigData(core: StoreCore, id: string, key: string): Promise<Buffer> {
  return core.locked({ containers: true }, () => core.containers.bigData(core.containers.get(id), key));
}

export function containerBigDataSize(core: StoreCore, id: string, key: string): Promise<number> {
  return core.locked({ containers: true }, () => core.containers.bigDataSize(core.containers.get(id), key));
}

export function containerBigDataDigest(core: StoreCore, id: string, key: string): Promise<string> {
  return core.locked({ containers: true }, () => core.containers.bigDataDigest(core.containers.get(id), key));
}

export function containerDirectory(core: StoreCore, id: string, root: 'graph' | 'run'): Promise<string> {
  return core.locked({ containers: true }, async () => {
    const dir = core.userDataDir(root, 'container', core.containers.get(id).id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  });
}
