/**
 * Reading the xattrs that belong in a layer tar, as containers/storage does: security.capability,
 * security.ima and user.*, minus storage-internal names (which must never leak into a layer).
 */
import { lgetxattr, llistxattr } from '../native.js';
import { compareBytes } from './tar/header.js';
import { errnoCode } from './fs-meta.js';
import { isInternalXattr, OVERRIDE_STAT_XATTR } from './whiteout.js';

const SECURITY_XATTRS = new Set(['security.capability', 'security.ima']);

export interface FileXattrs {
  /** Xattrs for the tar, sorted by name. */
  xattrs: Array<[string, Buffer]>;
  /** The forced-mask record of the real owner/mode/type, when present. */
  overrideStat: string | undefined;
}

const NONE: FileXattrs = { xattrs: [], overrideStat: undefined };

function listXattrs(path: string): string[] {
  try {
    return llistxattr(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') return [];
    throw err;
  }
}

/** Reads a value, or undefined when it vanished or is too big for the syscall wrapper. */
function readXattr(path: string, name: string): Buffer | undefined {
  try {
    return lgetxattr(path, name);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENODATA' || code === 'E2BIG' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return undefined;
    throw err;
  }
}

/** The tar-worthy xattrs of `path` (not following symlinks). */
export function readTarXattrs(path: string): FileXattrs {
  const names = listXattrs(path);
  if (names.length === 0) return NONE;
  const xattrs: Array<[string, Buffer]> = [];
  let overrideStat: string | undefined;
  for (const name of names) {
    if (name === OVERRIDE_STAT_XATTR) {
      overrideStat = readXattr(path, name)?.toString('utf8');
      continue;
    }
    if (isInternalXattr(name)) continue;
    if (!SECURITY_XATTRS.has(name) && !name.startsWith('user.')) continue;
    const value = readXattr(path, name);
    if (value !== undefined) xattrs.push([name, value]);
  }
  xattrs.sort((a, b) => compareBytes(a[0], b[0]));
  return { xattrs, overrideStat };
}

/**
 * The xattrs the naive differ compares (containers/storage: security.capability and all
 * user.* names), as a canonical string for equality.
 */
export function comparableXattrs(path: string): string {
  const names = listXattrs(path).filter((n) => n === 'security.capability' || n.startsWith('user.'));
  if (names.length === 0) return '';
  names.sort(compareBytes);
  return names.map((n) => `${n}=${readXattr(path, n)?.toString('base64') ?? ''}`).join('\n');
}

/** security.capability of `path`, or undefined. */
export function capability(path: string): Buffer | undefined {
  return readXattr(path, 'security.capability');
}
