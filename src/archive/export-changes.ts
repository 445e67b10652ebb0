/**
 * exportChanges: the tar of a list of changes read from a directory, as containers/storage's
 * ExportChanges: sorted by path, deletions as `.wh.NAME` entries. Whiteouts get mtime 0
 * (containers/storage stamps the current time) so the same changes always give the same bytes.
 */
import { lstatSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Change, IDMappings } from '../driver.js';
import { sortChanges } from './changes-compare.js';
import { ItemBuilder, whiteoutHeader } from './items.js';
import { packStream, type PackItem } from './pack.js';
import { baseOf, cleanEntryName, dirOf } from './safe-path.js';

export interface ExportOptions {
  idMappings?: IDMappings;
  /**
   * Also emit each change's missing parent directories (from `dir`) before it, so applying
   * the tar to an empty upper dir recreates them with their real owner and mode.
   */
  includeParents?: boolean;
}

/** Tar of the given changes read from dir; deletes become .wh.NAME entries. Deterministic. */
export function exportChanges(dir: string, changes: Change[], opts: ExportOptions = {}): Readable {
  return packStream(changeItems(resolve(dir), changes, opts));
}

export function* changeItems(root: string, changes: readonly Change[], opts: ExportOptions): Generator<PackItem> {
  const builder = new ItemBuilder(opts.idMappings);
  const written = new Set<string>(['']);
  const emit = function* (rel: string): Generator<PackItem> {
    const path = `${root}/${rel}`;
    const stat = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    // Files may vanish while a container keeps running; they are left out, as in containers/storage.
    if (stat === undefined) return;
    const item = builder.item(rel, path, stat);
    if (item !== undefined) yield item;
    if (stat.isDirectory()) written.add(rel);
  };
  for (const change of sortChanges([...changes])) {
    const rel = cleanEntryName(change.path.replace(/^\/+/, ''), 'change');
    if (rel === '') continue;
    if (opts.includeParents) {
      const missing: string[] = [];
      for (let p = dirOf(rel); !written.has(p); p = dirOf(p)) missing.push(p);
      for (const p of missing.reverse()) {
        written.add(p);
        yield* emit(p);
      }
    }
    if (change.kind === 'delete') yield { header: whiteoutHeader(dirOf(rel), baseOf(rel)) };
    else if (!written.has(rel)) yield* emit(rel);
  }
}
