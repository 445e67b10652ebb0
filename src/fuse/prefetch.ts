/**
 * Directory readahead. A walk lists a directory, then each of its subdirectories, one after the
 * other; on a cold cache every listing waits for the disk. When a directory is listed, the
 * listings of its subdirectories are read by the native addon's own threads (warmDir), so the
 * disk works on them in parallel and the walk's own synchronous reads find them in memory; the JS
 * thread gets no callback for them. Only real layer paths are read, never the mount.
 */
import { warmDir } from '../native.js';
import type { Layer } from './layers.js';

/** A listing slower than this read the disk: the walk is on a cold cache. */
const COLD_LISTING_MS = 1;
/** Directories warmed after a cold listing, unless another one extends it. */
const WARM_BUDGET = 256;

/**
 * Reads ahead only while the walk meets a cold cache: on a warm one every read would be wasted
 * work competing with the walk for the CPU.
 */
export class DirPrefetch {
  #budget = 0;

  /** Runs read, a listing of the layers, and notes whether it had to wait for the disk. */
  timed<T>(read: () => T): T {
    const start = performance.now();
    const result = read();
    if (performance.now() - start > COLD_LISTING_MS) this.#budget = WARM_BUDGET;
    return result;
  }

  /** Warms path's listing in each of layers (those holding its parent) while the cache is cold. */
  warm(layers: readonly Layer[], path: string): void {
    if (this.#budget <= 0) return;
    this.#budget--;
    for (const layer of layers) if (!warmDir(layer.path(path))) return;
  }
}
