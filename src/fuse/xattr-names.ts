/**
 * Which xattr names users may see through the mount, how names are stored, and the stat override
 * of xattr_permissions: an unprivileged daemon cannot chown, so owner and mode live in an xattr
 * ("uid:gid:0mode[:type]") and getattr reports them instead of the real ones.
 */
import { isInternalXattr } from '../archive/whiteout.js';
import type { XattrPermissions } from './options.js';

/** Where xattr_permissions=1 and =2 keep the override. */
export const OVERRIDE_XATTRS: Readonly<Record<1 | 2, string>> = {
  1: 'user.fuseoverlayfs.override_stat',
  2: 'user.containers.override_stat',
};

/** With xattr_permissions=2, security.* names are stored under this prefix, as containers/storage expects. */
export const CONTAINERS_PREFIX = 'user.containers.override_';

const SECURITY_PREFIX = 'security.';

/** Names the overlay keeps for itself in every mode (opacity, origin, stat overrides). */
const isOverlayOwned = isInternalXattr;

/** The stored name for a name a user asked for, or undefined when users may not touch it. */
export function storedName(name: string, mode: XattrPermissions): string | undefined {
  if (mode === 2 && name.startsWith(SECURITY_PREFIX)) return CONTAINERS_PREFIX + name;
  if (isOverlayOwned(name)) return undefined;
  return name;
}

/** The name a user sees for a stored name, or undefined when it is hidden. */
export function visibleName(stored: string, mode: XattrPermissions): string | undefined {
  if (mode === 2) {
    if (stored.startsWith(CONTAINERS_PREFIX + SECURITY_PREFIX)) return stored.slice(CONTAINERS_PREFIX.length);
    // The host's own security labels belong to the host, not to the container.
    if (stored.startsWith(SECURITY_PREFIX)) return undefined;
  }
  return isOverlayOwned(stored) ? undefined : stored;
}

/** True for names copy-up must not carry to the upper layer (opacity, origin: they describe the lower copy). */
export function isCopyUpSkipped(name: string): boolean {
  return isInternalXattr(name);
}

export interface StatOverride {
  uid: number;
  gid: number;
  /** Permission bits (07777). */
  perm: number;
  /** S_IFMT bits when the value names a type ("file", "dir", …). */
  type?: number;
}

const TYPES: ReadonlyArray<[string, number]> = [
  ['dir', 0o040000],
  ['file', 0o100000],
  ['symlink', 0o120000],
  ['pipe', 0o010000],
  ['socket', 0o140000],
  ['block', 0o060000],
  ['char', 0o020000],
];

/** Parses "uid:gid:0mode[:type]"; undefined when the value is malformed (the real stat is then used). */
export function parseOverride(value: Buffer | string): StatOverride | undefined {
  const parts = value.toString('utf8').replace(/\0+$/, '').split(':');
  if (parts.length < 3) return undefined;
  const [u, g, m, t] = parts;
  if (!/^\d+$/.test(u!) || !/^\d+$/.test(g!) || !/^[0-7]+$/.test(m!)) return undefined;
  const out: StatOverride = { uid: Number(u), gid: Number(g), perm: parseInt(m!, 8) & 0o7777 };
  if (t !== undefined) {
    const found = TYPES.find(([name]) => t.startsWith(name));
    if (found) out.type = found[1];
  }
  return out;
}

export function formatOverride(o: StatOverride): string {
  const base = `${o.uid}:${o.gid}:0${o.perm.toString(8)}`;
  const type = o.type === undefined ? undefined : TYPES.find(([, bits]) => bits === o.type)?.[0];
  return type === undefined || type === 'block' || type === 'char' ? base : `${base}:${type}`;
}
