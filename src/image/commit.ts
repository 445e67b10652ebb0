/**
 * `commit`: a container's changes become a new layer (on the container's image top layer) and a
 * new image whose config extends the base image's (diff IDs, history). The diff goes through a
 * temporary file first: the store's diff stream holds the layers lock that creating a layer needs.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { counting, noProgress, type Progress } from '../progress.js';
import type { Store } from '../store/store.js';
import { Compression, type Image, type Layer } from '../store/types.js';
import { ErrImageFormat } from './errors.js';
import { chainLayerID, digestHex, recordImage, reusableLayer } from './image-record.js';
import { OCI_CONFIG, OCI_LAYER, OCI_MANIFEST } from './media-types.js';
import { goArch } from './platform.js';
import { parseConfig, type ImageConfig } from './recipe.js';
import { Rollback } from './rollback.js';

export interface CommitOptions {
  names?: string[];
  /** Recorded in the new history entry. */
  comment?: string;
  progress?: Progress;
}

export interface Committed {
  image: Image;
  layer: Layer;
  /** True when the store already had a layer with exactly these changes on that parent. */
  reusedLayer: boolean;
}

/** The image's config from its big data (`sha256:<image ID>`, as import and pulls store it). */
export async function imageConfig(store: Store, image: Image): Promise<ImageConfig | undefined> {
  const key = image.bigDataNames.includes(`sha256:${image.id}`) ? `sha256:${image.id}` : image.bigDataNames.find((k) => k.startsWith('sha256:'));
  if (key === undefined) return undefined;
  return parseConfig(await store.imageBigData(image.id, key), `image ${image.id}: config ${key}`);
}

/** The layers from the base up to `top`, each of which must know its diff ID. */
async function layerChain(store: Store, top: string): Promise<Layer[]> {
  const chain: Layer[] = [];
  for (let id = top; id !== ''; ) {
    const layer = await store.layer(id);
    if (layer.uncompressedDigest === '') {
      throw new ErrImageFormat(`layer ${layer.id} has no recorded diff ID (it was not made from a layer tar), so no image config can list it`);
    }
    chain.unshift(layer);
    id = layer.parent;
  }
  return chain;
}

function hashing(hash: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}

export async function commitContainer(store: Store, container: string, opts: CommitOptions = {}): Promise<Committed> {
  const progress = opts.progress ?? noProgress;
  const c = await store.container(container);
  const own = await store.layer(c.layerID);
  const base = c.imageID !== '' ? await store.image(c.imageID) : undefined;
  const baseConfig = base !== undefined ? await imageConfig(store, base) : undefined;
  const tmp = await mkdtemp(join(store.graphRoot, 'tmp', 'commit-'));
  try {
    const file = join(tmp, 'layer.tar');
    const hash = createHash('sha256');
    progress.start(`committing ${c.names[0] ?? c.id.slice(0, 12)}`, await store.diffSize('', own.id));
    try {
      const diff = await store.diff('', own.id, { compression: Compression.Uncompressed });
      await pipeline(diff, counting(progress), hashing(hash), createWriteStream(file, { mode: 0o600 }));
    } finally {
      progress.stop();
    }
    const diffID = `sha256:${hash.digest('hex')}`;
    const undo = new Rollback(store);
    try {
      let layerID = await reusableLayer(store, own.parent, diffID);
      const reusedLayer = layerID !== undefined;
      if (layerID === undefined) {
        const { layer } = await store.putLayer({ id: chainLayerID(own.parent, diffID), parent: own.parent }, createReadStream(file));
        undo.layer(layer.id);
        layerID = layer.id;
      }
      const chain = await layerChain(store, layerID);
      const config = committedConfig(baseConfig, chain.map((l) => l.uncompressedDigest), opts.comment);
      const configBlob = Buffer.from(JSON.stringify(config));
      const configDigest = `sha256:${createHash('sha256').update(configBlob).digest('hex')}`;
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: OCI_CONFIG, digest: configDigest, size: configBlob.length },
          // strata keeps layers uncompressed, so the blobs are the tars the diff IDs name.
          layers: chain.map((l) => ({ mediaType: OCI_LAYER, digest: l.uncompressedDigest, size: l.uncompressedSize })),
        }),
      );
      const { image } = await recordImage(
        store,
        { topLayer: layerID, config: configBlob, configDigest, manifest, created: config.created, names: opts.names ?? [] },
        undo,
      );
      return { image, layer: await store.layer(layerID), reusedLayer };
    } catch (err) {
      await undo.run();
      throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The base config (or a bare one) with the new diff IDs and a history entry for the commit. */
function committedConfig(base: ImageConfig | undefined, diffIDs: string[], comment?: string): ImageConfig {
  const created = new Date().toISOString();
  const history = [...(base?.history ?? []), { created, created_by: 'strata commit', ...(comment !== undefined ? { comment } : {}) }];
  return {
    ...(base ?? { architecture: goArch(), os: 'linux', config: {} }),
    created,
    rootfs: { type: 'layers', diff_ids: diffIDs },
    history,
  };
}

/** A short form of an image or layer ID for messages. */
export const shortID = (id: string): string => digestHex(id).slice(0, 12);
