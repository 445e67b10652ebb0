/**
 * Directory readahead. A walk lists a directory, then each of its subdirectories, one after the
 * other; on a cold cache every listing waits for the disk. When a directory is listed, the
 * listings of its subdirectories are read by the native addon's own threads (warmDir), so the
 * disk works on them in parallel and the walk's own synchronous reads find them in memory; the JS
 * thread gets no callback for them. Only real layer paths are read, never the mount.
 */
import { warmDir } from '../native.js';
import type { Layer } from './layers.js';

/** A directory read slower than this waited for the disk (a cached one takes tens of µs). */
const COLD_READ_MS = 0.5;
/** Slow reads in a row that mean a cold cache rather than a thread preempted once. */
const COLD_STREAK = 2;
/** Directories warmed after a cold read, unless another one extends it. */
const WARM_BUDGET = 256;

/**
 * Reads ahead only while the walk meets a cold cache: on a warm one every read would be wasted
 * work competing with the walk for the CPU.
 */
export class DirPrefetch {
  #budget = 0;
  #slow = 0;

  /** Told how long each native directory read took (Layer.readListing). */
  observe(ms: number): void {
    this.#slow = ms > COLD_READ_MS ? this.#slow + 1 : 0;
    if (this.#slow >= COLD_STREAK) this.#budget = WARM_BUDGET;
  }

  /** Warms path's listing in each of layers (those holding its parent) while the cache is cold. */
  warm(layers: readonly Layer[], path: string): void {
    if (this.#budget <= 0) return;
    this.#budget--;
    for (const layer of layers) if (layer.mayHoldDir(path) && !warmDir(layer.path(path))) return;
  }
}
