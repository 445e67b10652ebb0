/**
 * FUSE passthrough for lower files (strata-passthrough.c, strata-alias.c): the kernel reads big
 * lower files itself, and a file copied up while open gets a new kernel inode for the opens after
 * it, while descriptors opened before keep reading the lower file. Also without passthrough (the
 * STRATA_FUSE_PASSTHROUGH=0 switch, and an unprivileged user, who may not open backing files).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  closeSync,
  fchmodSync,
  linkSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PASSTHROUGH_ENV } from '../../src/fuse/fuse-ops.js';
import { rootlessUser, runAs } from '../helpers/rootless.js';
import { codeOf } from '../helpers/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { makeLayers, type LayerDirs } from './layerset.js';
import { daemonPids, mountAsUser, mountStrata } from './mount.js';

/** Bigger than one READ (1 MiB): lower files this big go through passthrough. */
const BIG = 3 << 20;

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) b.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return b;
}

const LOWER_BIG = pattern(BIG, 1);

function layers(base: string): LayerDirs {
  const dirs = makeLayers(base, [{ small: 'small lower\n', 'd/x': 'x' }]);
  writeFileSync(join(dirs.lowers[0]!, 'big'), LOWER_BIG);
  return dirs;
}

function mountWith(dirs: LayerDirs, mnt: string, passthrough: boolean): void {
  const saved = process.env[PASSTHROUGH_ENV];
  process.env[PASSTHROUGH_ENV] = passthrough ? '1' : '0';
  try {
    mountStrata(dirs, mnt);
  } finally {
    if (saved === undefined) delete process.env[PASSTHROUGH_ENV];
    else process.env[PASSTHROUGH_ENV] = saved;
  }
}

/** Bytes the daemon has read with read(2)-family calls (its /proc io rchar). */
function daemonReadBytes(mnt: string): number {
  const [pid] = daemonPids(mnt);
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return Number(/^rchar: (\d+)$/m.exec(io)![1]);
}


function daemonFds(mnt: string): number {
  const [pid] = daemonPids(mnt);
  return readdirSync(`/proc/${pid}/fd`).length;
}

function readAll(fd: number, size: number): Buffer {
  const b = Buffer.alloc(size + 1);
  let n = 0;
  for (let r; (r = readSync(fd, b, n, b.length - n, n)) > 0; ) n += r;
  return b.subarray(0, n);
}

/**
 * A read-only descriptor of the lower file, then a copy-up through a writing open, then new opens:
 * each sees the file it opened. With passthrough the writing open needs a new kernel inode; without
 * it the old descriptor shares the inode's page cache with the new ones (`oldKeepsLower` false).
 */
function copyUpWhileOpen(mnt: string, name: string, lower: Buffer, oldKeepsLower = true): void {
  const path = join(mnt, name);
  const before = openSync(path, 'r');
  expect(readAll(before, lower.length).equals(lower)).toBe(true);
  const writer = openSync(path, 'r+');
  const head = Buffer.from('UPPER');
  expect(writeSync(writer, head, 0, head.length, 0)).toBe(head.length);
  const upper = Buffer.concat([head, lower.subarray(head.length)]);
  const after = openSync(path, 'r');
  expect(readAll(after, upper.length).equals(upper)).toBe(true);
  if (oldKeepsLower) expect(readAll(before, lower.length).equals(lower)).toBe(true);
  closeSync(writer);
  appendFileSync(path, 'tail');
  const appended = Buffer.concat([upper, Buffer.from('tail')]);
  expect(readFileSync(path).equals(appended)).toBe(true);
  expect(readAll(after, appended.length).equals(appended)).toBe(true);
  if (oldKeepsLower) expect(readAll(before, lower.length).equals(lower)).toBe(true);
  closeSync(before);
  closeSync(after);
  expect(readFileSync(path).equals(appended)).toBe(true);
}

beforeAll(() => {
  chmodSync('/dev/fuse', 0o666);
});

describe('strata-fuse passthrough of lower files', () => {
  it('reads big lower files in the kernel and gives a file copied up while open a new inode', () => {
    const base = tempDir();
    const dirs = layers(base);
    const mnt = join(base, 'm');
    mkdirSync(mnt);
    mountWith(dirs, mnt, true);
    const read0 = daemonReadBytes(mnt);
    expect(readFileSync(join(mnt, 'big')).equals(LOWER_BIG)).toBe(true);
    // The daemon reads requests only, not the file's 3 MiB.
    expect(daemonReadBytes(mnt) - read0).toBeLessThan(BIG / 4);
    copyUpWhileOpen(mnt, 'big', LOWER_BIG);
    copyUpWhileOpen(mnt, 'small', Buffer.from('small lower\n'));
    expect(readFileSync(join(dirs.lowers[0]!, 'big')).equals(LOWER_BIG)).toBe(true);
    expect(readFileSync(join(dirs.upper, 'big')).subarray(0, 5).toString()).toBe('UPPER');
    // The new inode in requests that name it in their body (link) and in forgets (unlink).
    const content = readFileSync(join(mnt, 'big'));
    linkSync(join(mnt, 'big'), join(mnt, 'big2'));
    renameSync(join(mnt, 'big2'), join(mnt, 'big3'));
    expect(readFileSync(join(mnt, 'big3')).equals(content)).toBe(true);
    unlinkSync(join(mnt, 'big3'));
    unlinkSync(join(mnt, 'big'));
    expect(readdirSync(mnt).sort()).toEqual(['d', 'small']);
    writeFileSync(join(mnt, 'big'), 'new');
    expect(readFileSync(join(mnt, 'big'), 'utf8')).toBe('new');
  });

  it('changes through a descriptor opened before the copy-up reach the upper file, never the lower one', () => {
    const base = tempDir();
    const dirs = layers(base);
    const mnt = join(base, 'm');
    mkdirSync(mnt);
    mountWith(dirs, mnt, true);
    const old = openSync(join(mnt, 'big'), 'r');
    appendFileSync(join(mnt, 'big'), 'x');
    fchmodSync(old, 0o600);
    expect(codeOf(() => ftruncateSync(old, 0))).toBe('EINVAL');
    expect(fstatSync(old).mode & 0o777).toBe(0o600);
    closeSync(old);
    expect(statSync(join(dirs.upper, 'big')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dirs.upper, 'big')).size).toBe(BIG + 1);
    expect(statSync(join(dirs.lowers[0]!, 'big')).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(dirs.lowers[0]!, 'big')).equals(LOWER_BIG)).toBe(true);
  });

  it('maps lower files, and keeps a mapping on the lower file over a copy-up', () => {
    const base = tempDir();
    const dirs = layers(base);
    const mnt = join(base, 'm');
    mkdirSync(mnt);
    mountWith(dirs, mnt, true);
    const script = [
      'import mmap, sys, hashlib',
      'p = sys.argv[1]',
      'f = open(p, "rb"); m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)',
      'print(hashlib.sha256(m[:]).hexdigest())',
      'w = open(p, "r+b"); w.write(b"UPPER"); w.close()',
      'print(hashlib.sha256(m[:]).hexdigest())',
      'g = open(p, "rb"); n = mmap.mmap(g.fileno(), 0, prot=mmap.PROT_READ)',
      'print(n[:5].decode())',
    ].join('\n');
    const r = spawnSync('python3', ['-c', script, join(mnt, 'big')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const sum = createHash('sha256').update(LOWER_BIG).digest('hex');
    expect(r.stdout).toBe(`${sum}\n${sum}\nUPPER\n`);
  });

  it('keeps no descriptors or backing files behind over many opens', () => {
    const base = tempDir();
    const dirs = layers(base);
    const mnt = join(base, 'm');
    mkdirSync(mnt);
    mountWith(dirs, mnt, true);
    readFileSync(join(mnt, 'big'));
    const fds0 = daemonFds(mnt);
    for (let i = 0; i < 300; i++) {
      const a = openSync(join(mnt, 'big'), 'r');
      const b = openSync(join(mnt, 'small'), 'r');
      expect(readSync(a, Buffer.alloc(4), 0, 4, BIG - 4)).toBe(4);
      expect(readAll(b, 64).toString()).toBe('small lower\n');
      closeSync(a);
      closeSync(b);
    }
    expect(readFileSync(join(mnt, 'big')).equals(LOWER_BIG)).toBe(true);
    expect(daemonFds(mnt)).toBe(fds0);
  });

  it('works the same with passthrough switched off, through the daemon', () => {
    const base = tempDir();
    const dirs = layers(base);
    const mnt = join(base, 'm');
    mkdirSync(mnt);
    mountWith(dirs, mnt, false);
    const read0 = daemonReadBytes(mnt);
    expect(readFileSync(join(mnt, 'big')).equals(LOWER_BIG)).toBe(true);
    expect(daemonReadBytes(mnt) - read0).toBeGreaterThanOrEqual(BIG);
    copyUpWhileOpen(mnt, 'big', LOWER_BIG, false);
    copyUpWhileOpen(mnt, 'small', Buffer.from('small lower\n'), false);
  });

  it('works for an unprivileged user, who may not open backing files', () => {
    const user = rootlessUser();
    if (!user) return;
    const { dirs, mnt } = mountAsUser(user, (h) => layers(h));
    // A reader holds the lower file open across the copy-up of `echo >>`, and reads it first.
    const r = runAs(user, 'sh', [
      '-c',
      `set -e; cd ${mnt}; exec 3<big; echo more >> big; cmp - ${dirs.lowers[0]}/big <&3; exec 3<&-; ` +
        `cmp -n ${BIG} big ${dirs.lowers[0]}/big; tail -c 5 big; cd /; fusermount3 -u ${mnt}`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('more\n');
  });
});
