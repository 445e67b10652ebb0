/**
 * Mount counts live in `<runroot>/<driver>-layers/mountpoints.json` (as containers/storage keeps
 * them): runtime state that must vanish with a reboot, unlike the layer records in the graph root.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrCorruptStore } from './errors.js';
import { goJSON } from './go-json.js';
import { atomicWriteFile, readJSONArray } from './json-file.js';

export interface MountRecord {
  id: string;
  path: string;
  count: number;
}

export async function readMounts(file: string): Promise<MountRecord[]> {
  const raw = await readJSONArray(file);
  return raw.map((entry, i) => {
    const e = entry as Partial<Record<keyof MountRecord, unknown>>;
    if (typeof e !== 'object' || e === null || typeof e.id !== 'string') {
      throw new ErrCorruptStore(`${file}: entry ${i} is not a mount record`);
    }
    return {
      id: e.id,
      path: typeof e.path === 'string' ? e.path : '',
      count: typeof e.count === 'number' ? e.count : 0,
    };
  });
}

/** Writes only live mounts, as Go does: a zero count is the same as no record. */
export async function writeMounts(file: string, mounts: MountRecord[]): Promise<void> {
  const live = mounts.filter((m) => m.path !== '' && m.count > 0);
  await atomicWriteFile(file, goJSON(live.map((m) => ({ id: m.id, path: m.path, count: m.count }))));
}

/** Unescapes mountinfo's octal escapes (`\040` for a space). */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Whether `path` is a mount point in this process's mount namespace. */
export async function isMountPoint(path: string): Promise<boolean> {
  const want = resolve(path);
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field !== undefined && unescapeMountPath(field) === want) return true;
  }
  return false;
}
