/**
 * Extended attributes through the mount: the overlay's own (opacity, origin, stat override) are
 * invisible and untouchable; setting or removing one copies the file up first. Also statfs, which
 * reports the upper layer's filesystem (where writes go).
 */
import { statfsSync } from 'node:fs';
import { lgetxattr, llistxattr, lremovexattr, lsetxattr } from '../native.js';
import { after, copyUpFor } from './copyup.js';
import { codeOf, fail } from './errno.js';
import { parked } from './hidden.js';
import type { Overlay } from './overlay.js';
import { storedName, visibleName } from './xattr-names.js';

const ACL_PREFIX = 'system.posix_acl_';

function stored(ov: Overlay, name: string, hidden: 'ENODATA' | 'EPERM'): string {
  if (ov.config.noacl && name.startsWith(ACL_PREFIX)) fail('EOPNOTSUPP', undefined, `${name}: noacl`);
  return storedName(name, ov.config.xattrPermissions) ?? fail(hidden, undefined, `${name} is reserved for the overlay`);
}

export function getxattr(ov: Overlay, path: string, name: string): Buffer {
  const key = stored(ov, name, 'ENODATA');
  return lgetxattr(parked(ov, path) ?? ov.node(path).layers[0]!.path(path), key);
}

export function listxattr(ov: Overlay, path: string): string[] {
  let names: string[];
  try {
    names = llistxattr(parked(ov, path) ?? ov.node(path).layers[0]!.path(path));
  } catch (err) {
    if (codeOf(err) === 'ENOTSUP' || codeOf(err) === 'EOPNOTSUPP') return [];
    throw err;
  }
  const out: string[] = [];
  for (const n of names) {
    const v = visibleName(n, ov.config.xattrPermissions);
    if (v !== undefined && !(ov.config.noacl && v.startsWith(ACL_PREFIX))) out.push(v);
  }
  return out;
}

/** `flags` are XATTR_CREATE / XATTR_REPLACE, passed through. */
export function setxattr(ov: Overlay, path: string, name: string, value: Buffer, flags: number): void | Promise<void> {
  const key = stored(ov, name, 'EPERM');
  const hidden = parked(ov, path, true);
  if (hidden !== undefined) return lsetxattr(hidden, key, value, flags);
  return after(copyUpFor(ov, path), (node) => lsetxattr(node.layers[0]!.path(path), key, value, flags));
}

export function removexattr(ov: Overlay, path: string, name: string): void | Promise<void> {
  const key = stored(ov, name, 'EPERM');
  const hidden = parked(ov, path, true);
  if (hidden !== undefined) return lremovexattr(hidden, key);
  // Removing what is not there must not copy the file up.
  lgetxattr(ov.node(path).layers[0]!.path(path), key);
  return after(copyUpFor(ov, path), (node) => lremovexattr(node.layers[0]!.path(path), key));
}

export interface StatFs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

/** Longest name a user may create: whiteout files need room for the `.wh.` prefix. */
const NAME_MAX = 255 - 4;

export function statfs(ov: Overlay): StatFs {
  const s = statfsSync(ov.layers[0]!.root);
  return {
    bsize: s.bsize,
    frsize: s.bsize,
    blocks: s.blocks,
    bfree: s.bfree,
    bavail: s.bavail,
    files: s.files,
    ffree: s.ffree,
    favail: s.ffree,
    fsid: 0,
    flag: 0,
    namemax: NAME_MAX,
  };
}
