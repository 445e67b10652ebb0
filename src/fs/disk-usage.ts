/**
 * Disk usage of a tree as containers/storage's directory.Usage reports it: every distinct inode
 * counted once (the root included), and the apparent size of everything but directories.
 */
import type { DiskUsage } from '../driver.js';
import { inodeKey, walkTreeAsync } from './walk.js';

export async function diskUsage(dir: string): Promise<DiskUsage> {
  const seen = new Set<string>();
  let size = 0;
  for await (const { stat } of walkTreeAsync(dir)) {
    const key = inodeKey(stat);
    // A hardlinked file holds its blocks once however many names point at it.
    if (seen.has(key)) continue;
    seen.add(key);
    if (!stat.isDirectory()) size += Number(stat.size);
  }
  return { size, inodeCount: seen.size };
}
