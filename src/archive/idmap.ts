/**
 * Translating owners between container IDs (in the tar) and host IDs (on disk) with
 * ID mappings, as containers/storage's idtools: no mapping means the identity.
 */
import { readFileSync } from 'node:fs';
import type { IDMap, IDMappings } from '../driver.js';

/** The kernel's overflow uid or gid: what an ID outside every mapping becomes (usually 65534). */
export function overflowID(kind: 'uid' | 'gid'): number {
  try {
    return Number(readFileSync(`/proc/sys/kernel/overflow${kind}`, 'utf8').trim()) || 65534;
  } catch {
    return 65534;
  }
}

/** One ID through the ranges, from one side to the other; undefined outside every range (none: the identity). */
export function mapID(id: number, ranges: readonly IDMap[], from: 'containerID' | 'hostID', to: 'containerID' | 'hostID'): number | undefined {
  if (ranges.length === 0) return id;
  for (const r of ranges) {
    if (id >= r[from] && id < r[from] + r.size) return r[to] + (id - r[from]);
  }
  return undefined;
}

export interface IDPair {
  uid: number;
  gid: number;
}

/** Container IDs to host IDs; undefined when either ID is outside the mappings. */
export function toHost(ids: IDPair, m: IDMappings | undefined): IDPair | undefined {
  if (m === undefined) return ids;
  const uid = mapID(ids.uid, m.uidMap, 'containerID', 'hostID');
  const gid = mapID(ids.gid, m.gidMap, 'containerID', 'hostID');
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

/** Host IDs to container IDs; undefined when either ID is outside the mappings. */
export function toContainer(ids: IDPair, m: IDMappings | undefined): IDPair | undefined {
  if (m === undefined) return ids;
  const uid = mapID(ids.uid, m.uidMap, 'hostID', 'containerID');
  const gid = mapID(ids.gid, m.gidMap, 'hostID', 'containerID');
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

/**
 * Whether the ranges, sorted by either side, follow each other without gaps on both sides
 * (containers/storage's idtools.IsContiguous): fuse-overlayfs maps only such, as it maps the
 * upper layer too.
 */
export function isContiguous(maps: readonly IDMap[]): boolean {
  const follows = (side: 'containerID' | 'hostID'): boolean => {
    const sorted = [...maps].sort((a, b) => a[side] - b[side]);
    return sorted.every((m, i) => i === 0 || m[side] === sorted[i - 1]![side] + sorted[i - 1]!.size);
  };
  return follows('hostID') && follows('containerID');
}

/** The host owner of container root (0:0), for directories the archive implies but omits. */
export function rootPair(m: IDMappings | undefined): IDPair {
  return toHost({ uid: 0, gid: 0 }, m) ?? { uid: 0, gid: 0 };
}

export function isIdentity(m: IDMappings | undefined): boolean {
  return m === undefined || (m.uidMap.length === 0 && m.gidMap.length === 0);
}
