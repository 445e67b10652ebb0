/**
 * `docker save` / `podman save` archives: manifest.json lists each image's config file, its
 * RepoTags and its layer tars (`<id>/layer.tar`, or `blobs/sha256/<hex>` since Docker 25).
 * The archive has no registry manifest; the importer writes one once the layers are in.
 */
import { ErrBlobUnknown, ErrDigestMismatch, ErrImageFormat } from './errors.js';
import { asObject, pairLayers, parseConfig, parseJSON, type ImageRecipe } from './recipe.js';
import type { ArchiveSource } from './source.js';
import { sha256Digest as sha256 } from '../store/bigdata.js';

export const DOCKER_MANIFEST_FILE = 'manifest.json';

/** A member named after a sha256 (`<hex>.json`, `blobs/sha256/<hex>`) claims that digest. */
function claimedDigest(member: string): string | undefined {
  const m = /(?:^|\/)([0-9a-f]{64})(?:\.json)?$/.exec(member);
  return m === null ? undefined : `sha256:${m[1]}`;
}

function stringList(value: unknown, what: string, optional: boolean): string[] {
  if (optional && (value === undefined || value === null)) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new ErrImageFormat(`${what} is not a list of strings`);
  return value as string[];
}

export async function readDockerArchive(src: ArchiveSource): Promise<ImageRecipe[]> {
  const list = parseJSON(await src.read(DOCKER_MANIFEST_FILE), `${src.path}: ${DOCKER_MANIFEST_FILE}`);
  if (!Array.isArray(list) || list.length === 0) {
    throw new ErrImageFormat(`${src.path}: ${DOCKER_MANIFEST_FILE} is not a non-empty list of images`);
  }
  const recipes: ImageRecipe[] = [];
  for (const [i, entry] of list.entries()) {
    const where = `${src.path}: ${DOCKER_MANIFEST_FILE}[${i}]`;
    const obj = asObject(entry, where);
    if (typeof obj.Config !== 'string' || obj.Config === '') throw new ErrImageFormat(`${where}: "Config" is missing`);
    const configMember = obj.Config;
    const layerMembers = stringList(obj.Layers, `${where}: "Layers"`, false);
    const names = stringList(obj.RepoTags, `${where}: "RepoTags"`, true);
    if (!(await src.has(configMember))) throw new ErrBlobUnknown(`${where}: config ${configMember}`);
    const config = await src.read(configMember);
    const configDigest = sha256(config);
    const claimed = claimedDigest(configMember);
    if (claimed !== undefined && claimed !== configDigest) {
      throw new ErrDigestMismatch(`${where}: config ${configMember} has digest ${configDigest}`);
    }
    const parsedConfig = parseConfig(config, `${where}: config ${configMember}`);
    for (const member of layerMembers) {
      if (!(await src.has(member))) throw new ErrBlobUnknown(`${where}: layer ${member}`);
    }
    const members = layerMembers.map((member) => {
      const digest = member.startsWith('blobs/') ? claimedDigest(member) : undefined;
      return digest === undefined ? { member } : { member, digest };
    });
    recipes.push({ where, names, config, configDigest, parsedConfig, layers: pairLayers(members, parsedConfig, where) });
  }
  return recipes;
}
