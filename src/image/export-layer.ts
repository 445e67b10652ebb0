/**
 * `export-layer`: a container's changes (or a layer's, against its parent) as a layer tar,
 * optionally gzip-compressed, with progress counted on the uncompressed tar.
 */
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { counting, noProgress, type Progress } from '../progress.js';
import type { Store } from '../store/store.js';
import { Compression } from '../store/types.js';

export interface ExportLayerOptions {
  compress?: boolean;
  progress?: Progress;
  /** End `out` when done (default); false for a stream others write to after, such as stdout. */
  end?: boolean;
}

/** The layer a container name or ID, or a layer name or ID, refers to. */
export async function resolveLayer(store: Store, ref: string): Promise<string> {
  const container = await store.container(ref).catch(() => undefined);
  if (container !== undefined) return container.layerID;
  return (await store.layer(ref)).id;
}

/** Writes the diff to `out`; returns the layer that was exported. */
export async function exportLayer(store: Store, ref: string, out: Writable, opts: ExportLayerOptions = {}): Promise<string> {
  const progress = opts.progress ?? noProgress;
  const layerID = await resolveLayer(store, ref);
  progress.start(`exporting ${ref}`, await store.diffSize('', layerID));
  try {
    const tar = await store.diff('', layerID, { compression: Compression.Uncompressed });
    const end = opts.end ?? true;
    if (opts.compress === true) await pipeline(tar, counting(progress), createGzip(), out, { end });
    else await pipeline(tar, counting(progress), out, { end });
  } finally {
    progress.stop();
  }
  return layerID;
}
