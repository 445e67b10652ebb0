/**
 * Who this process is to the kernel, as both overlay drivers must know it: real root may use
 * trusted.* xattrs and mount anything; root of a user namespace may mount overlay (with
 * `userxattr`) and FUSE but must keep overlay xattrs in user.*; anyone else has no mount rights.
 */
import { readFileSync } from 'node:fs';

export type MountRights = 'root' | 'userns' | 'none';

export function mountRights(): MountRights {
  if (process.geteuid?.() !== 0) return 'none';
  return inInitialUserNamespace() ? 'root' : 'userns';
}

/** The initial user namespace maps all 2^32 ids onto themselves; any other map is a child's. */
export function inInitialUserNamespace(): boolean {
  try {
    const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
    return map[0] === '0' && map[1] === '0' && map[2] === '4294967295';
  } catch {
    return true;
  }
}
