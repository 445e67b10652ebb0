/**
 * Pack items for files on disk: the header from lstat and xattrs, with hardlinks recognised
 * by inode so the second and later names of a file become link entries to the first.
 */
import { readlinkSync, type BigIntStats } from 'node:fs';
import type { IDMappings } from '../driver.js';
import { headerFromStat } from './entry-header.js';
import type { PackItem } from './pack.js';
import { makeHeader, type TarHeader } from './tar/header.js';
import { WHITEOUT_PREFIX } from './whiteout.js';
import { readTarXattrs } from './xattrs.js';
import { baseOf } from './safe-path.js';

export class ItemBuilder {
  private readonly firstNames = new Map<string, string>();

  constructor(private readonly idMappings: IDMappings | undefined) {}

  /** The item for `rel` at `path`, or undefined for sockets. */
  item(rel: string, path: string, stat: BigIntStats): PackItem | undefined {
    const header = headerFromStat({
      rel,
      stat,
      linkTarget: stat.isSymbolicLink() ? readlinkSync(path) : '',
      xattrs: readTarXattrs(path),
      idMappings: this.idMappings,
      // On-disk `.wh.` files were written with host ownership (containers/storage keeps it).
      skipIDMapping: baseOf(rel).startsWith(WHITEOUT_PREFIX),
    });
    if (header === undefined) return undefined;
    if (header.type !== 'dir' && stat.nlink > 1n) {
      const key = `${stat.dev}:${stat.ino}`;
      const first = this.firstNames.get(key);
      if (first !== undefined) {
        return { header: { ...header, type: 'hardlink', linkname: first, size: 0 } };
      }
      this.firstNames.set(key, rel);
    }
    return header.type === 'file' && header.size > 0 ? { header, source: path } : { header };
  }
}

/** A tar whiteout entry (`DIR/.wh.NAME`, empty regular file, mode 0). */
export function whiteoutHeader(dirRel: string, name: string, base: Partial<TarHeader> = {}): TarHeader {
  return makeHeader({
    name: `${dirRel === '' ? '' : `${dirRel}/`}${WHITEOUT_PREFIX}${name}`,
    type: 'file',
    uid: base.uid ?? 0,
    gid: base.gid ?? 0,
    mtime: base.mtime ?? { sec: 0, nsec: 0 },
  });
}
