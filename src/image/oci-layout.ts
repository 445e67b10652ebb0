/**
 * OCI image layouts (a directory or a tar of one): `oci-layout`, `index.json` and content
 * addressed `blobs/sha256/<hex>`. Every blob read is checked against its descriptor's digest and
 * size; an index inside the index (a multi-platform image) resolves to this machine's platform.
 */
import { sha256Digest as sha256 } from '../store/bigdata.js';
import { ErrBlobUnknown, ErrDigestMismatch, ErrImageFormat } from './errors.js';
import { DOCKER_CONFIG, INDEX_TYPES, LAYER_TYPES, MANIFEST_TYPES, NAME_ANNOTATIONS, OCI_CONFIG } from './media-types.js';
import { asObject, checkDigest, pairLayers, parseConfig, parseJSON, type ImageRecipe } from './recipe.js';
import { goArch } from './platform.js';
import { blobMember, type ArchiveSource } from './source.js';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_INDEX_FILE = 'index.json';

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  annotations: Record<string, string>;
  platform?: { os?: string; architecture?: string };
}

function descriptor(value: unknown, what: string): Descriptor {
  const d = asObject(value, what);
  const digest = checkDigest(d.digest, `${what}: digest`);
  if (d.size !== undefined && (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0)) {
    throw new ErrImageFormat(`${what}: size ${JSON.stringify(d.size)} is not a byte count`);
  }
  const annotations: Record<string, string> = {};
  if (d.annotations !== undefined && d.annotations !== null) {
    for (const [k, v] of Object.entries(asObject(d.annotations, `${what}: annotations`))) if (typeof v === 'string') annotations[k] = v;
  }
  const platform = typeof d.platform === 'object' && d.platform !== null ? (d.platform as Descriptor['platform']) : undefined;
  return {
    mediaType: typeof d.mediaType === 'string' ? d.mediaType : undefined,
    digest,
    size: d.size as number | undefined,
    annotations,
    platform,
  };
}

function descriptors(value: unknown, what: string): Descriptor[] {
  if (!Array.isArray(value)) throw new ErrImageFormat(`${what} is not a list`);
  return value.map((d, i) => descriptor(d, `${what}[${i}]`));
}

/** The blob a descriptor points at, checked against its digest and size. */
async function readBlob(src: ArchiveSource, d: Descriptor, what: string): Promise<Buffer> {
  const member = blobMember(d.digest);
  if (!(await src.has(member))) throw new ErrBlobUnknown(`${src.path}: ${what}: ${member}`);
  const data = await src.read(member);
  const actual = sha256(data);
  if (actual !== d.digest) throw new ErrDigestMismatch(`${src.path}: ${what}: ${member} has digest ${actual}`);
  if (d.size !== undefined && d.size !== data.length) {
    throw new ErrImageFormat(`${src.path}: ${what}: ${member} is ${data.length} bytes, the descriptor says ${d.size}`);
  }
  return data;
}

/** The manifest of an index (or nested index) entry that runs on this machine. */
function pickPlatform(list: Descriptor[], what: string): Descriptor {
  const arch = goArch();
  const match = list.find((d) => (d.platform?.os ?? 'linux') === 'linux' && d.platform?.architecture === arch);
  if (match !== undefined) return match;
  if (list.length === 1) return list[0] as Descriptor;
  throw new ErrImageFormat(`${what}: no manifest for linux/${arch} among ${list.length}`);
}

function names(d: Descriptor): string[] {
  for (const key of NAME_ANNOTATIONS) {
    const v = d.annotations[key];
    if (v !== undefined && v !== '') return [v];
  }
  return [];
}

async function recipe(src: ArchiveSource, top: Descriptor, what: string): Promise<ImageRecipe> {
  let d = top;
  let manifest = await readBlob(src, d, what);
  let parsed = asObject(parseJSON(manifest, `${src.path}: ${what}`), `${src.path}: ${what}`);
  // A multi-platform image: one level of index, as registries and `podman save` produce.
  if (INDEX_TYPES.has(d.mediaType ?? (parsed.mediaType as string))) {
    d = pickPlatform(descriptors(parsed.manifests, `${src.path}: ${what}: manifests`), `${src.path}: ${what}`);
    what = `${what} → ${d.digest}`;
    manifest = await readBlob(src, d, what);
    parsed = asObject(parseJSON(manifest, `${src.path}: ${what}`), `${src.path}: ${what}`);
  }
  const where = `${src.path}: ${what}`;
  const type = d.mediaType ?? (parsed.mediaType as string | undefined);
  if (type !== undefined && !MANIFEST_TYPES.has(type)) throw new ErrImageFormat(`${where}: media type ${type} is not an image manifest`);
  if (parsed.schemaVersion !== 2) throw new ErrImageFormat(`${where}: schemaVersion is ${JSON.stringify(parsed.schemaVersion)}, not 2`);
  const configDesc = descriptor(parsed.config, `${where}: config`);
  if (configDesc.mediaType !== undefined && configDesc.mediaType !== OCI_CONFIG && configDesc.mediaType !== DOCKER_CONFIG) {
    throw new ErrImageFormat(`${where}: config media type ${configDesc.mediaType} is not a container image config`);
  }
  const layerDescs = descriptors(parsed.layers, `${where}: layers`);
  layerDescs.forEach((l, i) => {
    if (l.mediaType === undefined || !LAYER_TYPES.has(l.mediaType)) {
      throw new ErrImageFormat(`${where}: layers[${i}] has unsupported media type ${JSON.stringify(l.mediaType ?? null)}`);
    }
  });
  const config = await readBlob(src, configDesc, `${what}: config`);
  const parsedConfig = parseConfig(config, `${where}: config ${configDesc.digest}`);
  for (const [i, l] of layerDescs.entries()) {
    if (!(await src.has(blobMember(l.digest)))) throw new ErrBlobUnknown(`${where}: layers[${i}]: ${blobMember(l.digest)}`);
  }
  const members = layerDescs.map((l) => ({ member: blobMember(l.digest), digest: l.digest }));
  return {
    where,
    names: names(top),
    config,
    configDigest: configDesc.digest,
    parsedConfig,
    manifest,
    layers: pairLayers(members, parsedConfig, where),
  };
}

export async function readOciLayout(src: ArchiveSource): Promise<ImageRecipe[]> {
  if (await src.has(OCI_LAYOUT_FILE)) {
    const layout = asObject(parseJSON(await src.read(OCI_LAYOUT_FILE), `${src.path}: ${OCI_LAYOUT_FILE}`), `${src.path}: ${OCI_LAYOUT_FILE}`);
    if (typeof layout.imageLayoutVersion !== 'string') throw new ErrImageFormat(`${src.path}: ${OCI_LAYOUT_FILE} has no imageLayoutVersion`);
  }
  const what = `${src.path}: ${OCI_INDEX_FILE}`;
  const index = asObject(parseJSON(await src.read(OCI_INDEX_FILE), what), what);
  if (index.schemaVersion !== 2) throw new ErrImageFormat(`${what}: schemaVersion is ${JSON.stringify(index.schemaVersion)}, not 2`);
  const list = descriptors(index.manifests, `${what}: manifests`);
  if (list.length === 0) throw new ErrImageFormat(`${what}: lists no images`);
  const recipes: ImageRecipe[] = [];
  for (const [i, d] of list.entries()) recipes.push(await recipe(src, d, `${OCI_INDEX_FILE} manifests[${i}]`));
  return recipes;
}
