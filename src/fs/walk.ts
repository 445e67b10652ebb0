/**
 * A pre-order directory walker without recursion, so tree depth never meets the call stack.
 * Metadata calls are synchronous: each is one cheap syscall and a threadpool hop per file
 * would cost more than the call; async callers yield to the event loop between batches.
 */
import { lstatSync, readdirSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldNow } from 'node:timers/promises';

export interface WalkEntry {
  /** Absolute (or root-relative, as given) path of the entry. */
  path: string;
  /** Path relative to the walk root; `''` for the root itself. */
  rel: string;
  /** lstat result with bigint fields, so inode numbers and ns times stay exact. */
  stat: BigIntStats;
}

/**
 * Yields `root` and everything below it, parents before children; symlinks are not followed.
 * Entries of one directory come in readdir order sorted by name, so walks are reproducible.
 */
export function* walkTree(root: string): Generator<WalkEntry> {
  const rootStat = lstatSync(root, { bigint: true });
  yield { path: root, rel: '', stat: rootStat };
  if (!rootStat.isDirectory()) return;
  const stack: Array<{ path: string; rel: string }> = [{ path: root, rel: '' }];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const names = readdirSync(dir.path).sort();
    const subdirs: Array<{ path: string; rel: string }> = [];
    for (const name of names) {
      const path = join(dir.path, name);
      const rel = dir.rel === '' ? name : `${dir.rel}/${name}`;
      const stat = lstatSync(path, { bigint: true });
      yield { path, rel, stat };
      if (stat.isDirectory()) subdirs.push({ path, rel });
    }
    // Reversed so the stack pops subdirectories in name order.
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
  }
}

/** How many entries a walk handles between yields to the event loop. */
export const WALK_BATCH = 256;

/** Async iteration over walkTree that lets timers and I/O run every WALK_BATCH entries. */
export async function* walkTreeAsync(root: string): AsyncGenerator<WalkEntry> {
  let n = 0;
  for (const entry of walkTree(root)) {
    yield entry;
    if (++n % WALK_BATCH === 0) await yieldNow();
  }
}

/** The identity of an inode across one host: device and inode number. */
export function inodeKey(stat: BigIntStats): string {
  return `${stat.dev}:${stat.ino}`;
}
