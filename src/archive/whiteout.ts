/**
 * The whiteout and opaque-directory vocabulary shared by the layer archive code, the overlay
 * drivers and the FUSE overlay: one place that knows every on-disk and in-tar spelling.
 *
 * In a layer tar (the AUFS convention every image uses) a deleted NAME is an empty file
 * `.wh.NAME`, and a directory whose lower contents are hidden holds `.wh..wh..opq`.
 * On disk, kernel overlayfs uses a 0/0 character device for a deletion and an `opaque=y`
 * xattr for a directory; fuse-overlayfs layers without mknod rights keep the tar spelling.
 */
import { lstatSync } from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import { lgetxattrOptional } from '../native.js';

/** A tar entry or file named `.wh.NAME` deletes NAME. */
export const WHITEOUT_PREFIX = '.wh.';
/** Names starting with `.wh..wh.` are AUFS metadata, not deletions. */
export const WHITEOUT_META_PREFIX = '.wh..wh.';
/** The marker that makes its directory opaque. */
export const WHITEOUT_OPAQUE = '.wh..wh..opq';
/** AUFS's hardlink staging directory, found at the root of old exported layers. */
export const WHITEOUT_LINK_DIR = '.wh..wh.plnk';

/** Opaque directory xattr of kernel overlayfs as root. */
export const TRUSTED_OPAQUE_XATTR = 'trusted.overlay.opaque';
/** Opaque directory xattr of kernel overlayfs mounted with `userxattr` (rootless). */
export const USER_OPAQUE_XATTR = 'user.overlay.opaque';
/** Opaque directory xattr of fuse-overlayfs. */
export const FUSE_OPAQUE_XATTR = 'user.fuseoverlayfs.opaque';
/** Every xattr spelling of "this directory is opaque", checked in this order. */
export const OPAQUE_XATTRS: readonly string[] = [TRUSTED_OPAQUE_XATTR, USER_OPAQUE_XATTR, FUSE_OPAQUE_XATTR];

/** The real owner, mode and type of a file stored under a forced mask (`uid:gid:mode:type`). */
export const OVERRIDE_STAT_XATTR = 'user.containers.override_stat';

/**
 * Xattr namespaces that belong to the storage layer, never to the image: they must not leak
 * into a layer tar, and a layer tar must not be able to set them (a forged redirect or
 * override_stat would change what another layer or the container sees).
 */
export const INTERNAL_XATTR_PREFIXES: readonly string[] = ['trusted.overlay.', 'user.overlay.', 'user.fuseoverlayfs.'];

/** The opaque xattr strata writes: `user.` when the overlay runs rootless with `userxattr`. */
export function opaqueXattrName(userXattr: boolean): string {
  return userXattr ? USER_OPAQUE_XATTR : TRUSTED_OPAQUE_XATTR;
}

/** True for storage-internal xattrs (overlay, fuse-overlayfs, override_stat). */
export function isInternalXattr(name: string): boolean {
  if (name === OVERRIDE_STAT_XATTR) return true;
  for (const prefix of INTERNAL_XATTR_PREFIXES) if (name.startsWith(prefix)) return true;
  return false;
}

/** `.wh.NAME` for NAME: the tar (and AUFS) spelling of its deletion. */
export function whiteoutName(name: string): string {
  return WHITEOUT_PREFIX + name;
}

/** NAME for a `.wh.NAME` whiteout; undefined for other names and for `.wh..wh.` metadata. */
export function whitedOutName(base: string): string | undefined {
  if (!base.startsWith(WHITEOUT_PREFIX) || base.startsWith(WHITEOUT_META_PREFIX)) return undefined;
  return base.slice(WHITEOUT_PREFIX.length);
}

/** Stat fields the device test needs; both Stats and BigIntStats fit. */
export interface DeviceStat {
  mode: number | bigint;
  rdev: number | bigint;
}

/** True for the overlayfs whiteout: a character device with device number 0/0. */
export function isWhiteoutDevice(stat: DeviceStat): boolean {
  return (Number(stat.mode) & fsConstants.S_IFMT) === fsConstants.S_IFCHR && Number(stat.rdev) === 0;
}

/** True when an opaque xattr holds exactly `y` (overlayfs also writes `x`, which is not opaque). */
export function opaqueValue(value: Buffer | undefined): boolean {
  return value !== undefined && value.length === 1 && value[0] === 0x79;
}

/** True when the directory carries an opaque xattr in any of its spellings. */
export function hasOpaqueXattr(dirPath: string): boolean {
  for (const name of OPAQUE_XATTRS) if (opaqueValue(lgetxattrOptional(dirPath, name))) return true;
  return false;
}

/**
 * True when `dirPath` is opaque in any of the four forms: trusted.overlay.opaque,
 * user.overlay.opaque, user.fuseoverlayfs.opaque (each `=y`), or a `.wh..wh..opq` file inside.
 */
export function isOpaqueDir(dirPath: string): boolean {
  if (hasOpaqueXattr(dirPath)) return true;
  return lstatSync(join(dirPath, WHITEOUT_OPAQUE), { throwIfNoEntry: false }) !== undefined;
}
