/**
 * Building a tar header for a file on disk the way containers/storage does: permission bits
 * with setuid/setgid/sticky, owner mapped back to container IDs, mtime truncated to the second,
 * no atime/ctime or user names (so headers are stable), devices with major/minor, xattrs as PAX.
 */
import { constants as fsConstants, type BigIntStats } from 'node:fs';
import type { IDMappings } from '../driver.js';
import { ErrInvalidArchive } from '../errors.js';
import { toContainer } from './idmap.js';
import { parseOverrideStat } from './override-stat.js';
import type { EntryType, TarHeader } from './tar/header.js';
import type { FileXattrs } from './xattrs.js';

/** Linux `dev_t` to major/minor, for the full 64-bit encoding. */
export function splitDevice(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

/** The entry type of a stat, or undefined for sockets (never archived). */
export function entryTypeOf(st: BigIntStats): EntryType | undefined {
  switch (Number(st.mode) & fsConstants.S_IFMT) {
    case fsConstants.S_IFREG:
      return 'file';
    case fsConstants.S_IFDIR:
      return 'dir';
    case fsConstants.S_IFLNK:
      return 'symlink';
    case fsConstants.S_IFCHR:
      return 'char';
    case fsConstants.S_IFBLK:
      return 'block';
    case fsConstants.S_IFIFO:
      return 'fifo';
    default:
      return undefined;
  }
}

export interface HeaderSource {
  /** Archive name relative to the layer root, without a trailing slash. */
  rel: string;
  stat: BigIntStats;
  /** Symlink target, for symlinks. */
  linkTarget: string;
  xattrs: FileXattrs;
  idMappings: IDMappings | undefined;
  /** Keep host IDs (on-disk `.wh.` whiteouts were written with host ownership). */
  skipIDMapping?: boolean;
}

/** The header for `src`, or undefined for sockets. */
export function headerFromStat(src: HeaderSource): TarHeader | undefined {
  const { stat } = src;
  let type = entryTypeOf(stat);
  if (type === undefined) return undefined;
  let uid = Number(stat.uid);
  let gid = Number(stat.gid);
  let mode = Number(stat.mode) & 0o7777;
  let { major, minor } = type === 'char' || type === 'block' ? splitDevice(stat.rdev) : { major: 0, minor: 0 };
  // Files stored under a forced mask carry their real owner, mode and type in an xattr.
  const override = src.xattrs.overrideStat === undefined ? undefined : parseOverrideStat(src.xattrs.overrideStat);
  if (override !== undefined) {
    uid = override.uid;
    gid = override.gid;
    mode = override.mode;
    if (type === 'file' && (override.type === 'char' || override.type === 'block' || override.type === 'fifo')) {
      type = override.type;
      major = override.devmajor;
      minor = override.devminor;
    }
  }
  if (!src.skipIDMapping) {
    const ids = toContainer({ uid, gid }, src.idMappings);
    if (ids === undefined) {
      throw new ErrInvalidArchive(`cannot archive "${src.rel}": owner ${uid}:${gid} is outside the ID mappings`);
    }
    uid = ids.uid;
    gid = ids.gid;
  }
  return {
    name: type === 'dir' ? `${src.rel}/` : src.rel,
    type,
    mode,
    uid,
    gid,
    size: type === 'file' ? Number(stat.size) : 0,
    mtime: { sec: Number(floorDiv(stat.mtimeNs, 1_000_000_000n)), nsec: 0 },
    linkname: type === 'symlink' ? src.linkTarget : '',
    uname: '',
    gname: '',
    devmajor: major,
    devminor: minor,
    xattrs: src.xattrs.xattrs,
  };
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b < 0n ? q - 1n : q;
}
