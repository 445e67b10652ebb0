/**
 * The overlay fast path for Diff built on the upperdir differ: only what the layer changed,
 * with the parent directories each change needs, deletions as `.wh.` entries.
 */
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { IDMappings } from '../driver.js';
import { overlayChanges } from './changes-overlay.js';
import { changeItems } from './export-changes.js';
import { packStream, type PackItem } from './pack.js';

export interface OverlayDiffOptions {
  userXattr?: boolean;
  idMappings?: IDMappings;
}

/** A tar of the changes of overlay upper dir `upperDir` against `lowerDirs` (top first). */
export function overlayDiff(upperDir: string, lowerDirs: string[], opts: OverlayDiffOptions = {}): Readable {
  const upper = resolve(upperDir);
  async function* items(): AsyncGenerator<PackItem> {
    const changes = await overlayChanges(upper, lowerDirs, opts);
    yield* changeItems(upper, changes, { idMappings: opts.idMappings, includeParents: true });
  }
  return packStream(items());
}
