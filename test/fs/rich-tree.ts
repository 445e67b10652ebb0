/**
 * Builds a tree holding every kind of entry a layer can hold, with owners, special mode bits,
 * hardlinks, xattrs and nanosecond times that a sloppy copy would lose. Needs root.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, lchownSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants as fsc } from 'node:fs';
import { lsetxattr, mknod, utimensat } from '../../src/native.js';
import { walkTree } from '../../src/fs/walk.js';

/** Distinct, deliberately odd ns values so a copy that rounds to µs or s shows. */
export function fixtureTime(i: number): { sec: number; nsec: number } {
  return { sec: 1_600_000_000 + i * 97, nsec: 123_456_789 - i * 1_111 };
}

export function populateRichTree(dir: string): void {
  const p = (rel: string): string => join(dir, rel);
  mkdirSync(p('sub/deeper'), { recursive: true });
  mkdirSync(p('sticky'));
  mkdirSync(p('ro'));

  writeFileSync(p('plain'), 'hello world\n');
  writeFileSync(p('empty'), '');
  writeFileSync(p('big'), randomBytes(1 << 20));
  writeFileSync(p('setuid'), '#!/bin/sh\n');
  writeFileSync(p('setgid'), 'g');
  writeFileSync(p('writeonly'), 'Some data');
  writeFileSync(p('ro/inner'), 'inside a read-only dir');
  writeFileSync(p('sub/deeper/leaf'), 'leaf');

  writeFileSync(p('hl-a'), 'shared inode');
  linkSync(p('hl-a'), p('sub/hl-b'));
  linkSync(p('hl-a'), p('sub/deeper/hl-c'));
  writeFileSync(p('sub/pair-1'), 'second group');
  linkSync(p('sub/pair-1'), p('pair-2'));

  symlinkSync('plain', p('link-rel'));
  symlinkSync('/nonexistent/target', p('link-abs'));
  symlinkSync('../plain', p('sub/link-up'));

  mknod(p('fifo'), fsc.S_IFIFO | 0o640);
  mknod(p('null'), fsc.S_IFCHR | 0o666, 1, 3);
  mknod(p('loop'), fsc.S_IFBLK | 0o660, 7, 200);
  // A large major/minor exercises the split dev_t encoding.
  mknod(p('bigdev'), fsc.S_IFCHR | 0o600, 300, 70000);
  mknod(p('sock'), fsc.S_IFSOCK | 0o755);

  lsetxattr(p('plain'), 'user.comment', 'a note');
  lsetxattr(p('plain'), 'trusted.flag', Buffer.from([0, 1, 2, 255]));
  lsetxattr(p('sub'), 'trusted.overlay.opaque', 'y');
  lsetxattr(p('link-rel'), 'trusted.on-symlink', 'yes');
  lsetxattr(p('hl-a'), 'user.shared', 'once');

  chownSync(p('sticky'), 1, 2);
  chownSync(p('setgid'), 1000, 1000);
  chownSync(p('sub/pair-1'), 12345, 54321);
  lchownSync(p('link-abs'), 7, 8);
  chownSync(p('fifo'), 3, 4);

  chmodSync(p('setuid'), 0o4755);
  chmodSync(p('setgid'), 0o2711);
  chmodSync(p('writeonly'), 0o4222);
  chmodSync(p('sticky'), 0o1705);
  chmodSync(p('sub/deeper'), 0o2750);
  chmodSync(p('ro/inner'), 0o444);
  chmodSync(p('ro'), 0o555);

  setAllTimes(dir);
}

/** Gives every entry its own ns times, children before their directory. */
export function setAllTimes(dir: string): void {
  const entries = [...walkTree(dir)].reverse();
  entries.forEach((e, i) => utimensat(e.path, fixtureTime(i + 1), fixtureTime(i + 2), true));
}
