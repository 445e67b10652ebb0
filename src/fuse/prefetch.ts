/**
 * Directory readahead. A walk lists a directory, then each of its subdirectories, one after the
 * other; on a cold cache every listing waits for the disk. When a directory is listed, the
 * listings of its subdirectories are asked for on libuv's threadpool (a few at a time), so the
 * disk works on them in parallel and the walk's own synchronous reads find them in memory.
 * Only real layer paths are read, never the mount.
 */
import { readdir } from 'node:fs';
import type { Layer } from './layers.js';

/** Reads in flight at most; the threadpool has four threads, and FUSE work must not wait for it. */
const MAX_IN_FLIGHT = 32;

export class DirPrefetch {
  #inFlight = 0;

  /** Warms path's listing in each of layers (those holding its parent); ignored when busy. */
  warm(layers: readonly Layer[], path: string): void {
    for (const layer of layers) {
      if (this.#inFlight >= MAX_IN_FLIGHT) return;
      this.#inFlight++;
      readdir(layer.path(path), () => this.#inFlight--);
    }
  }
}
