/**
 * Namespace changes: unlink, rename, link, symlink, readlink, mknod. A name removed from the merged
 * view leaves a whiteout exactly when a lower layer still has it. Renaming a directory that lives in
 * lower layers copies it up whole (opaque) and moves the copy, where fuse-overlayfs answers EXDEV.
 * renameat2's RENAME_EXCHANGE swaps two names in the upper layer after the same copy-ups.
 */
import { closeSync, constants as fsc, linkSync, openSync, readlinkSync, renameSync, symlinkSync } from 'node:fs';
import { constants as native, mknod as mknodAt, renameat2 } from '../native.js';
import { major, minor } from './binding.js';
import { copyUp, copyUpTree } from './copyup.js';
import { fail } from './errno.js';
import { hide, isHiddenName, unhide } from './hidden.js';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, splitParent } from './layers.js';
import { isDir, type Node } from './node.js';
import type { Caller, Overlay } from './overlay.js';
import { clearWhiteout, markOpaque, ownNew, removeUpper, writeWhiteout } from './upper.js';

/** Checks a name about to be added (writable, legal, free, parent a directory) and copies its parent up. */
export function claimNewName(ov: Overlay, path: string): ReturnType<Overlay['writable']> {
  const upper = ov.writable();
  ov.checkNewName(path);
  const parentPath = splitParent(path)[0];
  ov.dirNode(parentPath);
  if (ov.nodes.resolve(path)) fail('EEXIST', path);
  copyUp(ov, parentPath);
  return upper;
}

/** Common start of every operation that adds a name other than a directory: claimed, whiteout cleared. */
function prepareNewName(ov: Overlay, path: string): string {
  const upper = claimNewName(ov, path);
  clearWhiteout(ov, path);
  return upper.path(path);
}

export function unlink(ov: Overlay, path: string): void {
  ov.writable();
  if (unhide(ov, path)) return;
  const node = ov.node(path);
  if (isDir(node)) fail('EISDIR', path);
  removeName(ov, path, node);
  ov.changed(path);
}

/** Deletes a merged name: its upper entry goes, and a whiteout hides it where a lower still has it. */
export function removeName(ov: Overlay, path: string, node: Node): void {
  const inLowers = ov.nodes.resolveInLowers(path) !== undefined;
  const top = node.layers[0]!;
  if (top.writable) removeUpper(ov, path, top.lstat(path)!);
  if (inLowers) {
    copyUp(ov, splitParent(path)[0]);
    writeWhiteout(ov, path);
  }
}

export function rename(ov: Overlay, from: string, to: string): void {
  const upper = ov.writable();
  ov.checkNewName(to);
  if (isHiddenName(to)) return hide(ov, from, to);
  const src = ov.node(from);
  if (from === to) return;
  if (to.startsWith(from + '/')) fail('EINVAL', to, `cannot move ${from} into itself`);
  ov.dirNode(splitParent(to)[0]);
  const dst = ov.nodes.resolve(to);
  if (dst) checkReplace(ov, src, dst);
  if (dst && sameFile(src, dst, from, to)) return;
  copyUp(ov, splitParent(to)[0]);
  const srcInLowers = ov.nodes.resolveInLowers(from) !== undefined;
  if (isDir(src)) {
    // A directory with lower contents cannot be moved by one rename in the upper layer: make it whole first.
    if (src.layers.length > 1 || !src.layers[0]!.writable) copyUpTree(ov, from);
    const dstInLowers = ov.nodes.resolveInLowers(to) !== undefined;
    if (dst && dst.layers[0]!.writable) removeUpper(ov, to, dst.layers[0]!.lstat(to)!);
    clearWhiteout(ov, to);
    // Moved over a name the lowers have, it must not merge with what they hold there.
    if (dstInLowers && !upper.isOpaque(from)) markOpaque(ov, upper.path(from));
  } else {
    copyUp(ov, from);
  }
  renameSync(upper.path(from), upper.path(to));
  // A `.wh.NAME` file for the target would otherwise hide what was just moved there.
  clearWhiteout(ov, to);
  if (srcInLowers) writeWhiteout(ov, from);
  ov.changedTree(from);
  ov.changedTree(to);
}

/**
 * renameat2(RENAME_EXCHANGE). Both names are copied up (a directory with lower contents whole and
 * opaque, as rename does, where the kernel overlay without redirect_dir answers EXDEV), then
 * swapped by one renameat2 in the upper layer. Both names stay taken, so no whiteout is needed;
 * origin xattrs travel with the inodes, so each file keeps its inode number under its new name.
 */
export function exchange(ov: Overlay, a: string, b: string): void {
  const upper = ov.writable();
  const na = ov.node(a);
  const nb = ov.node(b);
  if (a === b || sameFile(na, nb, a, b)) return;
  if (b.startsWith(a + '/') || a.startsWith(b + '/')) fail('EINVAL', b, `cannot exchange ${a} with a name inside it`);
  for (const [path, node] of [[a, na], [b, nb]] as const) {
    if (isDir(node) && (node.layers.length > 1 || !node.layers[0]!.writable)) copyUpTree(ov, path);
    else copyUp(ov, path);
  }
  // Moved onto a name the lowers have, a directory must not merge with what they hold there.
  for (const [from, to] of [[a, b], [b, a]] as const) {
    if (isDir(ov.node(from)) && ov.nodes.resolveInLowers(to) !== undefined && !upper.isOpaque(from)) {
      markOpaque(ov, upper.path(from));
    }
  }
  renameat2(upper.path(a), upper.path(b), native.RENAME_EXCHANGE);
  ov.changedTree(a);
  ov.changedTree(b);
}

/** rename(2)'s rules for replacing an existing target. */
function checkReplace(ov: Overlay, src: Node, dst: Node): void {
  if (isDir(src) && !isDir(dst)) fail('ENOTDIR', dst.path);
  if (!isDir(src) && isDir(dst)) fail('EISDIR', dst.path);
  if (isDir(dst) && !ov.isEmptyDir(dst.path)) fail('ENOTEMPTY', dst.path);
}

/** Two names of one file (hardlinks in one layer): rename(2) then does nothing. */
function sameFile(src: Node, dst: Node, from: string, to: string): boolean {
  const a = src.layers[0]!;
  const b = dst.layers[0]!;
  if (a !== b || isDir(src)) return false;
  return a.lstat(from)?.ino === b.lstat(to)?.ino;
}

export function link(ov: Overlay, from: string, to: string): void {
  const src = ov.node(from);
  if (isDir(src)) fail('EPERM', from, 'hard links to directories are not allowed');
  const real = prepareNewName(ov, to);
  const node = copyUp(ov, from);
  linkSync(node.layers[0]!.path(from), real);
  ov.changed(to);
}

export function symlink(ov: Overlay, caller: Caller, target: string, path: string): void {
  const real = prepareNewName(ov, path);
  symlinkSync(target, real);
  ownNew(ov, real, ov.writable().path(splitParent(path)[0]), caller, 0o777, S_IFLNK);
  ov.changed(path);
}

export function readlink(ov: Overlay, path: string): string {
  const node = ov.node(path);
  if (node.type !== S_IFLNK) fail('EINVAL', path);
  return readlinkSync(node.layers[0]!.path(path));
}

/** Creates a fifo, socket, device (root only) or empty regular file. `rdev` is the kernel's dev_t. */
export function mknod(ov: Overlay, caller: Caller, path: string, mode: number, rdev: number): void {
  const type = mode & S_IFMT || S_IFREG;
  if (type === S_IFDIR) fail('EINVAL', path, 'mknod cannot make directories');
  const real = prepareNewName(ov, path);
  const perm = mode & 0o7777;
  const realPerm = ov.config.xattrPermissions !== 0 ? 0o755 : perm;
  if (type === S_IFREG) {
    closeSync(openSync(real, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, realPerm));
  } else {
    const dev = BigInt(rdev);
    mknodAt(real, type | realPerm, major(dev), minor(dev));
  }
  ownNew(ov, real, ov.writable().path(splitParent(path)[0]), caller, perm, type);
  ov.changed(path);
}
