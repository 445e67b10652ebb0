/**
 * The layer records (`<graphroot>/<driver>-layers/layers.json`) kept in step with the driver.
 * Every method expects the caller (store.ts) to hold the layers lock and to have called
 * `refresh`. A layer is recorded with the `incomplete` flag before the driver creates it and
 * before it is removed, so whatever a killed process leaves behind is removed on the next load.
 */
import { rm, unlink } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import type { Readable } from 'node:stream';
import type { CreateOpts, Driver, IDMappings } from '../driver.js';
import { ErrLayerUnknown, is, wrap } from '../errors.js';
import { bigDataPath } from './bigdata.js';
import { layerCodec } from './codec.js';
import { ingestDiff } from './digest.js';
import { ErrInvalidMappings, ErrStoreDuplicateID, ErrStoreLayerUnknown } from './errors.js';
import { nowTime } from './go-json.js';
import { generateID } from './ids.js';
import { sameMaps } from './idmap.js';
import type { Held, StoreLock } from './lock.js';
import { warn } from './log.js';
import { isMountPoint, readMounts, writeMounts } from './mounts.js';
import { dedupeNames } from './names.js';
import { RecordFile } from './record-file.js';
import { Compression, type Flags, type IDMap, type Layer } from './types.js';

export const INCOMPLETE_FLAG = 'incomplete';
/** containers/storage's saved tar-split data; strata never writes it but removes it with its layer. */
const TAR_SPLIT_SUFFIX = '.tar-split.gz';

export interface NewLayer {
  id?: string;
  parent?: Layer;
  names?: string[];
  mountLabel?: string;
  writeable?: boolean;
  uidMap?: IDMap[];
  gidMap?: IDMap[];
  storageOpt?: Record<string, string>;
  flags?: Flags;
  diff?: Readable;
}

export interface LayerMountOpts {
  mountLabel?: string;
  uidMap?: IDMap[];
  gidMap?: IDMap[];
  options?: string[];
  volatile?: boolean;
}

export class LayerStore {
  readonly records: RecordFile<Layer>;
  readonly mountsFile: string;

  constructor(
    readonly dir: string,
    readonly runDir: string,
    readonly driver: Driver,
    lock: StoreLock,
  ) {
    this.records = new RecordFile('layer', join(dir, 'layers.json'), lock, layerCodec);
    this.mountsFile = join(runDir, 'mountpoints.json');
  }

  /** Picks up other writers' changes, removes layers left incomplete, and re-reads mount counts. */
  async refresh(held: Held): Promise<void> {
    if (await this.records.changed()) {
      const repaired = await this.records.load();
      let removed = false;
      for (const layer of [...this.records.records]) {
        if (layer.flags[INCOMPLETE_FLAG] !== true) continue;
        warn(`found incomplete layer ${layer.id}, deleting it`);
        await this.#deleteInternal(held, layer);
        removed = true;
      }
      if (repaired || removed) await this.records.save(held);
    }
    await this.#loadMounts();
  }

  async #loadMounts(): Promise<void> {
    for (const layer of this.records.records) {
      layer.mountPoint = '';
      layer.mountCount = 0;
    }
    for (const m of await readMounts(this.mountsFile)) {
      const layer = this.records.byId(m.id);
      if (layer === undefined || m.path === '') continue;
      layer.mountPoint = m.path;
      layer.mountCount = m.count;
    }
  }

  async #saveMounts(): Promise<void> {
    await writeMounts(
      this.mountsFile,
      this.records.records.map((l) => ({ id: l.id, path: l.mountPoint, count: l.mountCount })),
    );
  }

  lookup(idOrName: string): Layer | undefined {
    return this.records.lookup(idOrName);
  }

  /** The layer, or ErrLayerUnknown naming what was asked for. */
  get(idOrName: string): Layer {
    const layer = this.lookup(idOrName);
    if (layer === undefined) throw new ErrStoreLayerUnknown(`layer "${idOrName}"`);
    return layer;
  }

  /** Creates a layer and, given a diff, fills it; any failure removes the layer again. */
  async create(held: Held, spec: NewLayer): Promise<{ layer: Layer; size: number }> {
    const id = spec.id !== undefined && spec.id !== '' ? spec.id : generateID((x) => this.records.hasID(x));
    if (this.records.hasID(id)) throw new ErrStoreDuplicateID(`layer ID "${id}"`);
    const names = dedupeNames(spec.names ?? []);
    this.records.checkNamesFree(names);
    const parent = spec.parent?.id ?? '';
    const layer: Layer = {
      id,
      names,
      parent,
      metadata: '',
      mountLabel: spec.mountLabel ?? '',
      mountPoint: '',
      mountCount: 0,
      created: nowTime(),
      compressedDigest: '',
      compressedSize: 0,
      uncompressedDigest: '',
      uncompressedSize: 0,
      compressionType: Compression.Uncompressed,
      uidSet: [],
      gidSet: [],
      flags: { ...(spec.flags ?? {}), [INCOMPLETE_FLAG]: true },
      uidMap: [...(spec.uidMap ?? [])],
      gidMap: [...(spec.gidMap ?? [])],
      bigDataNames: [],
      readOnly: false,
    };
    this.records.add(layer);
    let size = -1;
    try {
      // Recorded first: if we die from here on, the next load removes the leftovers.
      await this.records.save(held);
      const opts: CreateOpts = {
        mountLabel: layer.mountLabel,
        storageOpt: spec.storageOpt,
        idMappings: mappings(layer),
      };
      try {
        if (spec.writeable === true) await this.driver.createReadWrite(id, parent, opts);
        else await this.driver.create(id, parent, opts);
      } catch (err) {
        throw wrap(err, `creating ${spec.writeable === true ? 'read-write ' : ''}layer with ID "${id}"`);
      }
      // A layer mapped otherwise than its parent holds the parent's files with their owners changed.
      const parentLayer = spec.parent;
      if (parentLayer !== undefined && this.driver.updateLayerIDMap !== undefined &&
          (!sameMaps(parentLayer.uidMap, layer.uidMap) || !sameMaps(parentLayer.gidMap, layer.gidMap))) {
        await this.driver.updateLayerIDMap(id, mappings(parentLayer), mappings(layer));
      }
      if (spec.diff !== undefined) size = await this.#applyDiff(layer, spec.diff);
      delete layer.flags[INCOMPLETE_FLAG];
      await this.records.save(held);
    } catch (err) {
      await this.#deleteInternal(held, layer).catch((e: unknown) => {
        warn(`while recovering from a failure, error deleting layer ${id}: ${(e as Error).message}`);
      });
      await this.records.save(held).catch(() => undefined);
      throw err;
    }
    return { layer, size };
  }

  /** Applies a layer tar (possibly compressed) and records its digests, sizes and owners. */
  async applyDiff(held: Held, layer: Layer, diff: Readable): Promise<number> {
    const size = await this.#applyDiff(layer, diff);
    await this.records.save(held);
    return size;
  }

  async #applyDiff(layer: Layer, diff: Readable): Promise<number> {
    const { result, summary } = await ingestDiff(diff, (tar) =>
      this.driver.applyDiff(layer.id, layer.parent, {
        diff: tar,
        mappings: mappings(layer),
        mountLabel: layer.mountLabel,
      }),
    );
    layer.compressedDigest = summary.compressedDigest;
    layer.compressedSize = summary.compressedSize;
    layer.uncompressedDigest = summary.uncompressedDigest;
    layer.uncompressedSize = summary.uncompressedSize;
    layer.compressionType = summary.compression;
    layer.uidSet = summary.uidSet;
    layer.gidSet = summary.gidSet;
    return result;
  }

  /** Unmounts as often as needed, then removes the layer's data and record. */
  async delete(held: Held, layer: Layer): Promise<void> {
    while (layer.mountCount > 0) await this.unmount(layer, false);
    await this.#deleteInternal(held, layer);
    await this.records.save(held);
  }

  async #deleteInternal(held: Held, layer: Layer): Promise<void> {
    if (layer.flags[INCOMPLETE_FLAG] !== true) {
      // A crash during removal must leave a record the next load finishes removing.
      layer.flags[INCOMPLETE_FLAG] = true;
      await this.records.save(held);
    }
    try {
      await this.driver.remove(layer.id);
    } catch (err) {
      // Never created (or already gone): nothing left to remove.
      if (!is(err, ErrLayerUnknown)) throw err;
    }
    await unlink(join(this.dir, layer.id + TAR_SPLIT_SUFFIX)).catch(() => undefined);
    await rm(join(this.dir, layer.id), { recursive: true, force: true });
    this.records.remove(layer);
  }

  /** Removes every layer, children before their parents (as Go does by deleting newest first). */
  async wipe(held: Held): Promise<void> {
    while (this.records.records.length > 0) {
      const parents = new Set(this.records.records.map((l) => l.parent));
      const leaves = this.records.records.filter((l) => !parents.has(l.id));
      // A parent cycle cannot come from strata; remove what is left in any order rather than loop.
      for (const layer of leaves.length > 0 ? leaves : [...this.records.records]) await this.delete(held, layer);
    }
  }

  /** Removes driver layers and data directories that no record refers to. */
  async garbageCollect(): Promise<void> {
    for (const id of await this.driver.listLayers()) {
      if (this.records.hasID(id)) continue;
      warn(`removing unreferenced layer ${id}`);
      await this.driver.remove(id);
      await unlink(join(this.dir, id + TAR_SPLIT_SUFFIX)).catch(() => undefined);
      await rm(join(this.dir, id), { recursive: true, force: true });
    }
  }

  /** Mounts (or re-counts an existing mount of) a layer and returns its path. */
  async mount(layer: Layer, opts: LayerMountOpts): Promise<string> {
    if (layer.mountCount > 0 && (await isMountPoint(layer.mountPoint))) {
      layer.mountCount++;
      await this.#saveMounts();
      return layer.mountPoint;
    }
    const [uidMap, gidMap] = [opts.uidMap ?? [], opts.gidMap ?? []];
    // Mappings shifted at mount time apply to an unmapped layer only: a mapped one holds host IDs already.
    const shift = (uidMap.length > 0 || gidMap.length > 0) && unmapped(layer) && this.driver.supportsShifting?.(uidMap, gidMap) === true;
    const wantsMaps = opts.uidMap !== undefined || opts.gidMap !== undefined;
    if (wantsMaps && !shift && (!sameMaps(uidMap, layer.uidMap) || !sameMaps(gidMap, layer.gidMap))) {
      throw new ErrInvalidMappings(`cannot mount layer ${layer.id}: shifting not enabled`);
    }
    const path = await this.driver.get(layer.id, {
      mountLabel: opts.mountLabel !== undefined && opts.mountLabel !== '' ? opts.mountLabel : layer.mountLabel,
      options: opts.options,
      volatile: opts.volatile,
      ...(shift ? { uidMaps: uidMap, gidMaps: gidMap } : {}),
    });
    layer.mountPoint = normalize(path);
    layer.mountCount++;
    await this.#saveMounts();
    return path;
  }

  /** The layer mounted at `path`, for unmount by mount point. */
  byMountPoint(path: string): Layer | undefined {
    const want = normalize(path);
    return this.records.records.find((l) => l.mountPoint !== '' && l.mountPoint === want);
  }

  /** Drops one mount (all with force); returns whether the layer is still mounted. */
  async unmount(layer: Layer, force: boolean): Promise<boolean> {
    if (force) layer.mountCount = 1;
    if (layer.mountCount > 1) {
      layer.mountCount--;
      await this.#saveMounts();
      return true;
    }
    await this.driver.put(layer.id);
    layer.mountCount = 0;
    layer.mountPoint = '';
    await this.#saveMounts();
    return false;
  }

  setNames(held: Held, layer: Layer, names: string[]): Promise<void> {
    this.records.setNames(layer, names);
    return this.records.save(held);
  }

  setMetadata(held: Held, layer: Layer, metadata: string): Promise<void> {
    layer.metadata = metadata;
    return this.records.save(held);
  }

  setFlag(held: Held, layer: Layer, flag: string, value: unknown): Promise<void> {
    layer.flags[flag] = value;
    return this.records.save(held);
  }

  clearFlag(held: Held, layer: Layer, flag: string): Promise<void> {
    delete layer.flags[flag];
    return this.records.save(held);
  }

  bigDataPath(layer: Layer, key: string): string {
    return bigDataPath(this.dir, layer.id, key, 'layer');
  }

  /** Resolves `from` (default: the parent) and `to` as containers/storage's findParentAndLayer. */
  resolvePair(from: string, to: string): { from: Layer | undefined; fromID: string; to: Layer } {
    const toLayer = this.get(to);
    let fromID = from === '' ? toLayer.parent : from;
    let fromLayer: Layer | undefined;
    if (fromID !== '') {
      fromLayer = this.lookup(fromID) ?? this.lookup(toLayer.parent);
      if (fromLayer !== undefined) fromID = fromLayer.id;
    }
    return { from: fromLayer, fromID, to: toLayer };
  }
}

/** A layer stored with container IDs as they are (no mappings of its own). */
export function unmapped(layer: Pick<Layer, 'uidMap' | 'gidMap'>): boolean {
  return layer.uidMap.length === 0 && layer.gidMap.length === 0;
}

/** The driver-side ID mappings of a layer, or undefined when it has none. */
export function mappings(layer: Pick<Layer, 'uidMap' | 'gidMap'>): IDMappings | undefined {
  if (unmapped(layer)) return undefined;
  return { uidMap: layer.uidMap, gidMap: layer.gidMap };
}
