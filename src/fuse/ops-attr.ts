/**
 * Lookup and attributes: getattr/fgetattr show the top layer's entry with ids mapped, the inode
 * number kept across copy-up and the xattr_permissions override applied; chmod, chown, utimens and
 * truncate copy up first and change the upper copy.
 */
import { chmodSync, fstatSync, ftruncateSync, lchownSync, lstatSync, truncateSync, type BigIntStats } from 'node:fs';
import { lsetxattr, utimensat, type DirStatEntry } from '../native.js';
import { ID_UNCHANGED, nsToTimespec, type Timespec } from './binding.js';
import { after, copyUpFor } from './copyup.js';
import { fail } from './errno.js';
import { parked } from './hidden.js';
import { S_IFDIR, S_IFMT, type Layer } from './layers.js';
import type { Overlay } from './overlay.js';
import { formatOverride, OVERRIDE_XATTRS, parseOverride, type StatOverride } from './xattr-names.js';
import { listedXattr } from './xattr-read.js';

/** A stat as the mount shows it. */
export interface Attr {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  ino: number;
  rdev: number;
  blksize: number;
  blocks: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
}

/** Reads one xattr of an entry: undefined when it has none by that name. */
export type XattrLookup = (name: string) => Buffer | undefined;

/** The override xattr of a file, when xattr_permissions is on and the file has one. */
function readOverride(ov: Overlay, xattr: XattrLookup): StatOverride | undefined {
  const mode = ov.config.xattrPermissions;
  if (mode === 0) return undefined;
  const v = xattr(OVERRIDE_XATTRS[mode]);
  return v === undefined ? undefined : parseOverride(v);
}

/** The stat fields identity needs: a BigIntStats, or a listing's DirStatEntry (type bits suffice). */
export interface IdStat {
  mode: number | bigint;
  uid: number | bigint;
  gid: number | bigint;
  dev: bigint;
  ino: bigint;
}

/** Who an entry is: what the mount shows as its type, mode, owner and inode number. */
export interface Identity {
  mode: number;
  uid: number;
  gid: number;
  ino: number;
  /** Owner and mode come from the xattr_permissions override, not from the real file. */
  overridden: boolean;
  /**
   * A directory merged from several layers: shown with nlink 1, as the kernel overlay shows it
   * (counting subdirectories across layers is not worth it); other directories show the real count.
   */
  merged: boolean;
}

/**
 * The identity the mount shows for a real stat. `upper` says whether the entry is in the writable
 * layer (and may have an origin); `real` is its path if known (for the origin and override xattrs);
 * `merged` whether it is a directory with entries from several layers.
 */
export function identityOf(
  ov: Overlay,
  upper: boolean,
  real: string | undefined,
  st: IdStat,
  merged = false,
  known?: XattrLookup,
): Identity {
  const xattr = known ?? (real === undefined ? undefined : (name: string) => listedXattr(real, name));
  let mode = Number(st.mode);
  let uid = Number(st.uid);
  let gid = Number(st.gid);
  const override = xattr === undefined ? undefined : readOverride(ov, xattr);
  if (override) {
    uid = override.uid;
    gid = override.gid;
    mode = (override.type ?? mode & S_IFMT) | override.perm;
  }
  return {
    mode,
    uid: ov.ids.uid.toShown(uid),
    gid: ov.ids.gid.toShown(gid),
    ino: ov.nodes.inoOf(upper, xattr, st),
    overridden: override !== undefined,
    merged: merged && (mode & S_IFMT) === S_IFDIR,
  };
}

export function identityAt(ov: Overlay, layer: Layer, rel: string, st: BigIntStats, merged = false): Identity {
  return identityOf(ov, layer.writable, layer.path(rel), st, merged);
}

/**
 * The identity of an entry as a listing of `layer` read it: no syscall, since the listing read the
 * layer's identity xattrs with it (Layer.entryXattrs, set by the Overlay). Without an override the mode holds the type bits only, which is
 * all readdir and the C cache take from it (the C side lstat()s for the rest).
 */
export function identityOfEntry(ov: Overlay, layer: Layer, entry: DirStatEntry, merged = false): Identity {
  const xattrs = entry.xattrs;
  return identityOf(ov, layer.writable, undefined, entry, merged, xattrs === undefined ? noXattrs : (name) => xattrs.get(name));
}

const noXattrs: XattrLookup = () => undefined;

/** Turns a real stat into what the mount shows; see identityOf. */
export function attrOf(ov: Overlay, upper: boolean, real: string | undefined, st: BigIntStats): Attr {
  return withTimes(ov, identityOf(ov, upper, real, st), st);
}

function withTimes(ov: Overlay, id: Identity, st: BigIntStats): Attr {
  const isDir = (id.mode & S_IFMT) === S_IFDIR;
  return {
    mode: id.mode,
    uid: id.uid,
    gid: id.gid,
    size: Number(st.size),
    nlink: isDir && (ov.config.staticNlink || id.merged) ? 1 : Number(st.nlink),
    ino: id.ino,
    rdev: Number(st.rdev),
    blksize: Number(st.blksize),
    blocks: Number(st.blocks),
    atime: nsToTimespec(st.atimeNs),
    mtime: nsToTimespec(st.mtimeNs),
    ctime: nsToTimespec(st.ctimeNs),
  };
}


export function getattr(ov: Overlay, path: string): Attr {
  const hidden = parked(ov, path);
  // libfuse itself shows a hidden file with one link fewer: the parked name does not count.
  if (hidden !== undefined) return attrOf(ov, ov.hidden.get(path)!.writable, hidden, lstatSync(hidden, { bigint: true }));
  let node = ov.node(path);
  let layer = node.layers[0]!;
  let st = layer.lstat(path);
  if (!st) {
    // Removed from under us (an upper file deleted outside the mount): forget and look again.
    ov.changed(path);
    node = ov.node(path);
    layer = node.layers[0]!;
    st = layer.lstat(path) ?? fail('ENOENT', path);
  }
  const id = identityAt(ov, layer, path, st, node.layers.length > 1);
  ov.sink?.found(path, layer.index, id);
  return withTimes(ov, id, st);
}

/** Attributes through an open descriptor: works for files already unlinked (hard_remove). */
export function fgetattr(ov: Overlay, path: string | undefined, fd: number): Attr {
  const st = fstatSync(fd, { bigint: true });
  const hidden = path === undefined ? undefined : parked(ov, path);
  if (hidden !== undefined) return attrOf(ov, ov.hidden.get(path!)!.writable, hidden, st);
  // Only a path that still names this very inode may be asked for its xattrs.
  const node = path === undefined ? undefined : ov.find(path);
  const layer = node?.layers[0];
  const real = layer?.path(path!);
  const same = real !== undefined && lstatSync(real, { bigint: true, throwIfNoEntry: false })?.ino === st.ino;
  const id = identityOf(ov, layer?.writable ?? true, same ? real : undefined, st, same && node!.layers.length > 1);
  return withTimes(ov, id, st);
}

function realOwnerAndMode(real: string): StatOverride {
  const st = lstatSync(real);
  return { uid: st.uid, gid: st.gid, perm: st.mode & 0o7777 };
}

/** Writes the xattr_permissions override, starting from the current one or the real stat. */
function updateOverride(ov: Overlay, real: string, change: (o: StatOverride) => void): void {
  const mode = ov.config.xattrPermissions as 1 | 2;
  const o = readOverride(ov, (name) => listedXattr(real, name)) ?? realOwnerAndMode(real);
  change(o);
  lsetxattr(real, OVERRIDE_XATTRS[mode], formatOverride(o));
}

/**
 * The real path a change to path must go to: a parked unlinked file, or the (copied-up) upper
 * entry; a promise while a big file is being copied up.
 */
function target(ov: Overlay, path: string, opts: { noData?: boolean } = {}): string | Promise<string> {
  const hidden = parked(ov, path, true);
  if (hidden !== undefined) return hidden;
  return after(copyUpFor(ov, path, opts), (node) => node.layers[0]!.path(path));
}

type Done = void | Promise<void>;

export function chmod(ov: Overlay, path: string, mode: number): Done {
  return after(target(ov, path), (real) => {
    if (ov.config.xattrPermissions !== 0) updateOverride(ov, real, (o) => (o.perm = mode & 0o7777));
    else chmodSync(real, mode & 0o7777);
    ov.changed(path);
  });
}

export function chown(ov: Overlay, path: string, uid: number, gid: number): Done {
  const keepUid = uid === ID_UNCHANGED || uid === -1;
  const keepGid = gid === ID_UNCHANGED || gid === -1;
  const diskUid = keepUid ? -1 : ov.ids.uid.toDisk(uid);
  const diskGid = keepGid ? -1 : ov.ids.gid.toDisk(gid);
  return after(target(ov, path), (real) => {
    if (ov.config.xattrPermissions !== 0) {
      updateOverride(ov, real, (o) => {
        if (diskUid !== -1) o.uid = diskUid;
        if (diskGid !== -1) o.gid = diskGid;
      });
    } else {
      lchownSync(real, diskUid, diskGid);
    }
    ov.changed(path);
  });
}

/** Sets times with nanoseconds; `nsec` may be UTIME_NOW or UTIME_OMIT, passed to the kernel as is. */
export function utimens(ov: Overlay, path: string, atime: Timespec, mtime: Timespec): Done {
  return after(target(ov, path), (real) => utimensat(real, atime, mtime, true));
}

export function truncate(ov: Overlay, path: string, size: number): Done {
  return after(target(ov, path, { noData: size === 0 }), (real) => truncateSync(real, size));
}

export function ftruncate(fd: number, size: number): void {
  ftruncateSync(fd, size);
}
