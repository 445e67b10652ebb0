/**
 * Image records (`<graphroot>/<driver>-images/images.json`) and their big data. An image is
 * findable by its own digest and by the digest of every big data item named `manifest…`.
 * As in layers.ts, the caller holds the images lock and has called `refresh`.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '../errors.js';
import { bigDataPath, sha256Digest, validDigest } from './bigdata.js';
import { imageCodec } from './codec.js';
import {
  ErrBigDataUnknown,
  ErrCorruptStore,
  ErrDigestUnknown,
  ErrImageUnknown,
  ErrInvalidDigest,
  ErrSizeUnknown,
  ErrStoreDuplicateID,
} from './errors.js';
import { nowTime } from './go-json.js';
import { generateID } from './ids.js';
import { atomicWriteFile } from './json-file.js';
import type { Held, StoreLock } from './lock.js';
import { dedupeNames, without } from './names.js';
import { isLockDir, RecordFile } from './record-file.js';
import type { Image } from './types.js';

/** Big data items whose digest identifies the image (containers/storage's manifest prefix). */
export const MANIFEST_PREFIX = 'manifest';

export interface NewImage {
  id?: string;
  names?: string[];
  topLayer: string;
  metadata?: string;
  /** RFC 3339; now when omitted. */
  created?: string;
  digest?: string;
}

/** Computes the digest list from the fixed digest and the manifests' digests; throws on bad ones. */
function recomputeDigests(image: Image): void {
  const digests: string[] = [];
  if (image.digest !== '') {
    if (!validDigest(image.digest)) throw new ErrInvalidDigest(`image ${image.id} digest "${image.digest}"`);
    digests.push(image.digest);
  }
  for (const [name, d] of Object.entries(image.bigDataDigests)) {
    if (!name.startsWith(MANIFEST_PREFIX)) continue;
    if (!validDigest(d)) throw new ErrInvalidDigest(`image ${image.id} big data item "${name}" digest "${d}"`);
    if (!digests.includes(d)) digests.push(d);
  }
  if (image.digest === '' && digests.length > 0) image.digest = digests[0] as string;
  image.digests = digests;
}

export class ImageStore {
  readonly records: RecordFile<Image>;

  constructor(
    readonly dir: string,
    lock: StoreLock,
  ) {
    this.records = new RecordFile('image', join(dir, 'images.json'), lock, imageCodec);
  }

  async refresh(held: Held): Promise<void> {
    if (!(await this.records.changed())) return;
    const repaired = await this.records.load();
    for (const image of this.records.records) {
      try {
        recomputeDigests(image);
      } catch (err) {
        throw new ErrCorruptStore(`${this.records.file}: ${(err as Error).message}`, { cause: err });
      }
    }
    if (repaired) await this.records.save(held);
  }

  lookup(idOrName: string): Image | undefined {
    return this.records.lookup(idOrName);
  }

  get(idOrName: string): Image {
    const image = this.lookup(idOrName);
    if (image === undefined) throw new ErrImageUnknown(`locating image with ID "${idOrName}"`);
    return image;
  }

  byDigest(digest: string): Image[] {
    return this.records.records.filter((i) => i.digests.includes(digest));
  }

  async create(held: Held, spec: NewImage): Promise<Image> {
    const id = spec.id !== undefined && spec.id !== '' ? spec.id : generateID((x) => this.records.hasID(x));
    if (this.records.hasID(id)) throw new ErrStoreDuplicateID(`an image with ID "${id}" already exists`);
    const names = dedupeNames(spec.names ?? []);
    this.records.checkNamesFree(names);
    const image: Image = {
      id,
      digest: spec.digest ?? '',
      digests: [],
      names,
      namesHistory: [],
      topLayer: spec.topLayer,
      mappedTopLayers: [],
      metadata: spec.metadata ?? '',
      bigDataNames: [],
      bigDataSizes: {},
      bigDataDigests: {},
      created: spec.created ?? nowTime(),
      flags: {},
      readOnly: false,
    };
    recomputeDigests(image);
    this.records.add(image);
    await this.records.save(held);
    return image;
  }

  async delete(held: Held, image: Image): Promise<void> {
    this.records.remove(image);
    await this.records.save(held);
    await rm(join(this.dir, image.id), { recursive: true, force: true });
  }

  async wipe(held: Held): Promise<void> {
    for (const image of [...this.records.records]) await this.delete(held, image);
  }

  /** Names in order of last use, newest first, as Go keeps `names-history`. */
  setNames(held: Held, image: Image, names: string[]): Promise<void> {
    this.records.setNames(image, names);
    for (const name of names) image.namesHistory = dedupeNames([name, ...image.namesHistory]);
    return this.records.save(held);
  }

  setMetadata(held: Held, image: Image, metadata: string): Promise<void> {
    image.metadata = metadata;
    return this.records.save(held);
  }

  setFlag(held: Held, image: Image, flag: string, value: unknown): Promise<void> {
    image.flags[flag] = value;
    return this.records.save(held);
  }

  clearFlag(held: Held, image: Image, flag: string): Promise<void> {
    delete image.flags[flag];
    return this.records.save(held);
  }

  async removeMappedTopLayer(held: Held, image: Image, layerID: string): Promise<void> {
    if (!image.mappedTopLayers.includes(layerID)) return;
    image.mappedTopLayers = without(image.mappedTopLayers, layerID);
    await this.records.save(held);
  }

  /**
   * Stores an item; a `manifest…` item's digest comes from `digestManifest` (default: sha256 of
   * the bytes) and makes the image findable by it.
   */
  async setBigData(
    held: Held,
    image: Image,
    key: string,
    data: Buffer,
    digestManifest: (data: Buffer) => string = sha256Digest,
  ): Promise<void> {
    const path = bigDataPath(this.dir, image.id, key, 'image');
    const digest = key.startsWith(MANIFEST_PREFIX) ? digestManifest(data) : sha256Digest(data);
    await atomicWriteFile(path, data);
    const changed =
      image.bigDataSizes[key] !== data.length ||
      image.bigDataDigests[key] !== digest ||
      !image.bigDataNames.includes(key);
    image.bigDataSizes[key] = data.length;
    image.bigDataDigests[key] = digest;
    if (!image.bigDataNames.includes(key)) image.bigDataNames.push(key);
    recomputeDigests(image);
    if (changed) await this.records.save(held);
  }

  async bigData(image: Image, key: string): Promise<Buffer> {
    const path = bigDataPath(this.dir, image.id, key, 'image');
    try {
      return await readFile(path);
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw err;
      throw new ErrBigDataUnknown(
        `locating item named "${key}" for image with ID "${image.id}" (consider removing the image to resolve the issue)`,
      );
    }
  }

  async bigDataSize(image: Image, key: string): Promise<number> {
    const known = image.bigDataSizes[key];
    if (known !== undefined) return known;
    try {
      return (await stat(bigDataPath(this.dir, image.id, key, 'image'))).size;
    } catch {
      throw new ErrSizeUnknown(`image ${image.id} big data item "${key}"`);
    }
  }

  bigDataDigest(image: Image, key: string): string {
    const d = image.bigDataDigests[key];
    if (d === undefined) throw new ErrDigestUnknown(`image ${image.id} big data item "${key}"`);
    return d;
  }

  /** Removes data directories of images that no longer exist. */
  async garbageCollect(): Promise<void> {
    let entries;
    try {
      entries = await readdir(this.dir, { withFileTypes: true });
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return;
      throw err;
    }
    for (const e of entries) {
      if (e.isDirectory() && !isLockDir(e.name) && !this.records.hasID(e.name)) await rm(join(this.dir, e.name), { recursive: true, force: true });
    }
  }
}
