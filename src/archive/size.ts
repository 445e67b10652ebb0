/**
 * DiffSize as containers/storage's ChangesSize: the bytes of every added or modified
 * non-directory (regular files, and symlinks by their target length), each inode once.
 */
import { lstatSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Change } from '../driver.js';

/** Bytes of added/modified regular files among changes, hardlinks counted once. */
export async function changesSize(dir: string, changes: Change[]): Promise<number> {
  const root = resolve(dir);
  const seen = new Set<bigint>();
  let size = 0;
  for (const change of changes) {
    if (change.kind === 'delete') continue;
    const st = lstatSync(`${root}${change.path}`, { bigint: true, throwIfNoEntry: false });
    // A file that vanished since the changes were computed adds nothing (containers/storage logs and goes on).
    if (st === undefined || st.isDirectory()) continue;
    if (st.nlink > 1n) {
      if (seen.has(st.ino)) continue;
      seen.add(st.ino);
    }
    size += Number(st.size);
  }
  return size;
}
