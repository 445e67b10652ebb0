/** Shared pieces of the store tests: a store in a temp dir and small layer tars. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import '../../src/drivers.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/tmp.js';

export interface TarEntry {
  name: string;
  body?: string;
  uid?: number;
  gid?: number;
  type?: 'file' | 'directory';
  mode?: number;
}

export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = { name: e.name, type, uid: e.uid ?? 0, gid: e.gid ?? 0, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644) };
    if (type === 'file') pack.entry(header, e.body ?? '');
    else pack.entry(header);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const gz = (b: Buffer): Buffer => gzipSync(b);
export const stream = (b: Buffer): Readable => Readable.from([b]);

export async function openStore(driver: string, dir = tempDir()): Promise<{ store: Store; dir: string; graph: string; run: string }> {
  const graph = join(dir, 'graph');
  const run = join(dir, 'run');
  const store = await Store.open({ graphRoot: graph, runRoot: run, driver });
  return { store, dir, graph, run };
}

export function openVfs(dir = tempDir()): Promise<{ store: Store; dir: string; graph: string; run: string }> {
  return openStore('vfs', dir);
}

export function readJSON(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export async function drain(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Entry names (and owners) of a tar, gzip or not. */
export async function tarListing(data: Buffer): Promise<string[]> {
  const { gunzipSync } = await import('node:zlib');
  const plain = data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data;
  const extract = tar.extract();
  const names: string[] = [];
  Readable.from([plain]).pipe(extract);
  for await (const entry of extract) {
    names.push(`${entry.header.name} ${entry.header.uid}:${entry.header.gid}`);
    entry.resume();
  }
  return names;
}
