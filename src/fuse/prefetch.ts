/**
 * Directory readahead. A walk lists a directory, then each of its subdirectories, one after the
 * other; on a cold cache every listing waits for the disk. When a directory is listed, the
 * listings of its subdirectories are read by the native addon's own threads (warmDir), so the
 * disk works on them in parallel and the walk's own synchronous reads find them in memory; the JS
 * thread gets no callback for them. Only real layer paths are read, never the mount.
 */
import { warmDir } from '../native.js';
import type { Layer } from './layers.js';

export class DirPrefetch {
  /** Warms path's listing in each of layers (those holding its parent); dropped when the queue is full. */
  warm(layers: readonly Layer[], path: string): void {
    for (const layer of layers) if (!warmDir(layer.path(path))) return;
  }
}
