/** ID mappings as containers/storage reads and checks them (idtools). */
import { readFileSync } from 'node:fs';
import type { IDMap } from '../driver.js';
import { ErrInvalidMappings } from './errors.js';

/**
 * Parses `container:host:size[:container:host:size…]` strings; `setting` names the option in errors,
 * e.g. `uid` for `--uidmap`.
 */
export function parseIDMap(specs: readonly string[], setting: string): IDMap[] {
  const out: IDMap[] = [];
  for (const spec of specs) {
    if (spec === '') continue;
    const bad = (): never => {
      throw new ErrInvalidMappings(
        `initializing ID mappings: ${setting} setting is malformed expected ["uint32:uint32:uint32"]: ${JSON.stringify(specs)}`,
      );
    };
    const parts = spec.split(':');
    if (parts.length % 3 !== 0) bad();
    for (let i = 0; i < parts.length; i += 3) {
      const nums = parts.slice(i, i + 3).map((p) => (/^[0-9]+$/.test(p) ? Number(p) : NaN));
      if (nums.some((n) => !Number.isSafeInteger(n) || n > 0xffffffff)) bad();
      const [containerID, hostID, size] = nums as [number, number, number];
      out.push({ containerID, hostID, size });
    }
  }
  return out;
}

export function sameMaps(a: readonly IDMap[], b: readonly IDMap[]): boolean {
  return (
    a.length === b.length &&
    a.every((m, i) => m.containerID === b[i]?.containerID && m.hostID === b[i]?.hostID && m.size === b[i]?.size)
  );
}

/** Fails when two ranges overlap on either side, as containers/storage refuses for containers. */
export function checkNoOverlap(maps: readonly IDMap[], kind: string): void {
  for (let i = 0; i < maps.length; i++) {
    for (let j = i + 1; j < maps.length; j++) {
      const a = maps[i] as IDMap;
      const b = maps[j] as IDMap;
      const overlaps = (x: number, xs: number, y: number, ys: number): boolean => x < y + ys && y < x + xs;
      if (overlaps(a.containerID, a.size, b.containerID, b.size) || overlaps(a.hostID, a.size, b.hostID, b.size)) {
        throw new ErrInvalidMappings(
          `${kind} ranges [${a.containerID}:${a.hostID}:${a.size}] and [${b.containerID}:${b.hostID}:${b.size}] overlap`,
        );
      }
    }
  }
}

/** The ranges of `name` in an /etc/subuid-style file, sorted by start. */
function readSubIDs(file: string, name: string): Array<{ start: number; length: number }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const ranges: Array<{ start: number; length: number }> = [];
  for (const line of text.split('\n')) {
    const [who, start, length] = line.trim().split(':');
    if (who !== name || start === undefined || length === undefined) continue;
    ranges.push({ start: Number(start), length: Number(length) });
  }
  return ranges.sort((a, b) => a.start - b.start);
}

/** Mappings from a user's and group's subordinate ID ranges, laid end to end from container ID 0. */
export function subIDMappings(user: string, group: string): { uidMap: IDMap[]; gidMap: IDMap[] } {
  const build = (file: string, who: string, kind: string): IDMap[] => {
    const ranges = readSubIDs(file, who);
    if (ranges.length === 0) throw new ErrInvalidMappings(`no sub${kind} ranges found for ${kind === 'uid' ? 'user' : 'group'} "${who}" in ${file}`);
    let containerID = 0;
    return ranges.map((r) => {
      const m = { containerID, hostID: r.start, size: r.length };
      containerID += r.length;
      return m;
    });
  };
  return { uidMap: build('/etc/subuid', user, 'uid'), gidMap: build('/etc/subgid', group, 'gid') };
}

/** The container ID that host ID `id` maps to, or undefined when unmapped. */
export function toContainer(maps: readonly IDMap[], id: number): number | undefined {
  if (maps.length === 0) return id;
  const m = maps.find((r) => id >= r.hostID && id < r.hostID + r.size);
  return m === undefined ? undefined : m.containerID + (id - m.hostID);
}
