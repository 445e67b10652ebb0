/**
 * Names of the filesystems a graph root may live on, as containers/storage's FsNames reports
 * them in a driver's "Backing Filesystem" status line.
 */
import { FsMagic, fsMagic } from '../native.js';

const fsNames = new Map<number, string>([
  [FsMagic.EXT4, 'extfs'],
  [FsMagic.XFS, 'xfs'],
  [FsMagic.BTRFS, 'btrfs'],
  [FsMagic.TMPFS, 'tmpfs'],
  [FsMagic.OVERLAY, 'overlayfs'],
  [FsMagic.AUFS, 'aufs'],
  [FsMagic.ECRYPTFS, 'ecryptfs'],
  [FsMagic.FUSE, 'fuse'],
  [FsMagic.ZFS, 'zfs'],
  [FsMagic.NFS, 'nfs'],
]);

/** The name of a filesystem magic number, or `<unknown>` as in the Go driver. */
export function fsName(magic: number): string {
  return fsNames.get(magic) ?? '<unknown>';
}

/** The name of the filesystem holding `path`. */
export function backingFsName(path: string): string {
  return fsName(fsMagic(path));
}
