/**
 * Changes the overlay makes to its upper layer besides copy-up: whiteouts (0/0 character device,
 * or `.wh.NAME` where mknod is refused), opaque directories, and giving new entries to their creator.
 */
import { lchownSync, lstatSync, rmSync, unlinkSync, writeFileSync, type BigIntStats } from 'node:fs';
import { TRUSTED_OPAQUE_XATTR, USER_OPAQUE_XATTR, WHITEOUT_OPAQUE, isWhiteoutDevice } from '../archive/whiteout.js';
import { lsetxattr, mknod, utimensat } from '../native.js';
import { nsToTimespec } from './binding.js';
import { codeOf } from './errno.js';
import { S_IFCHR, S_IFLNK, splitParent } from './layers.js';
import type { Caller, Overlay } from './overlay.js';
import { formatOverride, OVERRIDE_XATTRS } from './xattr-names.js';

const S_ISGID = 0o2000;

/** Leaves a whiteout at path in the upper layer, hiding what the lower layers have there. */
export function writeWhiteout(ov: Overlay, path: string): void {
  const upper = ov.writable();
  if (ov.canMknod) {
    try {
      mknod(upper.path(path), S_IFCHR, 0, 0);
      return;
    } catch (err) {
      if (codeOf(err) !== 'EPERM' && codeOf(err) !== 'EOPNOTSUPP') throw err;
      ov.canMknod = false;
    }
  }
  try {
    writeFileSync(upper.whiteoutFilePath(path), '', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if (codeOf(err) !== 'EEXIST') throw err;
  }
}

/** Removes any whiteout for path from the upper layer; true when there was one. */
export function clearWhiteout(ov: Overlay, path: string): boolean {
  const upper = ov.writable();
  let found = false;
  const st = upper.lstat(path);
  if (st && isWhiteoutDevice(st)) {
    unlinkSync(upper.path(path));
    found = true;
  }
  // Looked for first: a failing unlink costs a thrown error, and creates rarely meet a whiteout file.
  if (upper.hasWhiteoutFile(path)) {
    unlinkSync(upper.whiteoutFilePath(path));
    found = true;
  }
  return found;
}

/**
 * Makes a (new) upper directory hide the lower layers: the overlay xattr the kernel reads
 * (trusted.* as root, user.* otherwise) and, as fuse-overlayfs does, the `.wh..wh..opq` marker
 * that survives filesystems and tars without xattrs.
 */
export function markOpaque(ov: Overlay, realDir: string): void {
  const names = ov.euid === 0 ? [TRUSTED_OPAQUE_XATTR, USER_OPAQUE_XATTR] : [USER_OPAQUE_XATTR];
  for (const name of names) {
    try {
      lsetxattr(realDir, name, 'y');
      return;
    } catch (err) {
      const code = codeOf(err);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    }
  }
  // Only where no xattr can be set: the kernel overlay honours the xattr but would show this file.
  writeFileSync(`${realDir}/${WHITEOUT_OPAQUE}`, '', { flag: 'w', mode: 0o600 });
}

/**
 * Gives a freshly created upper entry to the caller (mapped to disk ids); the group stays the
 * parent's when the parent is setgid, as the kernel already arranged. With xattr_permissions the
 * owner and mode go to the override xattr instead, since an unprivileged daemon cannot chown.
 */
export function ownNew(ov: Overlay, real: string, parentReal: string, caller: Caller, perm: number, type: number): void {
  const uid = ov.ids.uid.toDisk(caller.uid);
  const parent = lstatSync(parentReal);
  const gid = parent.mode & S_ISGID ? parent.gid : ov.ids.gid.toDisk(caller.gid);
  const mode = ov.config.xattrPermissions;
  if (mode !== 0) {
    // Symlinks take no user.* xattrs; their owner and mode matter to nobody.
    if (type === S_IFLNK) return;
    lsetxattr(real, OVERRIDE_XATTRS[mode], formatOverride({ uid, gid, perm, type }));
    return;
  }
  const st = lstatSync(real);
  if (st.uid === uid && st.gid === gid) return;
  try {
    lchownSync(real, uid, gid);
  } catch (err) {
    // Without CAP_CHOWN the daemon keeps the file, as fuse-overlayfs does when rootless.
    if (ov.euid === 0 || (codeOf(err) !== 'EPERM' && codeOf(err) !== 'EINVAL')) throw err;
  }
}

/** Removes an upper entry whole: a directory goes with the whiteouts and markers it still holds. */
export function removeUpper(ov: Overlay, path: string, st: BigIntStats): void {
  const real = ov.writable().path(path);
  if (st.isDirectory()) rmSync(real, { recursive: true, force: true });
  else unlinkSync(real);
  if (st.nlink <= 1n || st.isDirectory()) ov.nodes.forgetInode(st);
}

/**
 * Runs `change` (which adds or removes a name in path's upper parent) and puts the parent's
 * times back, so an internal change such as a copy-up never shows as a directory modification.
 */
export function keepingParentTimes<T>(ov: Overlay, path: string, change: () => T): T {
  const parentReal = ov.writable().path(splitParent(path)[0]);
  const before = lstatSync(parentReal, { bigint: true });
  const result = change();
  utimensat(parentReal, nsToTimespec(before.atimeNs), nsToTimespec(before.mtimeNs));
  return result;
}
