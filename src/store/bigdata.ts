/**
 * Big data items: named blobs kept beside a record in `<store dir>/<id>/`. File names follow
 * containers/storage, so both tools find each other's items: the key itself when it is only
 * `[.0-9a-z]`, else `=` and the key in standard base64.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ErrInvalidBigDataName } from './errors.js';

export function bigDataFileName(key: string): string {
  return /^[.0-9a-z]*$/.test(key) ? key : `=${Buffer.from(key, 'utf8').toString('base64')}`;
}

/** The path of item `key` of record `id` under `dir`; rejects the empty key as Go does. */
export function bigDataPath(dir: string, id: string, key: string, kind: string): string {
  if (key === '') throw new ErrInvalidBigDataName(`${kind} ${id}: empty big data key`);
  const name = bigDataFileName(key);
  // "." and ".." pass the character test but would escape the record's directory.
  if (name === '.' || name === '..') throw new ErrInvalidBigDataName(`${kind} ${id}: big data key "${key}"`);
  return join(dir, id, name);
}

/** `sha256:<hex>` of `data`, the canonical digest containers/storage records. */
export function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

const DIGEST_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** Why `d` is not a valid digest, in go-digest's words, or undefined when it is valid. */
export function digestError(d: string): string | undefined {
  const i = d.indexOf(':');
  if (i <= 0 || i + 1 === d.length) return 'invalid checksum digest format';
  const algorithm = d.slice(0, i);
  const encoded = d.slice(i + 1);
  const want = DIGEST_LENGTHS[algorithm];
  if (want === undefined) {
    return /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(d)
      ? 'unsupported digest algorithm'
      : 'invalid checksum digest format';
  }
  if (encoded.length !== want) return 'invalid checksum digest length';
  return /^[a-f0-9]+$/.test(encoded) ? undefined : 'invalid checksum digest format';
}

export function validDigest(d: string): boolean {
  return digestError(d) === undefined;
}
