/**
 * Images built in memory from small descriptions, for tests and the demo (which must not need a
 * registry): layer tars written with strata's own tar encoder, compressed with gzip, zstd or not
 * at all, an image config listing their diff IDs, and an OCI manifest. Times are fixed, so the
 * same description always gives the same digests (and so the same image and layer IDs).
 */
import { gzipSync } from 'node:zlib';
import { makeHeader, type EntryType, type TarHeader } from '../archive/tar/header.js';
import { sha256Digest } from '../store/bigdata.js';
import { END_OF_ARCHIVE, encodeHeader, paddingFor } from '../archive/tar/writer.js';
import { OCI_CONFIG, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_MANIFEST } from './media-types.js';
import type { ImageConfig } from './recipe.js';
import { goArch } from './platform.js';
import { zstdRawFrame } from './zstd-raw.js';

/** 2024-01-01T00:00:00Z: every built entry and config carries it. */
export const BUILD_TIME_SECONDS = 1_704_067_200;
export const BUILD_TIME = new Date(BUILD_TIME_SECONDS * 1000).toISOString().replace('.000Z', 'Z');

export interface LayerEntry {
  /** Relative path, e.g. `etc/motd`; a whiteout is a file named `.wh.NAME`. */
  path: string;
  type?: Extract<EntryType, 'file' | 'dir' | 'symlink' | 'hardlink'>;
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Symlink target or hardlink source. */
  linkname?: string;
}

export type LayerCompression = 'none' | 'gzip' | 'zstd';

export interface LayerSpec {
  entries: LayerEntry[];
  compression?: LayerCompression;
}

export interface BuiltLayer {
  /** The blob as stored in an archive (compressed or not). */
  blob: Buffer;
  /** sha256 of the blob. */
  digest: string;
  /** sha256 of the uncompressed tar. */
  diffID: string;
  mediaType: string;
}

export interface ImageSpec {
  layers: LayerSpec[];
  names?: string[];
  /** Merged into the config's `config` member (Env, Cmd, WorkingDir…). */
  runConfig?: Record<string, unknown>;
}

export interface BuiltImage {
  names: string[];
  layers: BuiltLayer[];
  config: ImageConfig;
  configBlob: Buffer;
  configDigest: string;
  /** An OCI image manifest of the config and layer blobs. */
  manifest: Buffer;
  manifestDigest: string;
}

export const sha256 = sha256Digest;

/** One member of a tar: a header (defaults filled in) and, for files, its content. */
export interface TarMember {
  header: Partial<TarHeader> & Pick<TarHeader, 'name' | 'type'>;
  content?: Buffer;
}

/** A complete tar of `members`, in order, as Go's archive/tar would write it. */
export function tarArchive(members: TarMember[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const content = m.content ?? Buffer.alloc(0);
    const header = makeHeader({
      mode: m.header.type === 'dir' ? 0o755 : 0o644,
      mtime: { sec: BUILD_TIME_SECONDS, nsec: 0 },
      ...m.header,
      size: m.header.type === 'file' ? content.length : 0,
    });
    parts.push(encodeHeader(header));
    if (header.size > 0) parts.push(content, paddingFor(content.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

/** The uncompressed layer tar of `entries`. */
export function layerTar(entries: LayerEntry[]): Buffer {
  return tarArchive(
    entries.map((e) => {
      const type = e.type ?? 'file';
      return {
        header: {
          name: type === 'dir' ? `${e.path}/` : e.path,
          type,
          ...(e.mode !== undefined ? { mode: e.mode } : {}),
          uid: e.uid ?? 0,
          gid: e.gid ?? 0,
          linkname: e.linkname ?? '',
        },
        content: type === 'file' ? Buffer.from(e.content ?? '') : undefined,
      };
    }),
  );
}

const LAYER_MEDIA_TYPE: Record<LayerCompression, string> = { none: OCI_LAYER, gzip: OCI_LAYER_GZIP, zstd: OCI_LAYER_ZSTD };

export function compressBlob(tar: Buffer, compression: LayerCompression): Buffer {
  if (compression === 'gzip') return gzipSync(tar);
  if (compression === 'zstd') return zstdRawFrame(tar);
  return tar;
}

export function buildLayer(spec: LayerSpec): BuiltLayer {
  const tar = layerTar(spec.entries);
  const compression = spec.compression ?? 'none';
  const blob = compressBlob(tar, compression);
  return { blob, digest: sha256(blob), diffID: sha256(tar), mediaType: LAYER_MEDIA_TYPE[compression] };
}

/** A config for these diff IDs, for the machine this runs on. */
export function defaultConfig(diffIDs: string[], runConfig: Record<string, unknown> = {}): ImageConfig {
  return {
    created: BUILD_TIME,
    architecture: goArch(),
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...runConfig },
    rootfs: { type: 'layers', diff_ids: diffIDs },
    history: diffIDs.map(() => ({ created: BUILD_TIME, created_by: 'strata image builder' })),
  };
}

/** The image of `layers` with `config` as given (tests pass configs that lie about diff IDs). */
export function assembleImage(layers: BuiltLayer[], config: ImageConfig, names: string[] = []): BuiltImage {
  const configBlob = Buffer.from(JSON.stringify(config));
  const configDigest = sha256(configBlob);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configDigest, size: configBlob.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.blob.length })),
    }),
  );
  return { names, layers, config, configBlob, configDigest, manifest, manifestDigest: sha256(manifest) };
}

export function buildImage(spec: ImageSpec): BuiltImage {
  const layers = spec.layers.map(buildLayer);
  return assembleImage(layers, defaultConfig(layers.map((l) => l.diffID), spec.runConfig), spec.names ?? []);
}
