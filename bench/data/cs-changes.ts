/**
 * The changes dataset as containers-storage layers: for each lower size, a parent layer with the
 * lower tree and a child with the upper, in one cached overlay-driver store (copying 100k files in
 * costs more than the measurement, so it is done once, not every run).
 */
import { join } from 'node:path';
import { buildStoreLayers } from '../cs.js';
import type { ChangesManifest } from './changes.js';

export interface CsChangesManifest {
  graph: string;
  /** The child layer (whose changes are listed) for each lower size. */
  child1x: string;
  child10x: string;
}

export function buildCsChanges(root: string, changes: ChangesManifest): CsChangesManifest {
  const graph = join(root, 'graph');
  const runRoot = join(root, 'run');
  return {
    graph,
    child1x: buildStoreLayers(graph, runRoot, changes.lower1x, changes.upper).child,
    child10x: buildStoreLayers(graph, runRoot, changes.lower10x, changes.upper).child,
  };
}
