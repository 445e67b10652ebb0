/**
 * Whether FUSE mounts can work for this process: the real FUSE device (char 10:229) that this
 * process may open, and fusermount3 when not root (the setuid helper is how unprivileged users
 * mount). Failures are ErrNotSupported with the reason, so newDriver falls through to vfs.
 */
import { accessSync, closeSync, constants as fsConstants, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrNotSupported } from '../../src/errors.js';
import { splitDev } from '../../src/fs/copy-tree.js';
import { mknod } from '../../src/native.js';

/** The misc device numbers of /dev/fuse (linux/miscdevice.h FUSE_MINOR). */
const FUSE_MAJOR = 10;
const FUSE_MINOR = 229;

export function findInPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    if (dir === '') continue;
    const p = join(dir, name);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** Why `device` cannot serve FUSE mounts, or undefined when it can. Opening it creates no connection. */
export function fuseDeviceProblem(device = '/dev/fuse'): string | undefined {
  let st;
  try {
    st = statSync(device, { bigint: true });
  } catch (err) {
    return `${device} is missing: ${(err as Error).message}`;
  }
  const { major, minor } = splitDev(st.rdev);
  if (!st.isCharacterDevice() || major !== FUSE_MAJOR || minor !== FUSE_MINOR) {
    const what = st.isCharacterDevice() ? `character device ${major}:${minor}` : 'not a character device';
    return `${device} is not the FUSE device (${what}; expected character device ${FUSE_MAJOR}:${FUSE_MINOR})`;
  }
  try {
    closeSync(openSync(device, 'r+'));
  } catch (err) {
    return `${device} is unusable: ${(err as Error).message}`;
  }
  return undefined;
}

/** Throws ErrNotSupported naming what is missing; returns the fusermount helper when one is found. */
export function checkFuse(device = '/dev/fuse'): { fusermount?: string } {
  const problem = fuseDeviceProblem(device);
  if (problem !== undefined) throw new ErrNotSupported(`fuse-overlay: ${problem}`);
  const fusermount = findInPath('fusermount3') ?? findInPath('fusermount');
  if (process.geteuid?.() !== 0 && fusermount === undefined) {
    throw new ErrNotSupported('fuse-overlay: fusermount3 is needed to mount FUSE without root and is not in PATH (Debian package fuse3)');
  }
  return { fusermount };
}

/**
 * True when this process may create 0/0 whiteout devices in `home`: root, or any user on kernels
 * since 5.8, which allow the overlay whiteout device without CAP_MKNOD.
 */
export function canMknodWhiteouts(home: string): boolean {
  const dir = mkdtempSync(join(home, 'mknod-probe-'));
  try {
    mknod(join(dir, 'wh'), fsConstants.S_IFCHR | 0o600, 0, 0);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
