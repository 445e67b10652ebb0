/**
 * The Store: layers, images and containers on one graph driver, as containers/storage's Store.
 * Every method locks what it touches (in one fixed order), first reloading anything another
 * process saved, so any number of processes can share a graph root.
 *
 *   const store = await Store.open({ graphRoot, runRoot, driver: 'vfs' });
 *   const { layer } = await store.putLayer({ names: ['base'] }, fs.createReadStream('base.tar.gz'));
 */
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Change, Driver, DriverStatus } from '../driver.js';
import type { Decision } from '../registry.js';
import { digestError } from './bigdata.js';
import { copy, StoreCore, type StoreOptions } from './core.js';
import { ErrContainerUnknown, ErrInvalidDigest, ErrNotAContainer } from './errors.js';
import { StoreLock } from './lock.js';
import type { NameOperation } from './names.js';
import * as any from './ops-any.js';
import * as containers from './ops-containers.js';
import * as images from './ops-images.js';
import * as layers from './ops-layers.js';
import type { Container, IDMap, Image, Layer } from './types.js';
import { STRATA_VERSION } from './version.js';

export type { StoreOptions } from './core.js';
export type { CreateLayerOptions, DiffOptions } from './ops-layers.js';
export type { CreateImageOptions } from './ops-images.js';
export type { CreateContainerOptions } from './ops-containers.js';

export class Store {
  private constructor(private readonly core: StoreCore) {}

  static async open(options: StoreOptions): Promise<Store> {
    return new Store(await StoreCore.open(options));
  }

  get graphRoot(): string {
    return this.core.graphRoot;
  }
  get runRoot(): string {
    return this.core.runRoot;
  }
  get driverName(): string {
    return this.core.driverName;
  }
  get driver(): Driver {
    return this.core.driver;
  }
  /** Driver options as given, e.g. `['vfs.ignore_chown_errors=true']`. */
  get graphOptions(): string[] {
    return [...this.core.graphOptions];
  }
  /** Why the driver was chosen and why others were skipped. */
  get decisions(): Decision[] {
    return this.core.decisions.map((d) => ({ ...d }));
  }
  get uidMap(): IDMap[] {
    return copy(this.core.uidMap);
  }
  get gidMap(): IDMap[] {
    return copy(this.core.gidMap);
  }

  // Layers.

  async createLayer(opts: layers.CreateLayerOptions = {}): Promise<Layer> {
    return (await layers.putLayer(this.core, opts)).layer;
  }
  /** createLayer + applyDiff; on any failure the new layer is removed again. */
  putLayer(opts: layers.CreateLayerOptions, diff: Readable): Promise<{ layer: Layer; size: number }> {
    return layers.putLayer(this.core, opts, diff);
  }
  applyDiff(to: string, diff: Readable): Promise<number> {
    return layers.applyDiff(this.core, to, diff);
  }
  layer(id: string): Promise<Layer> {
    return this.core.locked({ layers: true }, async () => copy(this.core.layers.get(id)));
  }
  layers(): Promise<Layer[]> {
    return this.core.locked({ layers: true }, async () => this.core.layers.records.records.map(copy));
  }
  layersByCompressedDigest(digest: string): Promise<Layer[]> {
    return this.core.locked({ layers: true }, async () =>
      this.core.layers.records.records.filter((l) => l.compressedDigest === digest).map(copy),
    );
  }
  layersByUncompressedDigest(digest: string): Promise<Layer[]> {
    return this.core.locked({ layers: true }, async () =>
      this.core.layers.records.records.filter((l) => l.uncompressedDigest === digest).map(copy),
    );
  }
  layerSize(id: string): Promise<number> {
    return layers.layerSize(this.core, id);
  }
  layerParentOwners(id: string): Promise<{ uids: number[]; gids: number[] }> {
    return layers.layerParentOwners(this.core, id);
  }
  /** Refuses while another layer, an image or a container uses the layer. */
  deleteLayer(id: string): Promise<void> {
    return any.deleteLayer(this.core, id);
  }
  changes(from: string, to: string): Promise<Change[]> {
    return layers.changes(this.core, from, to);
  }
  diffSize(from: string, to: string): Promise<number> {
    return layers.diffSize(this.core, from, to);
  }
  /**
   * A tar of `to`'s changes against `from` (default: its parent). The layers lock is held until
   * the stream ends or is destroyed, so read it through before other calls on this store.
   */
  diff(from: string, to: string, opts?: layers.DiffOptions): Promise<Readable> {
    return layers.diff(this.core, from, to, opts);
  }
  /** Mounts a layer or a container; a second mount reuses the first and counts it. */
  mount(id: string, mountLabel?: string): Promise<string> {
    return layers.mount(this.core, id, mountLabel);
  }
  mountImage(id: string, mountOptions: string[] = [], mountLabel?: string): Promise<string> {
    return layers.mountImage(this.core, id, mountOptions, mountLabel);
  }
  /** Returns whether the layer is still mounted (by other users); `force` drops every mount. */
  unmount(id: string, force = false): Promise<boolean> {
    return layers.unmount(this.core, id, force);
  }
  unmountImage(id: string, force = false): Promise<boolean> {
    return layers.unmountImage(this.core, id, force);
  }
  mounted(id: string): Promise<number> {
    return layers.mounted(this.core, id);
  }
  setLayerBigData(id: string, key: string, data: AsyncIterable<Uint8Array | string> | Uint8Array): Promise<void> {
    const iterable = data instanceof Uint8Array ? [data] : data;
    return layers.setLayerBigData(this.core, id, key, iterable);
  }
  layerBigData(id: string, key: string): Promise<Readable> {
    return layers.layerBigData(this.core, id, key);
  }
  listLayerBigData(id: string): Promise<string[]> {
    return this.core.locked({ layers: true }, async () => [...this.core.layers.get(id).bigDataNames]);
  }
  setLayerFlag(id: string, flag: string, value: unknown): Promise<void> {
    return this.core.locked({ layers: true }, (h) => this.core.layers.setFlag(h.layers, this.core.layers.get(id), flag, value));
  }
  clearLayerFlag(id: string, flag: string): Promise<void> {
    return this.core.locked({ layers: true }, (h) => this.core.layers.clearFlag(h.layers, this.core.layers.get(id), flag));
  }

  // Images.

  createImage(opts: images.CreateImageOptions = {}): Promise<Image> {
    return images.createImage(this.core, opts);
  }
  image(id: string): Promise<Image> {
    return this.core.locked({ images: true }, async () => copy(this.core.images.get(id)));
  }
  images(): Promise<Image[]> {
    return this.core.locked({ images: true }, async () => this.core.images.records.records.map(copy));
  }
  imagesByDigest(digest: string): Promise<Image[]> {
    return images.imagesByDigest(this.core, digest);
  }
  imagesByTopLayer(id: string): Promise<Image[]> {
    return images.imagesByTopLayer(this.core, id);
  }
  /** Removes the image and the layers only it used; with `commit` false, only reports them. */
  deleteImage(id: string, commit = true): Promise<string[]> {
    return images.deleteImage(this.core, id, commit);
  }
  imageSize(id: string): Promise<number> {
    return images.imageSize(this.core, id);
  }
  setImageBigData(id: string, key: string, data: Buffer, digestManifest?: (data: Buffer) => string): Promise<void> {
    return images.setImageBigData(this.core, id, key, data, digestManifest);
  }
  imageBigData(id: string, key: string): Promise<Buffer> {
    return images.imageBigData(this.core, id, key);
  }
  imageBigDataSize(id: string, key: string): Promise<number> {
    return images.imageBigDataSize(this.core, id, key);
  }
  imageBigDataDigest(id: string, key: string): Promise<string> {
    return images.imageBigDataDigest(this.core, id, key);
  }
  listImageBigData(id: string): Promise<string[]> {
    return this.core.locked({ images: true }, async () => [...this.core.images.get(id).bigDataNames]);
  }
  imageDirectory(id: string): Promise<string> {
    return images.imageDirectory(this.core, id, 'graph');
  }
  imageRunDirectory(id: string): Promise<string> {
    return images.imageDirectory(this.core, id, 'run');
  }
  setImageFlag(id: string, flag: string, value: unknown): Promise<void> {
    return this.core.locked({ images: true }, (h) => this.core.images.setFlag(h.images, this.core.images.get(id), flag, value));
  }
  clearImageFlag(id: string, flag: string): Promise<void> {
    return this.core.locked({ images: true }, (h) => this.core.images.clearFlag(h.images, this.core.images.get(id), flag));
  }

  // Containers.

  createContainer(opts: containers.CreateContainerOptions): Promise<Container> {
    return containers.createContainer(this.core, opts);
  }
  container(id: string): Promise<Container> {
    return this.core.locked({ containers: true }, async () => copy(this.core.containers.get(id)));
  }
  containers(): Promise<Container[]> {
    return this.core.locked({ containers: true }, async () => this.core.containers.records.records.map(copy));
  }
  /** Removes the container, its layer and its directories. */
  deleteContainer(id: string): Promise<void> {
    return containers.deleteContainer(this.core, id, (x) => new ErrNotAContainer(`container "${x}"`));
  }
  containerSize(id: string): Promise<number> {
    return containers.containerSize(this.core, id);
  }
  setContainerBigData(id: string, key: string, data: Buffer): Promise<void> {
    return containers.setContainerBigData(this.core, id, key, data);
  }
  containerBigData(id: string, key: string): Promise<Buffer> {
    return containers.containerBigData(this.core, id, key);
  }
  containerBigDataSize(id: string, key: string): Promise<number> {
    return containers.containerBigDataSize(this.core, id, key);
  }
  containerBigDataDigest(id: string, key: string): Promise<string> {
    return containers.containerBigDataDigest(this.core, id, key);
  }
  listContainerBigData(id: string): Promise<string[]> {
    return this.core.locked({ containers: true }, async () => [...this.core.containers.get(id).bigDataNames]);
  }
  containerDirectory(id: string): Promise<string> {
    return containers.containerDirectory(this.core, id, 'graph');
  }
  containerRunDirectory(id: string): Promise<string> {
    return containers.containerDirectory(this.core, id, 'run');
  }
  async containerParentOwners(id: string): Promise<{ uids: number[]; gids: number[] }> {
    const c = await this.container(id).catch(() => {
      throw new ErrContainerUnknown(`container "${id}"`);
    });
    return layers.layerParentOwners(this.core, c.layerID);
  }
  setContainerFlag(id: string, flag: string, value: unknown): Promise<void> {
    return this.core.locked({ containers: true }, (h) =>
      this.core.containers.setFlag(h.containers, this.core.containers.get(id), flag, value),
    );
  }
  clearContainerFlag(id: string, flag: string): Promise<void> {
    return this.core.locked({ containers: true }, (h) =>
      this.core.containers.clearFlag(h.containers, this.core.containers.get(id), flag),
    );
  }

  // Any kind.

  /** Removes a layer, image or container without safety checks. */
  delete(id: string): Promise<void> {
    return any.deleteAny(this.core, id);
  }
  exists(id: string): Promise<boolean> {
    return any.exists(this.core, id);
  }
  lookup(name: string): Promise<string> {
    return any.lookup(this.core, name);
  }
  names(id: string): Promise<string[]> {
    return any.names(this.core, id);
  }
  setNames(id: string, names: string[]): Promise<void> {
    return this.#updateNames(id, names, 'set');
  }
  addNames(id: string, names: string[]): Promise<void> {
    return this.#updateNames(id, names, 'add');
  }
  removeNames(id: string, names: string[]): Promise<void> {
    return this.#updateNames(id, names, 'remove');
  }
  #updateNames(id: string, names: string[], op: NameOperation): Promise<void> {
    return any.updateNames(this.core, id, names, op);
  }
  metadata(id: string): Promise<string> {
    return any.metadata(this.core, id);
  }
  setMetadata(id: string, metadata: string): Promise<void> {
    return any.setMetadata(this.core, id, metadata);
  }

  // The whole store.

  /** The driver's status lines, then the driver choice and the drivers skipped, with reasons. */
  status(): Promise<DriverStatus> {
    return any.status(this.core);
  }
  async version(): Promise<DriverStatus> {
    return [['Version', STRATA_VERSION]];
  }
  wipe(): Promise<void> {
    return any.wipe(this.core);
  }
  shutdown(force = false): Promise<string[]> {
    return any.shutdown(this.core, force);
  }
  garbageCollect(): Promise<void> {
    return any.garbageCollect(this.core);
  }

  /**
   * A lock shared with every process using this store, for one blob digest (containers/storage's
   * GetDigestLock): callers that fetch or write the same blob take it so only one does the work.
   * The lock file is `<runroot>/<driver>-locks/<digest>`.
   */
  digestLock(digest: string): StoreLock {
    const why = digestError(digest);
    if (why !== undefined) throw new ErrInvalidDigest(`digest lock for "${digest}": ${why}`);
    return new StoreLock(join(this.core.digestLockRoot, digest), this.core.lockOptions);
  }
}
