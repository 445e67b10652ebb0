import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mountFuse, type FuseOps } from '../../src/fuse/binding.js';
import { rootlessUser } from '../helpers/rootless.js';
import { mountsUnder, tempDir } from '../helpers/tmp.js';
import { mounted, node, run, sh, ROOT_STAT } from './helpers.js';
import { MemFs } from './memfs.js';

/** One file that swallows writes, recording each write's size. */
function sink(sizes: number[]): FuseOps {
  let size = 0;
  return {
    getattr: (path) => {
      if (path === '/') return ROOT_STAT;
      if (path === '/sink') return { mode: 0o100644, size, mtime: 0, atime: 0, ctime: 0 };
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    },
    open: () => 1,
    truncate: () => undefined,
    write: (_path, _fh, _buf, len, pos) => {
      sizes.push(len);
      size = Math.max(size, pos + len);
      return len;
    },
  };
}

/** The mountinfo fields (source, fstype, mount options) of the mount at dir. */
function mountInfo(dir: string): { source: string; fstype: string; options: string } {
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === dir)!;
  const [pre, post] = line.split(' - ');
  const [fstype, source] = post!.split(' ');
  return { source: source!.replace(/\\054/g, ','), fstype: fstype!, options: pre!.split(' ')[5]! };
}

describe('mount options', () => {
  it('big_writes with max_write=131072 delivers a 64 MiB dd in writes larger than 4 KiB', async () => {
    const sizes: number[] = [];
    const { mnt } = await mounted(sink(sizes), { bigWrites: true, maxWrite: 131072 });
    await sh(`dd if=/dev/zero of=${mnt}/sink bs=1M count=64 conv=notrunc status=none`);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(64 * 1024 * 1024);
    expect(Math.max(...sizes)).toBe(131072);
    expect(sizes.length).toBeLessThanOrEqual(64 * 1024 * 1024 / 65536);
  });

  it('without big_writes the kernel writes page by page', async () => {
    const sizes: number[] = [];
    const { mnt } = await mounted(sink(sizes));
    await sh(`dd if=/dev/zero of=${mnt}/sink bs=1M count=1 conv=notrunc status=none`);
    expect(Math.max(...sizes)).toBe(4096);
    expect(sizes.length).toBe(256);
  });

  it('use_ino makes st_ino (64-bit) what getattr returned; without it libfuse numbers inodes', async () => {
    const ino = 2n ** 33n + 5n;
    const ops = (): FuseOps => ({
      getattr: (path) => (path === '/' ? ROOT_STAT : { mode: 0o100644, ino, mtime: 0, atime: 0, ctime: 0 }),
    });
    const statIno = async (mnt: string): Promise<string> =>
      (await node(`console.log(String(require('fs').statSync(process.argv[1], { bigint: true }).ino))`, [join(mnt, 'f')])).stdout.trim();

    const withIno = await mounted(ops(), { useIno: true });
    expect(await statIno(withIno.mnt)).toBe(String(ino));
    const without = await mounted(ops());
    expect(await statIno(without.mnt)).not.toBe(String(ino));
  });

  it('passes fsname (with a comma) and subtype, and raw extraOptions', async () => {
    const { mnt } = await mounted(new MemFs().ops(), { fsname: 'strata,layer', subtype: 'strata-test', extraOptions: ['noatime'] });
    const info = mountInfo(mnt);
    expect(info).toMatchObject({ source: 'strata,layer', fstype: 'fuse.strata-test' });
    expect(info.options.split(',')).toContain('noatime');
  });

  it('passes zero timeouts instead of dropping them (each stat reaches getattr)', async () => {
    const cached = new MemFs();
    cached.add('/f', 0o100644);
    const a = await mounted(cached.ops());
    const uncached = new MemFs();
    uncached.add('/f', 0o100644);
    const b = await mounted(uncached.ops(), { entryTimeout: 0, attrTimeout: 0, negativeTimeout: 0 });
    const statThrice = (mnt: string): Promise<string> => sh(`for i in 1 2 3; do stat -c %s ${mnt}/f; done`);
    await statThrice(a.mnt);
    await statThrice(b.mnt);
    const hits = (fs: MemFs): number => fs.calls.filter((c) => c.op === 'getattr' && c.args[0] === '/f').length;
    expect(hits(cached)).toBe(1);
    expect(hits(uncached)).toBeGreaterThanOrEqual(3);
  });

  it.skipIf(!rootlessUser())('default_permissions with allow_other lets the kernel refuse other users', async () => {
    const fs = new MemFs();
    fs.add('/secret', 0o100600, { data: Buffer.from('s') });
    fs.add('/open', 0o100644, { data: Buffer.from('o') });
    const { mnt } = await mounted(fs.ops(), { allowOther: true, defaultPermissions: true });
    const user = rootlessUser()!;
    expect((await run('cat', [`${mnt}/open`], { user })).stdout).toBe('o');
    const denied = await run('cat', [`${mnt}/secret`], { user });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('Permission denied');
    expect(fs.count('open')).toBe(1); // the refused open never reached us
  });

  it('rejects an unknown option with a clear error and leaves nothing mounted', async () => {
    const mnt = join(tempDir('strata-fuse-native-'), 'mnt');
    mkdirSync(mnt);
    await expect(mountFuse(mnt, new MemFs().ops(), { extraOptions: ['no_such_option'] })).rejects.toThrow(/fuse_new failed/);
    expect(mountsUnder(mnt)).toEqual([]);
  });

  it('validates option values before mounting', async () => {
    const mnt = join(tempDir('strata-fuse-native-'), 'mnt');
    mkdirSync(mnt);
    await expect(mountFuse(mnt, new MemFs().ops(), { maxWrite: -1 })).rejects.toThrow(/maxWrite/);
    await expect(mountFuse(mnt, new MemFs().ops(), { timeout: Number.NaN })).rejects.toThrow(/timeout/);
    expect(mountsUnder(mnt)).toEqual([]);
  });
});
