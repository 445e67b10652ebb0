/**
 * What an archive reader hands the importer: per image, its config (bytes and parsed), the
 * manifest when the archive has one, and its layer blobs with the diff IDs the config promises.
 */
import { digestError } from '../store/bigdata.js';
import { ErrImageFormat } from './errors.js';

export interface ImageConfig {
  created?: string;
  architecture?: string;
  os?: string;
  config?: Record<string, unknown>;
  rootfs: { type: string; diff_ids: string[] };
  history?: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

export interface LayerBlob {
  /** The archive member holding the blob, e.g. `blobs/sha256/ab…` or `ab…/layer.tar`. */
  member: string;
  /** The blob's own digest when the manifest records one (OCI), checked after reading. */
  digest?: string;
  /** sha256 of the uncompressed tar, from the config: checked before the layer is kept. */
  diffID: string;
}

export interface ImageRecipe {
  /** Where in the archive the image is described, for messages (`manifest.json[0]`). */
  where: string;
  names: string[];
  config: Buffer;
  configDigest: string;
  parsedConfig: ImageConfig;
  /** The manifest as the archive has it; docker-archive has none, so one is written on import. */
  manifest?: Buffer;
  layers: LayerBlob[];
}

/** A non-null object, or an ErrImageFormat naming `what`. */
export function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ErrImageFormat(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

export function parseJSON(data: Buffer, what: string): unknown {
  try {
    return JSON.parse(data.toString('utf8')) as unknown;
  } catch (err) {
    throw new ErrImageFormat(`${what} is not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

export function checkDigest(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new ErrImageFormat(`${what} is missing or not a string`);
  const why = digestError(value);
  if (why !== undefined) throw new ErrImageFormat(`${what} "${value}": ${why}`);
  if (!value.startsWith('sha256:')) throw new ErrImageFormat(`${what} "${value}": only sha256 digests are supported`);
  return value;
}

/** The image config, checked for what import relies on: a layers rootfs with valid diff IDs. */
export function parseConfig(data: Buffer, what: string): ImageConfig {
  const config = asObject(parseJSON(data, what), what);
  const rootfs = asObject(config.rootfs, `${what}: rootfs`);
  if (rootfs.type !== 'layers') throw new ErrImageFormat(`${what}: rootfs.type is ${JSON.stringify(rootfs.type)}, not "layers"`);
  if (!Array.isArray(rootfs.diff_ids)) throw new ErrImageFormat(`${what}: rootfs.diff_ids is not a list`);
  rootfs.diff_ids.forEach((d, i) => checkDigest(d, `${what}: rootfs.diff_ids[${i}]`));
  return config as ImageConfig;
}

/** Pairs layer members with the config's diff IDs, which must be as many. */
export function pairLayers(members: Array<{ member: string; digest?: string }>, config: ImageConfig, what: string): LayerBlob[] {
  const ids = config.rootfs.diff_ids;
  if (ids.length !== members.length) {
    throw new ErrImageFormat(`${what} lists ${members.length} layers but its config has ${ids.length} diff IDs`);
  }
  return members.map((m, i) => ({ ...m, diffID: ids[i] as string }));
}
