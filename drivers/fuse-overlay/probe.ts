/**
 * Whether FUSE mounts can work for this process: a usable /dev/fuse, and fusermount3 when not
 * root (the setuid helper is how unprivileged users mount). Failures are ErrNotSupported with the
 * reason, so newDriver falls through to vfs.
 */
import { accessSync, constants as fsConstants, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrNotSupported } from '../../src/errors.js';
import { mknod } from '../../src/native.js';

export function findInPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
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

export function checkFuse(): { fusermount?: string } {
  try {
    if (!statSync('/dev/fuse').isCharacterDevice()) throw new Error('not a character device');
    accessSync('/dev/fuse', fsConstants.R_OK | fsConstants.W_OK);
  } catch (err) {
    throw new ErrNotSupported(`fuse-overlay: /dev/fuse is missing or unusable: ${(err as Error).message}`);
  }
  const fusermount = findInPath('fusermount3') ?? findInPath('fusermount');
  if (process.geteuid?.() !== 0 && fusermount === undefined) {
    throw new ErrNotSupported('fuse-overlay: fusermount3 is needed to mount FUSE without root (Debian package fuse3)');
  }
  return { fusermount };
}

/** True when this process may create 0/0 whiteout devices in `home` (root, or CAP_MKNOD). */
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
