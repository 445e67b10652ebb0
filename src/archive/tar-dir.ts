/**
 * tarDirectory: a deterministic tar of a whole directory, as containers/storage's
 * TarWithOptions. With `overlay`, the tree is an overlay upper dir and is converted to the
 * tar whiteout convention on the way: 0/0 devices become `.wh.NAME`, and an opaque directory
 * that hides something of a lower layer gets a `DIR/.wh..wh..opq` entry after it.
 */
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { IDMappings } from '../driver.js';
import { headerFromStat } from './entry-header.js';
import { ItemBuilder, whiteoutHeader } from './items.js';
import { LowerView } from './lower-view.js';
import { packStream, type PackItem } from './pack.js';
import { baseOf, dirOf } from './safe-path.js';
import type { TarHeader } from './tar/header.js';
import { DepthFirstWalk } from './walk.js';
import { hasOpaqueXattr, isWhiteoutDevice, WHITEOUT_OPAQUE } from './whiteout.js';
import type { WalkEntry } from './walk.js';

export interface TarDirectoryOptions {
  overlay?: boolean;
  /** The lower layers of an overlay upper dir, top first. */
  lowerDirs?: string[];
  idMappings?: IDMappings;
}

/** A deterministic tar of a whole directory. With overlay:true, 0/0 char devices become .wh.NAME entries and opaque dirs get a DIR/.wh..wh..opq entry (only when the dir exists in one of lowerDirs); internal xattrs never leak. */
export function tarDirectory(dir: string, opts: TarDirectoryOptions = {}): Readable {
  return packStream(directoryItems(resolve(dir), opts));
}

function* directoryItems(root: string, opts: TarDirectoryOptions): Generator<PackItem> {
  const builder = new ItemBuilder(opts.idMappings);
  const lower = opts.overlay ? new LowerView((opts.lowerDirs ?? []).map((d) => resolve(d))) : undefined;
  const markedOpaque = new Set<string>();
  for (const entry of new DepthFirstWalk(root).entries()) {
    if (lower !== undefined && isWhiteoutDevice(entry.stat)) {
      yield { header: deviceWhiteout(entry, opts.idMappings) };
      continue;
    }
    // A directory already marked from its xattr must not get a second marker from a literal file.
    if (baseOf(entry.rel) === WHITEOUT_OPAQUE && markedOpaque.has(dirOf(entry.rel))) continue;
    const item = builder.item(entry.rel, entry.path, entry.stat);
    if (item === undefined) continue;
    yield item;
    if (lower !== undefined && entry.stat.isDirectory() && hasOpaqueXattr(entry.path) && lower.lookup(entry.rel) !== undefined) {
      markedOpaque.add(entry.rel);
      yield { header: opaqueMarker(entry.rel, item.header) };
    }
  }
}

/** The tar spelling of an overlay whiteout device, keeping its owner and mtime. */
function deviceWhiteout(entry: WalkEntry, idMappings: IDMappings | undefined): TarHeader {
  const device = headerFromStat({ rel: entry.rel, stat: entry.stat, linkTarget: '', xattrs: { xattrs: [], overrideStat: undefined }, idMappings });
  return whiteoutHeader(dirOf(entry.rel), baseOf(entry.rel), device);
}

/** `DIR/.wh..wh..opq`: an empty file with the directory's owner and permission bits, mtime 0. */
function opaqueMarker(rel: string, dir: TarHeader): TarHeader {
  return {
    ...whiteoutHeader(rel, '', dir),
    name: `${rel}/${WHITEOUT_OPAQUE}`,
    mode: dir.mode & 0o777,
    mtime: { sec: 0, nsec: 0 },
  };
}
