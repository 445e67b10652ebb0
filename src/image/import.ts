/**
 * `import-image`: docker-archive and OCI layout archives into the store. Everything that can be
 * checked before writing is (JSON, configs, every blob present); each layer's diff ID is then
 * checked as it is applied, and any failure removes whatever this import had added. Layers the
 * store already has (same diff ID on the same parent) are reused without reading their blobs.
 */
import { basename } from 'node:path';
import { pipeline } from 'node:stream';
import { ErrInvalidOption, wrap } from '../errors.js';
import { noProgress, counting, type Progress } from '../progress.js';
import type { Store } from '../store/store.js';
import type { Image } from '../store/types.js';
import { DOCKER_MANIFEST_FILE, readDockerArchive } from './docker-archive.js';
import { ErrDigestMismatch, ErrImageFormat } from './errors.js';
import { chainLayerID, recordImage, reusableLayer } from './image-record.js';
import { DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST } from './media-types.js';
import { OCI_INDEX_FILE, OCI_LAYOUT_FILE, readOciLayout } from './oci-layout.js';
import type { ImageRecipe } from './recipe.js';
import { Rollback } from './rollback.js';
import { openSource, type ArchiveSource } from './source.js';

export type ArchiveFormat = 'docker-archive' | 'oci-layout';

export interface ImportOptions {
  /** Names for the image instead of the archive's; only for an archive of one image. */
  names?: string[];
  progress?: Progress;
}

export interface ImportedLayer {
  id: string;
  diffID: string;
  /** True when the store already had it and nothing was applied. */
  reused: boolean;
}

export interface ImportedImage {
  image: Image;
  layers: ImportedLayer[];
  /** True when the store already had this image (same config). */
  reused: boolean;
  format: ArchiveFormat;
}

/** Which format the archive is in, and its images. Docker 25 archives are both; OCI wins. */
export async function readArchive(src: ArchiveSource): Promise<{ format: ArchiveFormat; recipes: ImageRecipe[] }> {
  const hasIndex = await src.has(OCI_INDEX_FILE);
  const hasDocker = await src.has(DOCKER_MANIFEST_FILE);
  if (hasIndex && (!hasDocker || (await src.has(OCI_LAYOUT_FILE)))) return { format: 'oci-layout', recipes: await readOciLayout(src) };
  if (hasDocker) return { format: 'docker-archive', recipes: await readDockerArchive(src) };
  throw new ErrImageFormat(
    `${src.path}: not an image archive: it has neither ${DOCKER_MANIFEST_FILE} (docker-archive) nor ${OCI_INDEX_FILE} (OCI layout)`,
  );
}

export async function importImage(store: Store, path: string, opts: ImportOptions = {}): Promise<ImportedImage[]> {
  const progress = opts.progress ?? noProgress;
  const src = await openSource(path);
  try {
    const { format, recipes } = await readArchive(src);
    const names = opts.names ?? [];
    if (names.length > 0 && recipes.length !== 1) {
      throw new ErrInvalidOption(`${path} holds ${recipes.length} images; names can only be given for one`);
    }
    const undo = new Rollback(store);
    try {
      const work = await plannedWork(store, src, recipes);
      progress.start(`importing ${basename(path)}`, work.bytes, work.layers);
      const out: ImportedImage[] = [];
      for (const recipe of recipes) {
        const imported = await importOne(store, src, recipe, names.length > 0 ? names : recipe.names, undo, progress);
        out.push({ ...imported, format });
      }
      progress.stop();
      return out;
    } catch (err) {
      progress.stop();
      await undo.run();
      throw err;
    }
  } finally {
    await src.close();
  }
}

/** Bytes to read and layers to go through, counting layers the store (or this import) already has once. */
async function plannedWork(store: Store, src: ArchiveSource, recipes: ImageRecipe[]): Promise<{ bytes: number; layers: number }> {
  const planned = new Set<string>();
  let bytes = 0;
  let layers = 0;
  for (const recipe of recipes) {
    let parent = '';
    for (const blob of recipe.layers) {
      const id = chainLayerID(parent, blob.diffID);
      layers++;
      if (!planned.has(id) && (await reusableLayer(store, parent, blob.diffID)) === undefined) bytes += await src.size(blob.member);
      planned.add(id);
      parent = id;
    }
  }
  return { bytes, layers };
}

async function importOne(
  store: Store,
  src: ArchiveSource,
  recipe: ImageRecipe,
  names: string[],
  undo: Rollback,
  progress: Progress,
): Promise<Omit<ImportedImage, 'format'>> {
  const layers: ImportedLayer[] = [];
  let parent = '';
  for (const [i, blob] of recipe.layers.entries()) {
    const what = `${recipe.where}: layer ${i + 1} of ${recipe.layers.length} (${blob.member})`;
    const existing = await reusableLayer(store, parent, blob.diffID);
    if (existing !== undefined) {
      layers.push({ id: existing, diffID: blob.diffID, reused: true });
      parent = existing;
      progress.layerDone();
      continue;
    }
    const input = pipeline(src.stream(blob.member), counting(progress), () => undefined);
    let layer;
    try {
      ({ layer } = await store.putLayer({ id: chainLayerID(parent, blob.diffID), parent }, input));
    } catch (err) {
      throw wrap(err, what);
    }
    undo.layer(layer.id);
    if (layer.uncompressedDigest !== blob.diffID) {
      throw new ErrDigestMismatch(`${what}: its diff ID is ${layer.uncompressedDigest} but the image config says ${blob.diffID}`);
    }
    if (blob.digest !== undefined && layer.compressedDigest !== blob.digest) {
      throw new ErrDigestMismatch(`${what}: the blob's digest is ${layer.compressedDigest} but the manifest says ${blob.digest}`);
    }
    layers.push({ id: layer.id, diffID: blob.diffID, reused: false });
    parent = layer.id;
    progress.layerDone();
  }
  const manifest = recipe.manifest ?? (await dockerManifest(store, recipe, layers));
  const { image, reused } = await recordImage(
    store,
    {
      topLayer: parent,
      config: recipe.config,
      configDigest: recipe.configDigest,
      manifest,
      created: recipe.parsedConfig.created,
      names,
    },
    undo,
  );
  return { image, layers, reused };
}

/**
 * docker-archive has no registry manifest; as containers/image does, describe the layers by
 * their diff IDs (the archive's layer tars are read as uncompressed streams).
 */
async function dockerManifest(store: Store, recipe: ImageRecipe, layers: ImportedLayer[]): Promise<Buffer> {
  const descriptors = [];
  for (const l of layers) {
    const layer = await store.layer(l.id);
    descriptors.push({ mediaType: DOCKER_LAYER, size: layer.uncompressedSize, digest: l.diffID });
  }
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, size: recipe.config.length, digest: recipe.configDigest },
      layers: descriptors,
    }),
  );
}
