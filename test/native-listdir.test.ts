import { chmodSync, constants as fsc, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listDir, lsetxattr, mknod, mount, warmDir, type DirStatEntry } from '../src/native.js';
import { repoRoot } from './helpers/rootless.js';
import { tempDir } from './helpers/tmp.js';

const raw = createRequire(import.meta.url)(join(repoRoot, 'native', 'build', 'Release', 'strata_native.node')) as {
  listDir: (...args: unknown[]) => Buffer;
};

const OPAQUE = ['trusted.overlay.opaque', 'user.overlay.opaque', 'user.fuseoverlayfs.opaque'];

function caught(fn: () => unknown): NodeJS.ErrnoException {
  try {
    fn();
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error('expected the call to throw');
}

function byName(entries: DirStatEntry[]): Map<string, DirStatEntry> {
  return new Map(entries.map((e) => [e.name, e]));
}

/** A layer directory with every kind of entry an overlay meets. */
function layerDir(): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'file'), 'data');
  chmodSync(join(dir, 'file'), 0o640);
  mkdirSync(join(dir, 'sub'));
  symlinkSync('sub', join(dir, 'link'));
  symlinkSync('/nowhere', join(dir, 'dangling'));
  mknod(join(dir, 'gone'), fsc.S_IFCHR); // 0/0 whiteout
  mknod(join(dir, 'tty'), fsc.S_IFCHR | 0o600, 5, 0);
  mknod(join(dir, 'blk'), fsc.S_IFBLK | 0o600, 7, 3);
  mknod(join(dir, 'fifo'), fsc.S_IFIFO | 0o644);
  writeFileSync(join(dir, '.wh.old'), '');
  writeFileSync(join(dir, '.wh..wh..opq'), '');
  return dir;
}

describe('listDir', () => {
  it('lists every entry with its type and inode as lstat sees it, without . and ..', () => {
    const dir = layerDir();
    const entries = listDir(dir).entries;
    expect(entries.map((e) => e.name).sort()).toEqual(readdirSync(dir).sort());
    for (const e of entries) {
      const st = lstatSync(join(dir, e.name), { bigint: true });
      expect(e.mode & fsc.S_IFMT, e.name).toBe(Number(st.mode) & fsc.S_IFMT);
      expect(e.ino, e.name).toBe(st.ino);
      expect(e.dev, e.name).toBe(st.dev);
    }
  });

  it('lstats character devices (so a 0/0 whiteout is told apart) and nothing else unless asked', () => {
    const entries = byName(listDir(layerDir()).entries);
    expect(entries.get('gone')).toMatchObject({ full: true, rdev: 0, mode: fsc.S_IFCHR });
    expect(entries.get('tty')).toMatchObject({ full: true, rdev: (5 << 8) | 0, mode: fsc.S_IFCHR | 0o600 });
    // A file known by d_type: type bits only, no syscall spent on it.
    expect(entries.get('file')).toMatchObject({ full: false, mode: fsc.S_IFREG, uid: 0, nlink: 0 });
    expect(entries.get('link')).toMatchObject({ full: false, mode: fsc.S_IFLNK });
  });

  it('gives full lstat fields with statAll, symlinks not followed', () => {
    const dir = layerDir();
    for (const e of listDir(dir, [], [], true).entries) {
      const st = lstatSync(join(dir, e.name));
      expect(e.full).toBe(true);
      expect({ mode: e.mode, uid: e.uid, gid: e.gid, nlink: e.nlink, rdev: e.rdev }, e.name).toEqual({
        mode: st.mode, uid: st.uid, gid: st.gid, nlink: st.nlink, rdev: st.rdev,
      });
    }
  });

  it("reads the asked-for xattrs of the directory and of each entry, symlinks' own included", () => {
    const dir = layerDir();
    lsetxattr(dir, 'trusted.overlay.opaque', 'y');
    lsetxattr(dir, 'user.other', 'z');
    lsetxattr(join(dir, 'file'), 'user.containers.override_stat', '0:0:0755');
    lsetxattr(join(dir, 'file'), 'user.unasked', '1');
    lsetxattr(join(dir, 'link'), 'trusted.origin', 'dev:ino');
    const bin = Buffer.from([0, 1, 255]);
    lsetxattr(join(dir, 'sub'), 'trusted.origin', bin);
    const got = listDir(dir, OPAQUE, ['user.containers.override_stat', 'trusted.origin']);
    expect(got.xattrs).toEqual(new Map([['trusted.overlay.opaque', Buffer.from('y')]]));
    const entries = byName(got.entries);
    expect(entries.get('file')!.xattrs).toEqual(new Map([['user.containers.override_stat', Buffer.from('0:0:0755')]]));
    expect(entries.get('link')!.xattrs).toEqual(new Map([['trusted.origin', Buffer.from('dev:ino')]]));
    expect(entries.get('sub')!.xattrs).toEqual(new Map([['trusted.origin', bin]]));
    expect(entries.get('fifo')!.xattrs).toBeUndefined();
    // The dangling symlink's xattrs are its own: reading them must not fail on the missing target.
    expect(entries.get('dangling')!.xattrs).toBeUndefined();
    expect(listDir(join(dir, 'sub'), OPAQUE).xattrs).toBeUndefined();
  });

  it('reads directories larger than one getdents buffer', () => {
    const dir = tempDir();
    const names = Array.from({ length: 1500 }, (_, i) => `entry-with-a-long-name-to-fill-buffers-${i}`);
    for (const n of names) writeFileSync(join(dir, n), '');
    const got = listDir(dir, [], ['user.none']).entries.map((e) => e.name);
    expect(got.sort()).toEqual(names.sort());
  });

  it('names the path in errors: missing, not a directory, a symlink to a directory', () => {
    const dir = layerDir();
    expect(caught(() => listDir(join(dir, 'missing')))).toMatchObject({
      code: 'ENOENT', syscall: 'opendir', path: join(dir, 'missing'),
    });
    expect(caught(() => listDir(join(dir, 'file')))).toMatchObject({ code: 'ENOTDIR', path: join(dir, 'file') });
    // Never followed: a layer's symlink is an entry, not the directory it points to.
    expect(caught(() => listDir(join(dir, 'link'))).code).toMatch(/^(ELOOP|ENOTDIR)$/);
    expect(caught(() => listDir(join(dir, 'missing'))).message).toContain(join(dir, 'missing'));
  });

  it('names the entry whose xattr could not be read', () => {
    // tmpfs takes values larger than ext4's one block.
    const dir = tempDir();
    mount('tmpfs', dir, 'tmpfs');
    writeFileSync(join(dir, 'big'), '');
    // Larger than any value an overlay keeps: the call fails rather than truncate it.
    lsetxattr(join(dir, 'big'), 'user.containers.override_stat', Buffer.alloc(4000, 'x'));
    expect(listDir(dir, [], ['user.containers.override_stat']).entries[0]!.xattrs!.get('user.containers.override_stat')!.length).toBe(4000);
    lsetxattr(join(dir, 'big'), 'user.containers.override_stat', Buffer.alloc(20000, 'x'), 0);
    expect(caught(() => listDir(dir, [], ['user.containers.override_stat']))).toMatchObject({
      code: 'ERANGE', path: join(dir, 'big'),
    });
  });

  it('refuses bad arguments with a TypeError or RangeError', () => {
    const dir = tempDir();
    expect(() => raw.listDir(dir, 'user.x', [], false)).toThrow(TypeError);
    expect(() => raw.listDir(dir, [], [1], false)).toThrow(TypeError);
    expect(() => raw.listDir(dir, [], [], 'yes')).toThrow(/statAll/);
    expect(() => raw.listDir(dir, Array.from({ length: 9 }, (_, i) => `user.${i}`), [], false)).toThrow(RangeError);
    expect(() => raw.listDir(`${dir}\0x`, [], [], false)).toThrow();
  });
});

describe('warmDir', () => {
  it('queues directories to be read on its own threads, missing ones included, and checks its argument', () => {
    const dir = layerDir();
    expect(warmDir(dir)).toBe(true);
    expect(warmDir(join(dir, 'missing'))).toBe(true);
    expect(warmDir(join(dir, 'file'))).toBe(true);
    expect(() => (raw as unknown as { warmDir: (p: unknown) => boolean }).warmDir(42)).toThrow(TypeError);
    // The directory is untouched and still lists the same.
    expect(listDir(dir).entries.length).toBe(readdirSync(dir).length);
  });
});
