/**
 * Generic mount options (`ro`, `nodev`, `nosuid`…) are mount(2) flags, not overlay options: the
 * kernel rejects them in overlay's option string. Split them out as containers/storage's
 * mount.ParseOptions does, so `overlay.mountopt=nodev` and `mount -r` work.
 */
import { constants } from '../../src/native.js';

export interface SplitOptions {
  /** MS_* flags for mount(2). */
  flags: number;
  /** MOUNT_ATTR_* flags for fsmount(2), the same choices. */
  attrFlags: number;
  /** What remains for the filesystem itself. */
  data: string[];
}

type Flag = 'RDONLY' | 'NOSUID' | 'NODEV' | 'NOEXEC' | 'NOATIME';

/** option → [flag, set (true) or clear (false)] */
const flagOptions: Record<string, [Flag, boolean]> = {
  ro: ['RDONLY', true],
  rw: ['RDONLY', false],
  nosuid: ['NOSUID', true],
  suid: ['NOSUID', false],
  nodev: ['NODEV', true],
  dev: ['NODEV', false],
  noexec: ['NOEXEC', true],
  exec: ['NOEXEC', false],
  noatime: ['NOATIME', true],
  atime: ['NOATIME', false],
};

/** Options accepted for compatibility that need no flag here. */
const ignored = new Set(['defaults', 'relatime']);

export function splitMountOptions(options: readonly string[]): SplitOptions {
  const out: SplitOptions = { flags: 0, attrFlags: 0, data: [] };
  for (const opt of options.flatMap((o) => o.split(',')).map((o) => o.trim()).filter((o) => o !== '')) {
    const flag = flagOptions[opt];
    if (flag === undefined) {
      if (!ignored.has(opt)) out.data.push(opt);
      continue;
    }
    const [name, set] = flag;
    const ms = constants[`MS_${name}`];
    const attr = constants[`MOUNT_ATTR_${name}`];
    out.flags = set ? out.flags | ms : out.flags & ~ms;
    out.attrFlags = set ? out.attrFlags | attr : out.attrFlags & ~attr;
  }
  return out;
}
