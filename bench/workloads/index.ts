/** Every workload, in report order, and the --only/--skip selection over ids and group names. */
import type { Workload } from '../types.js';
import { archiveWorkloads } from './archive.js';
import { changesWorkloads } from './changes.js';
import { mountReadWorkloads } from './mount-read.js';
import { mountScaleWorkloads } from './mount-scale.js';
import { mountWriteWorkloads } from './mount-write.js';

export const ALL_WORKLOADS: readonly Workload[] = [
  ...mountReadWorkloads,
  ...mountWriteWorkloads,
  ...mountScaleWorkloads,
  ...archiveWorkloads,
  ...changesWorkloads,
];

export function selectWorkloads(only: readonly string[], skip: readonly string[]): Workload[] {
  const known = new Set(ALL_WORKLOADS.flatMap((w) => [w.id, w.group]));
  for (const name of [...only, ...skip]) {
    if (!known.has(name)) throw new Error(`unknown workload or group "${name}" (try --list)`);
  }
  const matches = (w: Workload, names: readonly string[]): boolean => names.includes(w.id) || names.includes(w.group);
  return ALL_WORKLOADS.filter((w) => (only.length === 0 || matches(w, only)) && !matches(w, skip));
}
