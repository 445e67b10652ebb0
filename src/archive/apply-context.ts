/**
 * Options of applyLayer and the state one unpack carries from entry to entry.
 */
import { readFileSync } from 'node:fs';
import type { IDMappings } from '../driver.js';
import type { RootResolver } from './safe-path.js';
import type { TarHeader, TarTime } from './tar/header.js';

/**
 * How deletions are written: `overlay` as kernel overlayfs whiteouts (0/0 devices, opaque
 * xattrs); `aufs` literally as `.wh.` files (fuse-overlayfs layers without mknod rights);
 * `naive` by deleting from a full tree (vfs and naive-diff layers).
 */
export type WhiteoutFormat = 'overlay' | 'aufs' | 'naive';

export interface ApplyOptions {
  whiteoutFormat: WhiteoutFormat;
  /** overlay format: write user.overlay.opaque instead of trusted.overlay.opaque (rootless/userxattr). */
  userXattr?: boolean;
  idMappings?: IDMappings;
  ignoreChownErrors?: boolean;
  /**
   * Permission bits forced on files and directories, which are then owned by the caller; the
   * real `uid:gid:mode:type` goes to user.containers.override_stat and devices become files.
   */
  forceMask?: number;
  /**
   * Device nodes cannot be created here (rootless, or in a user namespace): character and
   * block device entries are skipped, as containers/storage does with InUserNS. Defaults to
   * true when not running as root in the initial user namespace.
   */
  inUserNS?: boolean;
}

/** A directory's mode and times, set once nothing more will be created inside it. */
export interface DeferredDir {
  path: string;
  mode: number;
  atime: TarTime;
  mtime: TarTime;
}

export interface ApplyContext {
  dest: string;
  opts: ApplyOptions;
  resolver: RootResolver;
  inUserNS: boolean;
  /** Directory modes and times are set after their contents, or creating children would bump them. */
  dirs: DeferredDir[];
  /** naive format: host paths this layer wrote, which an opaque marker must keep. */
  unpacked: Set<string> | undefined;
  /** The archive's root entry, whose owner and mode the forced-mask root override records. */
  rootHeader: TarHeader | undefined;
}

let detectedUserNS: boolean | undefined;

/**
 * True unless this process is root in the initial user namespace (uid_map `0 0 4294967295`),
 * the condition under which containers/storage treats a store as rootless.
 */
export function runningInUserNS(): boolean {
  if (detectedUserNS !== undefined) return detectedUserNS;
  if (process.geteuid?.() !== 0) return (detectedUserNS = true);
  try {
    const fields = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
    detectedUserNS = !(fields.length === 3 && fields[0] === '0' && fields[1] === '0' && fields[2] === '4294967295');
  } catch {
    detectedUserNS = false;
  }
  return detectedUserNS;
}
