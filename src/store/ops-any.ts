/** Store operations that take an ID or name of any kind, and whole-store operations. */
import { rm } from 'node:fs/promises';
import type { DriverStatus } from '../driver.js';
import type { StoreCore } from './core.js';
import {
  ErrLayerHasChildren,
  ErrLayerUsedByContainer,
  ErrLayerUsedByImage,
  ErrNotALayer,
  ErrNotAnID,
  ErrStoreLayerUnknown,
} from './errors.js';
import { applyNameOperation, dedupeNames, type NameOperation } from './names.js';

/** Removes a layer nothing depends on: no child layer, image or container. */
export function deleteLayer(core: StoreCore, id: string): Promise<void> {
  return core.locked({ layers: true, images: true, containers: true }, async (held) => {
    const layer = core.layers.lookup(id);
    if (layer === undefined) throw new ErrNotALayer(`layer "${id}"`);
    const child = core.layers.records.records.find((l) => l.parent === layer.id);
    if (child !== undefined) throw new ErrLayerHasChildren(`used by layer ${child.id}`);
    for (const image of core.images.records.records) {
      if (image.topLayer === layer.id) throw new ErrLayerUsedByImage(`layer ${layer.id} used by image ${image.id}`);
    }
    const user = core.containers.byLayer(layer.id);
    if (user !== undefined) throw new ErrLayerUsedByContainer(`layer ${layer.id} used by container ${user.id}`);
    await core.layers.delete(held.layers, layer);
    for (const image of core.images.records.records) await core.images.removeMappedTopLayer(held.images, image, layer.id);
  });
}

/** Removes whatever `id` names, without safety checks (a container takes its layer along). */
export function deleteAny(core: StoreCore, id: string): Promise<void> {
  return core.locked({ layers: true, images: true, containers: true }, async (held) => {
    const container = core.containers.lookup(id);
    if (container !== undefined) {
      const layer = core.layers.lookup(container.layerID);
      if (layer === undefined) throw new ErrNotALayer(`layer "${container.layerID}" of container ${container.id}`);
      await core.layers.delete(held.layers, layer);
      await core.containers.delete(held.containers, container);
      for (const root of ['graph', 'run'] as const) {
        await rm(core.userDataDir(root, 'container', container.id), { recursive: true, force: true });
      }
      return;
    }
    const image = core.images.lookup(id);
    if (image !== undefined) return core.images.delete(held.images, image);
    const layer = core.layers.lookup(id);
    if (layer !== undefined) return core.layers.delete(held.layers, layer);
    throw new ErrStoreLayerUnknown(`layer "${id}"`);
  });
}

export function exists(core: StoreCore, id: string): Promise<boolean> {
  return core.locked({ layers: true, images: true, containers: true }, async () => {
    return (
      core.layers.lookup(id) !== undefined || core.images.lookup(id) !== undefined || core.containers.lookup(id) !== undefined
    );
  });
}

/** The full ID of the layer, image or container `name` refers to (looked up in that order). */
export function lookup(core: StoreCore, name: string): Promise<string> {
  return core.locked({ layers: true, images: true, containers: true }, async () => {
    const found = core.layers.lookup(name) ?? core.images.lookup(name) ?? core.containers.lookup(name);
    if (found === undefined) throw new ErrStoreLayerUnknown(`layer "${name}"`);
    return found.id;
  });
}

export function names(core: StoreCore, id: string): Promise<string[]> {
  return core.locked({ layers: true, images: true, containers: true }, async () => {
    const found = core.layers.lookup(id) ?? core.images.lookup(id) ?? core.containers.lookup(id);
    if (found === undefined) throw new ErrStoreLayerUnknown(`layer "${id}"`);
    return [...found.names];
  });
}

/** Sets, adds or removes names; a name taken from another record of the same kind moves. */
export function updateNames(core: StoreCore, id: string, given: string[], op: NameOperation): Promise<void> {
  const wanted = dedupeNames(given);
  return core.locked({ layers: true, images: true, containers: true }, async (held) => {
    const layer = core.layers.lookup(id);
    if (layer !== undefined) return core.layers.setNames(held.layers, layer, applyNameOperation(layer.names, wanted, op));
    const image = core.images.lookup(id);
    if (image !== undefined) return core.images.setNames(held.images, image, applyNameOperation(image.names, wanted, op));
    const c = core.containers.lookup(id);
    if (c !== undefined) return core.containers.setNames(held.containers, c, applyNameOperation(c.names, wanted, op));
    throw new ErrStoreLayerUnknown(`layer "${id}"`);
  });
}

export function metadata(core: StoreCore, id: string): Promise<string> {
  return core.locked({ layers: true, images: true, containers: true }, async () => {
    const found = core.layers.lookup(id) ?? core.images.lookup(id) ?? core.containers.lookup(id);
    if (found === undefined) throw new ErrNotAnID(`"${id}"`);
    return found.metadata;
  });
}

export function setMetadata(core: StoreCore, id: string, value: string): Promise<void> {
  return core.locked({ layers: true, images: true, containers: true }, async (held) => {
    const layer = core.layers.lookup(id);
    if (layer !== undefined) return core.layers.setMetadata(held.layers, layer, value);
    const image = core.images.lookup(id);
    if (image !== undefined) return core.images.setMetadata(held.images, image, value);
    const c = core.containers.lookup(id);
    if (c !== undefined) return core.containers.setMetadata(held.containers, c, value);
    throw new ErrNotAnID(`"${id}"`);
  });
}

/** Removes every container, image and layer. */
export function wipe(core: StoreCore): Promise<void> {
  return core.locked({ layers: true, images: true, containers: true }, async (held) => {
    await core.containers.wipe(held.containers);
    await core.images.wipe(held.images);
    await core.layers.wipe(held.layers);
  });
}

/**
 * Stops the driver (unmounting its home, stopping helpers). Mounted layers block it unless
 * `force`, which unmounts them; returns the IDs of the layers that were mounted.
 */
export function shutdown(core: StoreCore, force: boolean): Promise<string[]> {
  return core.locked({ layers: true }, async () => {
    const mountedLayers = core.layers.records.records.filter((l) => l.mountCount > 0);
    if (mountedLayers.length > 0 && !force) {
      throw new ErrLayerUsedByContainer(`a layer is mounted (${mountedLayers.map((l) => l.id).join(', ')})`);
    }
    for (const layer of mountedLayers) await core.layers.unmount(layer, true);
    await core.driver.cleanup();
    return mountedLayers.map((l) => l.id);
  });
}

/** Removes leftovers no record refers to: data directories and driver layers. */
export function garbageCollect(core: StoreCore): Promise<void> {
  return core.locked({ layers: true, images: true, containers: true }, async () => {
    await core.containers.garbageCollect(core.kindDir('run', 'container'));
    await core.images.garbageCollect();
    await core.layers.garbageCollect();
  });
}

/** The driver's own status lines, then why it was chosen and why others were skipped. */
export async function status(core: StoreCore): Promise<DriverStatus> {
  const lines: DriverStatus = [...(await core.driver.status())];
  for (const d of core.decisions) {
    if (d.outcome === 'chosen') lines.push(['Driver Chosen', `${d.name} (${d.reason})`]);
    else lines.push(['Driver Skipped', `${d.name}: ${d.reason}`]);
  }
  return lines;
}
