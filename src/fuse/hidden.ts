/**
 * Open files that were unlinked. libfuse2's high-level API keeps them reachable by renaming them to
 * `.fuse_hiddenXXXXXXXX` in their directory and unlinking that name at the last close; with
 * hard_remove instead, fstat(2) of such a file fails (the kernel asks by path, and there is none).
 * We take the rename as the unlink it stands for (whiteout and all) and park the file in the work
 * directory, out of every listing, answering for the hidden name until libfuse removes it.
 */
import { renameSync, unlinkSync } from 'node:fs';
import { copyUp } from './copyup.js';
import { fail } from './errno.js';
import { splitParent } from './layers.js';
import type { Overlay } from './overlay.js';
import { writeWhiteout } from './upper.js';

/** The prefix libfuse2 (fuse.c, hidden_name) gives the names it hides open files under. */
export const HIDDEN_PREFIX = '.fuse_hidden';

export interface ParkedFile {
  /** Where the file is now: the work directory, or its lower layer if it never was copied up. */
  real: string;
  /** False for a lower file: changing it would change the lower layer. */
  writable: boolean;
}

export function isHiddenName(path: string): boolean {
  return path.startsWith(HIDDEN_PREFIX, path.lastIndexOf('/') + 1);
}

/** Carries out libfuse's `rename(from, hidden)`: `from` disappears from the merged view, the file lives on. */
export function hide(ov: Overlay, from: string, hidden: string): void {
  const node = ov.node(from);
  const top = node.layers[0]!;
  let parked: ParkedFile;
  if (top.writable) {
    const real = ov.tempPath();
    renameSync(top.path(from), real);
    parked = { real, writable: true };
  } else {
    parked = { real: top.path(from), writable: false };
  }
  if (ov.nodes.resolveInLowers(from) !== undefined) {
    copyUp(ov, splitParent(from)[0]);
    writeWhiteout(ov, from);
  }
  ov.hidden.set(hidden, parked);
  ov.changed(from);
}

/** The parked file behind a hidden name, if path is one; `write` refuses lower files. */
export function parked(ov: Overlay, path: string, write = false): string | undefined {
  if (!isHiddenName(path)) return undefined;
  const p = ov.hidden.get(path);
  if (!p) return undefined;
  if (write && !p.writable) fail('EROFS', path, 'an unlinked lower file cannot be changed');
  return p.real;
}

/** libfuse's final unlink of a hidden name; true when path was one. */
export function unhide(ov: Overlay, path: string): boolean {
  if (!isHiddenName(path)) return false;
  const p = ov.hidden.get(path);
  if (!p) return false;
  ov.hidden.delete(path);
  if (p.writable) unlinkSync(p.real);
  return true;
}
