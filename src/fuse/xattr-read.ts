/**
 * Reading xattrs that are usually absent. The native lgetxattr reports a missing name by throwing,
 * and a thrown error costs tens of microseconds; one llistxattr answers "absent" without one. The
 * overlay asks such questions on hot paths: origin of new upper files, opacity of upper
 * directories, the xattr_permissions override.
 */
import { hasCode } from '../errors.js';
import { lgetxattrOptional, llistxattr } from '../native.js';

/** The names on path; none where xattrs are unsupported or the entry is gone. */
export function xattrNames(path: string): string[] {
  try {
    return llistxattr(path);
  } catch (err) {
    if (hasCode(err, 'ENOTSUP') || hasCode(err, 'EOPNOTSUPP') || hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR')) return [];
    throw err;
  }
}

/** The value of `name` on path, or undefined when path has no such xattr. */
export function listedXattr(path: string, name: string): Buffer | undefined {
  return xattrNames(path).includes(name) ? lgetxattrOptional(path, name) : undefined;
}
