/**
 * The records the store keeps, in the shape containers/storage gives them (layers.json,
 * images.json, containers.json). Field names here are camelCase; codec.ts maps them to Go's
 * JSON names. Times are kept as the RFC 3339 text found on disk so nothing is lost on rewrite.
 */
import type { IDMap } from '../driver.js';

export type { IDMap } from '../driver.js';

/** Compression of the blob last applied to a layer, numbered as Go's archive.Compression. */
export enum Compression {
  Uncompressed = 0,
  Bzip2 = 1,
  Gzip = 2,
  Xz = 3,
  Zstd = 4,
}

/** Arbitrary flag values, as Go's map[string]interface{} (JSON values). */
export type Flags = Record<string, unknown>;

export interface Layer {
  id: string;
  names: string[];
  /** The parent layer's ID, or '' for a base layer. */
  parent: string;
  metadata: string;
  mountLabel: string;
  /** Where the layer is (or was last) mounted; from mountpoints.json, never in layers.json. */
  mountPoint: string;
  mountCount: number;
  /** RFC 3339 creation time. */
  created: string;
  /** sha256 of the blob last given to applyDiff, as given (`sha256:…`), or ''. */
  compressedDigest: string;
  compressedSize: number;
  /** sha256 of that blob after decompression (the DiffID), or ''. */
  uncompressedDigest: string;
  uncompressedSize: number;
  compressionType: Compression;
  /** UIDs and GIDs owning entries of the applied diff, sorted. */
  uidSet: number[];
  gidSet: number[];
  flags: Flags;
  uidMap: IDMap[];
  gidMap: IDMap[];
  bigDataNames: string[];
  /** True when the layer comes from a read-only store (never for strata's own store). */
  readOnly: boolean;
}

export interface Image {
  id: string;
  /** The digest set at creation, or the first manifest digest. */
  digest: string;
  /** Every digest the image can be found by (not stored; rebuilt on load). */
  digests: string[];
  names: string[];
  namesHistory: string[];
  /** The ID of the image's top layer, or ''. */
  topLayer: string;
  mappedTopLayers: string[];
  metadata: string;
  bigDataNames: string[];
  bigDataSizes: Record<string, number>;
  bigDataDigests: Record<string, string>;
  created: string;
  flags: Flags;
  readOnly: boolean;
}

export interface Container {
  id: string;
  names: string[];
  imageID: string;
  layerID: string;
  metadata: string;
  bigDataNames: string[];
  bigDataSizes: Record<string, number>;
  bigDataDigests: Record<string, string>;
  created: string;
  uidMap: IDMap[];
  gidMap: IDMap[];
  flags: Flags;
}

/** A record kind the store keeps, for messages and lookups. */
export type RecordKind = 'layer' | 'image' | 'container';

/** ID mapping choices, as containers/storage's IDMappingOptions. */
export interface IDMappingOptions {
  /** Use no mapping for UIDs even when the parent or the store has one. */
  hostUIDMapping?: boolean;
  hostGIDMapping?: boolean;
  uidMap?: IDMap[];
  gidMap?: IDMap[];
}
