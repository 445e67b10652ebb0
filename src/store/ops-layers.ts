/** Layer operations of the Store facade: creation, diffs, mounts and layer big data. */
import { open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished, pipeline, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Change } from '../driver.js';
import { ErrInvalidOption, hasCode } from '../errors.js';
import { copy, type StoreCore } from './core.js';
import { compressionName } from './digest.js';
import {
  ErrBigDataUnknown,
  ErrCompressionUnsupported,
  ErrLayerNotMounted,
  ErrParentIsContainer,
} from './errors.js';
import { toContainer } from './idmap.js';
import { atomicWriteStream } from './json-file.js';
import { mappings, type LayerMountOpts } from './layers.js';
import { Compression, type Flags, type IDMappingOptions, type Layer } from './types.js';

export interface CreateLayerOptions extends IDMappingOptions {
  id?: string;
  /** Parent layer ID or name; none for a base layer. */
  parent?: string;
  names?: string[];
  mountLabel?: string;
  /** Ask the driver for a read-write layer (containers' layers are). */
  writeable?: boolean;
  storageOpt?: Record<string, string>;
  flags?: Flags;
}

export interface DiffOptions {
  /** Overrides the compression recorded for the layer when its diff was applied. */
  compression?: Compression;
}

/** CreateLayer/PutLayer: the ID mappings default to the parent's, else the store's. */
export function putLayer(core: StoreCore, opts: CreateLayerOptions, diff?: Readable): Promise<{ layer: Layer; size: number }> {
  return core.locked({ layers: true, containers: true }, async (held) => {
    let parent: Layer | undefined;
    if (opts.parent !== undefined && opts.parent !== '') {
      parent = core.layers.get(opts.parent);
      const user = core.containers.byLayer(parent.id);
      if (user !== undefined) throw new ErrParentIsContainer(`layer ${parent.id} belongs to container ${user.id}`);
    }
    const inherit = (explicit: IDMappingOptions['uidMap'], host: boolean | undefined, from: Layer['uidMap']) =>
      host === true ? [] : explicit !== undefined && explicit.length > 0 ? explicit : from;
    const { layer, size } = await core.layers.create(held.layers, {
      id: opts.id,
      parent,
      names: opts.names,
      mountLabel: opts.mountLabel,
      writeable: opts.writeable,
      uidMap: inherit(opts.uidMap, opts.hostUIDMapping, parent?.uidMap ?? core.uidMap),
      gidMap: inherit(opts.gidMap, opts.hostGIDMapping, parent?.gidMap ?? core.gidMap),
      storageOpt: opts.storageOpt,
      flags: opts.flags,
      diff,
    });
    return { layer: copy(layer), size };
  });
}

export function applyDiff(core: StoreCore, to: string, diff: Readable): Promise<number> {
  return core.locked({ layers: true }, (held) => core.layers.applyDiff(held.layers, core.layers.get(to), diff));
}

export function changes(core: StoreCore, from: string, to: string): Promise<Change[]> {
  return core.locked({ layers: true }, async () => {
    const pair = core.layers.resolvePair(from, to);
    return core.driver.changes(pair.to.id, pair.fromID, mappings(pair.to));
  });
}

export function diffSize(core: StoreCore, from: string, to: string): Promise<number> {
  return core.locked({ layers: true }, async () => {
    const pair = core.layers.resolvePair(from, to);
    return core.driver.diffSize(pair.to.id, pair.fromID, mappings(pair.to));
  });
}

/** The layer's changes as a tar, compressed as its applied diff was; holds the lock until read. */
export async function diff(core: StoreCore, from: string, to: string, opts: DiffOptions = {}): Promise<Readable> {
  const { release } = await core.acquire({ layers: true });
  try {
    const pair = core.layers.resolvePair(from, to);
    const compression = opts.compression ?? pair.to.compressionType;
    if (compression !== Compression.Uncompressed && compression !== Compression.Gzip) {
      throw new ErrCompressionUnsupported(`writing a ${compressionName[compression]}-compressed diff of layer ${pair.to.id}`);
    }
    const tar = await core.driver.diff(pair.to.id, pair.fromID, mappings(pair.to));
    const out = compression === Compression.Gzip ? pipeline(tar, createGzip(), () => undefined) : tar;
    finished(out, () => void release());
    return out;
  } catch (err) {
    await release();
    throw err;
  }
}

/** Mounts a layer, or a container's layer with the container's mappings and mount flags. */
export function mount(core: StoreCore, id: string, mountLabel = ''): Promise<string> {
  return core.locked({ layers: true, containers: true }, async () => {
    const opts: LayerMountOpts = { mountLabel };
    let layerID = id;
    const container = core.containers.lookup(id);
    if (container !== undefined) {
      layerID = container.layerID;
      if (container.uidMap.length > 0) opts.uidMap = container.uidMap;
      if (container.gidMap.length > 0) opts.gidMap = container.gidMap;
      const mountOpts = container.flags.MountOpts;
      if (Array.isArray(mountOpts)) opts.options = mountOpts.filter((o): o is string => typeof o === 'string');
      if (container.flags.Volatile === true) opts.volatile = true;
    }
    return core.layers.mount(core.layers.get(layerID), opts);
  });
}

/** Mounts an image's top layer read-only. */
export function mountImage(core: StoreCore, id: string, mountOptions: string[], mountLabel = ''): Promise<string> {
  return core.locked({ layers: true, images: true }, async () => {
    const image = core.images.get(id);
    for (const o of mountOptions) if (o === 'rw') throw new ErrInvalidOption(`image ${image.id}: "rw" mount option not supported`);
    return core.layers.mount(core.layers.get(image.topLayer), { mountLabel, options: [...mountOptions, 'ro'] });
  });
}

/** Unmounts a layer, a container's layer, or whatever is mounted at a path; returns whether still mounted. */
export function unmount(core: StoreCore, id: string, force = false): Promise<boolean> {
  return core.locked({ layers: true, containers: true }, async () => {
    const layerID = core.containers.lookup(id)?.layerID ?? id;
    const layer = core.layers.lookup(layerID) ?? core.layers.byMountPoint(id) ?? core.layers.get(layerID);
    return core.layers.unmount(layer, force);
  });
}

export function unmountImage(core: StoreCore, id: string, force = false): Promise<boolean> {
  return core.locked({ layers: true, images: true }, async () => {
    const image = core.images.get(id);
    return core.layers.unmount(core.layers.get(image.topLayer), force);
  });
}

export function mounted(core: StoreCore, id: string): Promise<number> {
  return core.locked({ layers: true, containers: true }, async () => {
    const layerID = core.containers.lookup(id)?.layerID ?? id;
    return core.layers.get(layerID).mountCount;
  });
}

export function setLayerBigData(core: StoreCore, id: string, key: string, data: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): Promise<void> {
  return core.locked({ layers: true }, async (held) => {
    const layer = core.layers.get(id);
    await atomicWriteStream(core.layers.bigDataPath(layer, key), data);
    if (!layer.bigDataNames.includes(key)) {
      layer.bigDataNames.push(key);
      await core.layers.records.save(held.layers);
    }
  });
}

export function layerBigData(core: StoreCore, id: string, key: string): Promise<Readable> {
  return core.locked({ layers: true }, async () => {
    const layer = core.layers.get(id);
    try {
      // Opened under the lock: a later atomic replacement cannot change what this reader sees.
      return (await open(core.layers.bigDataPath(layer, key), 'r')).createReadStream();
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw err;
      throw new ErrBigDataUnknown(`locating item named "${key}" for layer with ID "${layer.id}"`);
    }
  });
}

/** The layer's size when a diff recorded it, else -1 (containers/storage's LayerSize). */
export function layerSize(core: StoreCore, id: string): Promise<number> {
  return core.locked({ layers: true }, async () => {
    const layer = core.layers.get(id);
    return layer.uncompressedDigest !== '' ? layer.uncompressedSize : -1;
  });
}

/** Host UIDs/GIDs owning the directories above a mapped layer's mount point, unmapped inside it. */
export function layerParentOwners(core: StoreCore, id: string): Promise<{ uids: number[]; gids: number[] }> {
  return core.locked({ layers: true, containers: true }, async () => {
    const layerID = core.containers.lookup(id)?.layerID ?? id;
    const layer = core.layers.get(layerID);
    if (layer.uidMap.length === 0 && layer.gidMap.length === 0) return { uids: [], gids: [] };
    // Which directories to look at is only known while the layer is mounted.
    if (layer.mountPoint === '') throw new ErrLayerNotMounted(`layer ${layer.id}`);
    const uids = new Set<number>();
    const gids = new Set<number>();
    for (let dir = dirname(layer.mountPoint); dir !== '/' && dir !== '.'; dir = dirname(dir)) {
      const st = await stat(dir);
      if (toContainer(layer.uidMap, st.uid) === undefined) uids.add(st.uid);
      if (toContainer(layer.gidMap, st.gid) === undefined) gids.add(st.gid);
    }
    return { uids: [...uids].sort((a, b) => a - b), gids: [...gids].sort((a, b) => a - b) };
  });
}
