/**
 * Recording an image as containers/image's storage transport does, so containers/storage tools
 * see what they expect: the image ID is the config digest's hex, the config is big data under
 * its digest (`sha256:…`), the manifest under `manifest-<digest>` and `manifest`, and the
 * image's Digest is the manifest digest. Layer IDs are chain IDs (`<parent>+<diffID hex>`).
 */
import { createHash } from 'node:crypto';
import { sha256Digest } from '../store/bigdata.js';
import type { Store } from '../store/store.js';
import type { Image } from '../store/types.js';
import type { Rollback } from './rollback.js';

export const MANIFEST_KEY = 'manifest';
export const manifestKey = (digest: string): string => `${MANIFEST_KEY}-${digest}`;

export const digestHex = (digest: string): string => digest.slice(digest.indexOf(':') + 1);

/** The ID containers/image gives the layer with this diff ID on top of `parentID`. */
export function chainLayerID(parentID: string, diffID: string): string {
  const hex = digestHex(diffID);
  return parentID === '' ? hex : createHash('sha256').update(`${parentID}+${hex}`).digest('hex');
}

/** A layer already in the store that is exactly this one: same diff ID on the same parent. */
export async function reusableLayer(store: Store, parentID: string, diffID: string): Promise<string | undefined> {
  const byID = await store.layer(chainLayerID(parentID, diffID)).catch(() => undefined);
  if (byID !== undefined && byID.parent === parentID && byID.uncompressedDigest === diffID) return byID.id;
  return (await store.layersByUncompressedDigest(diffID)).find((l) => l.parent === parentID)?.id;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export interface ImageData {
  topLayer: string;
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  /** The config's `created`, kept as the image's creation time when it is RFC 3339. */
  created?: string;
  names: string[];
}

/**
 * Creates the image (or finds it: the same config is the same image) with its big data, then
 * gives it the names (taking them from other images, as a pull does).
 */
export async function recordImage(store: Store, data: ImageData, undo: Rollback): Promise<{ image: Image; reused: boolean }> {
  const id = digestHex(data.configDigest);
  const manifestDigest = sha256Digest(data.manifest);
  const existing = await store.image(id).catch(() => undefined);
  if (existing === undefined) {
    const created = data.created !== undefined && RFC3339.test(data.created) ? data.created : undefined;
    await store.createImage({ id, layer: data.topLayer, digest: manifestDigest, ...(created ? { created } : {}) });
    undo.image(id);
    await store.setImageBigData(id, manifestKey(manifestDigest), data.manifest);
    await store.setImageBigData(id, MANIFEST_KEY, data.manifest);
    await store.setImageBigData(id, data.configDigest, data.config);
  } else if (!existing.bigDataNames.includes(manifestKey(manifestDigest))) {
    // The same image from another archive format: findable by this manifest's digest too.
    await store.setImageBigData(id, manifestKey(manifestDigest), data.manifest);
  }
  if (data.names.length > 0) await store.addNames(id, data.names);
  return { image: await store.image(id), reused: existing !== undefined };
}
