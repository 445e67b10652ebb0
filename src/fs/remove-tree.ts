/**
 * rm -rf that also works for an unprivileged owner: a layer copied without root keeps its
 * read-only directories (0555), whose entries cannot be unlinked until the owner makes them
 * writable again, as containers/storage's EnsureRemoveAll does.
 */
import { chmodSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hasCode } from '../errors.js';
import { walkTree } from './walk.js';

/** Removes `path` and everything below it; a missing path is fine. */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
    return;
  } catch (err) {
    if (!hasCode(err, 'EACCES') && !hasCode(err, 'EPERM')) throw err;
  }
  for (const { path: p, stat } of walkTree(path)) {
    const mode = Number(stat.mode);
    if (stat.isDirectory() && (mode & 0o700) !== 0o700) chmodSync(p, (mode & 0o7777) | 0o700);
  }
  await rm(path, { recursive: true, force: true });
}
