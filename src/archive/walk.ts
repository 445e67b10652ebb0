/**
 * Go's filepath.WalkDir order, which containers/storage's tar writer follows: depth first,
 * each directory's entries sorted bytewise, a directory visited before its contents.
 */
import { lstatSync, readdirSync, type BigIntStats } from 'node:fs';
import { compareBytes } from './tar/header.js';

export interface WalkEntry {
  /** Path relative to the walk root, `/`-separated, never `''` (the root is not visited). */
  rel: string;
  path: string;
  stat: BigIntStats;
}

export class DepthFirstWalk {
  private skip = false;

  constructor(readonly root: string) {}

  /** Do not descend into the directory just yielded. */
  skipChildren(): void {
    this.skip = true;
  }

  *entries(): Generator<WalkEntry> {
    const stack: Array<{ path: string; rel: string; names: string[]; next: number }> = [];
    // The root must exist; directories vanishing below it are just absent from the walk.
    stack.push({ path: this.root, rel: '', names: readdirSync(this.root).sort(compareBytes), next: 0 });
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next >= top.names.length) {
        stack.pop();
        continue;
      }
      const name = top.names[top.next++]!;
      const path = `${top.path}/${name}`;
      // Entries removed while the walk runs are simply gone from the archive.
      const stat = lstatSync(path, { bigint: true, throwIfNoEntry: false });
      if (stat === undefined) continue;
      const rel = top.rel === '' ? name : `${top.rel}/${name}`;
      this.skip = false;
      yield { rel, path, stat };
      if (stat.isDirectory() && !this.skip) stack.push({ path, rel, names: sortedNames(path), next: 0 });
    }
  }
}

function sortedNames(dir: string): string[] {
  try {
    return readdirSync(dir).sort(compareBytes);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return [];
    throw err;
  }
}
