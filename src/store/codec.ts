/**
 * Records to and from containers/storage's JSON: the same field names, order and `omitempty`
 * rules as the Go structs, so either tool can read what the other wrote. Fields strata does not
 * know are kept and written back, so a newer writer's data survives a rewrite by strata.
 */
import type { IDMap } from '../driver.js';
import { ErrCorruptStore } from './errors.js';
import { zeroTime } from './go-json.js';
import { Compression, type Container, type Image, type Layer } from './types.js';

type Kind =
  | 'string' // omitted when ''
  | 'stringAlways' // always written
  | 'number' // omitted when 0
  | 'strings' // omitted when empty
  | 'numbers'
  | 'idmaps'
  | 'numberMap' // map[string]int64, omitted when empty
  | 'stringMap'
  | 'flags'
  | 'time';

type Field<T> = readonly [json: string, key: keyof T & string, kind: Kind];

const layerFields: readonly Field<Layer>[] = [
  ['id', 'id', 'stringAlways'],
  ['names', 'names', 'strings'],
  ['parent', 'parent', 'string'],
  ['metadata', 'metadata', 'string'],
  ['mountlabel', 'mountLabel', 'string'],
  ['created', 'created', 'time'],
  ['compressed-diff-digest', 'compressedDigest', 'string'],
  ['compressed-size', 'compressedSize', 'number'],
  ['diff-digest', 'uncompressedDigest', 'string'],
  ['diff-size', 'uncompressedSize', 'number'],
  ['compression', 'compressionType', 'number'],
  ['uidset', 'uidSet', 'numbers'],
  ['gidset', 'gidSet', 'numbers'],
  ['flags', 'flags', 'flags'],
  ['uidmap', 'uidMap', 'idmaps'],
  ['gidmap', 'gidMap', 'idmaps'],
  ['big-data-names', 'bigDataNames', 'strings'],
];

const imageFields: readonly Field<Image>[] = [
  ['id', 'id', 'stringAlways'],
  ['digest', 'digest', 'string'],
  ['names', 'names', 'strings'],
  ['names-history', 'namesHistory', 'strings'],
  ['layer', 'topLayer', 'string'],
  ['mapped-layers', 'mappedTopLayers', 'strings'],
  ['metadata', 'metadata', 'string'],
  ['big-data-names', 'bigDataNames', 'strings'],
  ['big-data-sizes', 'bigDataSizes', 'numberMap'],
  ['big-data-digests', 'bigDataDigests', 'stringMap'],
  ['created', 'created', 'time'],
  ['flags', 'flags', 'flags'],
];

const containerFields: readonly Field<Container>[] = [
  ['id', 'id', 'stringAlways'],
  ['names', 'names', 'strings'],
  ['image', 'imageID', 'stringAlways'],
  ['layer', 'layerID', 'stringAlways'],
  ['metadata', 'metadata', 'string'],
  ['big-data-names', 'bigDataNames', 'strings'],
  ['big-data-sizes', 'bigDataSizes', 'numberMap'],
  ['big-data-digests', 'bigDataDigests', 'stringMap'],
  ['created', 'created', 'time'],
  ['uidmap', 'uidMap', 'idmaps'],
  ['gidmap', 'gidMap', 'idmaps'],
  ['flags', 'flags', 'flags'],
];

/** JSON keys of a record that strata does not model, by record ID. */
export type Extras = Map<string, Record<string, unknown>>;

function sortedObject<V>(m: Record<string, V>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k] as V;
  return out;
}

function idMapJSON(maps: IDMap[]): unknown[] {
  return maps.map((m) => ({ container_id: m.containerID, host_id: m.hostID, size: m.size }));
}

function isEmpty(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case 'string':
      return v === '';
    case 'number':
      return v === 0;
    case 'strings':
    case 'numbers':
    case 'idmaps':
      return (v as unknown[]).length === 0;
    case 'numberMap':
    case 'stringMap':
    case 'flags':
      return Object.keys(v as object).length === 0;
    default:
      return false;
  }
}

function encode<T extends object>(fields: readonly Field<T>[], rec: T, extra?: Record<string, unknown>): object {
  const out: Record<string, unknown> = {};
  for (const [json, key, kind] of fields) {
    const v = rec[key] as unknown;
    if (isEmpty(kind, v)) continue;
    if (kind === 'idmaps') out[json] = idMapJSON(v as IDMap[]);
    else if (kind === 'numberMap' || kind === 'stringMap' || kind === 'flags') out[json] = sortedObject(v as Record<string, unknown>);
    else out[json] = v;
  }
  for (const [k, v] of Object.entries(extra ?? {})) if (!(k in out)) out[k] = v;
  return out;
}

/** Reads one field of a decoded JSON object, checking its type; `where` names the file and record. */
function decodeField(kind: Kind, v: unknown, where: () => string): unknown {
  const bad = (want: string): never => {
    throw new ErrCorruptStore(`${where()}: want ${want}, found ${JSON.stringify(v)}`);
  };
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  switch (kind) {
    case 'string':
    case 'stringAlways':
      return v === undefined || v === null ? '' : typeof v === 'string' ? v : bad('a string');
    case 'time':
      return v === undefined || v === null ? zeroTime : typeof v === 'string' ? v : bad('an RFC 3339 time');
    case 'number':
      return v === undefined || v === null ? 0 : typeof v === 'number' ? v : bad('a number');
    case 'strings':
      if (v === undefined || v === null) return [];
      return Array.isArray(v) && v.every((s) => typeof s === 'string') ? [...v] : bad('a list of strings');
    case 'numbers':
      if (v === undefined || v === null) return [];
      return Array.isArray(v) && v.every((s) => typeof s === 'number') ? [...v] : bad('a list of numbers');
    case 'idmaps':
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v)) return bad('a list of ID mappings');
      return v.map((m: unknown) => {
        if (!isObj(m)) return bad('an ID mapping');
        const n = (x: unknown): number => (typeof x === 'number' ? x : x === undefined ? 0 : bad('numeric ID mappings'));
        return { containerID: n(m.container_id), hostID: n(m.host_id), size: n(m.size) };
      });
    case 'numberMap':
    case 'stringMap':
    case 'flags': {
      if (v === undefined || v === null) return {};
      if (!isObj(v)) return bad('an object');
      const want = kind === 'numberMap' ? 'number' : kind === 'stringMap' ? 'string' : undefined;
      if (want !== undefined && !Object.values(v).every((x) => typeof x === want)) return bad(`an object of ${want}s`);
      return { ...v };
    }
  }
}

function decode<T extends object>(
  fields: readonly Field<T>[],
  raw: unknown,
  file: string,
  index: number,
  defaults: Partial<T>,
): { rec: T; extra: Record<string, unknown> } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ErrCorruptStore(`${file}: entry ${index} is not an object`);
  }
  const obj = raw as Record<string, unknown>;
  const rec: Record<string, unknown> = { ...defaults };
  const known = new Set<string>();
  for (const [json, key, kind] of fields) {
    known.add(json);
    rec[key] = decodeField(kind, obj[json], () => `${file}: entry ${index} field "${json}"`);
  }
  if (rec.id === '') throw new ErrCorruptStore(`${file}: entry ${index} has no "id"`);
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (!known.has(k)) extra[k] = v;
  return { rec: rec as T, extra };
}

export interface Codec<T extends { id: string }> {
  encode(rec: T, extra?: Record<string, unknown>): object;
  decode(raw: unknown, file: string, index: number): { rec: T; extra: Record<string, unknown> };
}

export const layerCodec: Codec<Layer> = {
  encode: (rec, extra) => encode(layerFields, rec, extra),
  decode: (raw, file, i) =>
    decode(layerFields, raw, file, i, { mountPoint: '', mountCount: 0, readOnly: false, compressionType: Compression.Uncompressed }),
};

export const imageCodec: Codec<Image> = {
  encode: (rec, extra) => encode(imageFields, rec, extra),
  decode: (raw, file, i) => decode(imageFields, raw, file, i, { digests: [], readOnly: false }),
};

export const containerCodec: Codec<Container> = {
  encode: (rec, extra) => encode(containerFields, rec, extra),
  decode: (raw, file, i) => decode(containerFields, raw, file, i, {}),
};

/** The JSON object containers/storage prints for a record (`--json` output). */
export const layerJSON = (l: Layer): object => layerCodec.encode(l);
export const imageJSON = (i: Image): object => imageCodec.encode(i);
export const containerJSON = (c: Container): object => containerCodec.encode(c);
