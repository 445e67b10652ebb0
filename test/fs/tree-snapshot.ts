/**
 * A comparable picture of a tree: every entry's type, mode, owner, size, ns mtime, device
 * number, link target, xattrs and content hash, plus which entries share an inode.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { lgetxattr, llistxattr } from '../../src/native.js';
import { walkTree } from '../../src/fs/walk.js';

export interface EntrySnapshot {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  mtimeNs: string;
  /** Only for entries nothing reads (devices, fifos, sockets): reading moves atime. */
  atimeNs?: string;
  rdev?: string;
  target?: string;
  sha256?: string;
  xattrs: Record<string, string>;
  /** Index of the first path sharing this inode, for hardlinks. */
  linkGroup?: string;
}

const typeNames: Array<[number, string]> = [
  [0o140000, 'socket'],
  [0o120000, 'symlink'],
  [0o100000, 'file'],
  [0o060000, 'block'],
  [0o040000, 'dir'],
  [0o020000, 'char'],
  [0o010000, 'fifo'],
];

export function snapshotTree(root: string, opts: { skipXattr?: (name: string) => boolean } = {}): Record<string, EntrySnapshot> {
  const out: Record<string, EntrySnapshot> = {};
  const firstByInode = new Map<string, string>();
  for (const { path, rel, stat } of walkTree(root)) {
    const mode = Number(stat.mode);
    const type = typeNames.find(([bits]) => (mode & 0o170000) === bits)?.[1] ?? 'unknown';
    const xattrs: Record<string, string> = {};
    for (const name of llistxattr(path).sort()) {
      if (opts.skipXattr?.(name)) continue;
      xattrs[name] = lgetxattr(path, name).toString('hex');
    }
    const e: EntrySnapshot = {
      type,
      mode: (mode & 0o7777).toString(8),
      uid: Number(stat.uid),
      gid: Number(stat.gid),
      mtimeNs: stat.mtimeNs.toString(),
      xattrs,
    };
    if (type !== 'dir') e.size = Number(stat.size);
    if (type === 'symlink') e.target = readlinkSync(path);
    if (type === 'file') e.sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
    if (type === 'char' || type === 'block') e.rdev = stat.rdev.toString();
    if (type === 'char' || type === 'block' || type === 'fifo' || type === 'socket') e.atimeNs = stat.atimeNs.toString();
    if (type !== 'dir' && stat.nlink > 1n) {
      const key = `${stat.dev}:${stat.ino}`;
      if (!firstByInode.has(key)) firstByInode.set(key, rel);
      e.linkGroup = firstByInode.get(key);
    }
    out[rel === '' ? '.' : rel] = e;
  }
  return out;
}
