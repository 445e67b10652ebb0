/**
 * Translating owners between container IDs (in the tar) and host IDs (on disk) with
 * ID mappings, as containers/storage's idtools: no mapping means the identity.
 */
import type { IDMap, IDMappings } from '../driver.js';

function mapID(id: number, ranges: readonly IDMap[], from: 'containerID' | 'hostID', to: 'containerID' | 'hostID'): number | undefined {
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

/** The host owner of container root (0:0), for directories the archive implies but omits. */
export function rootPair(m: IDMappings | undefined): IDPair {
  return toHost({ uid: 0, gid: 0 }, m) ?? { uid: 0, gid: 0 };
}

export function isIdentity(m: IDMappings | undefined): boolean {
  return m === undefined || (m.uidMap.length === 0 && m.gidMap.length === 0);
}
