import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mountFuse } from '../../src/fuse/binding.js';
import { mountsUnder, tempDir } from '../helpers/tmp.js';
import { run, sh, sleep } from './helpers.js';
import { MemFs } from './memfs.js';

const threads = (): number => readdirSync('/proc/self/task').length;

async function settle(check: () => boolean, ms = 3_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (check()) return true;
  return check();
}

describe('mount lifecycle', () => {
  it('unmount removes the mount, ends the FUSE threads, and the directory can be mounted again', async () => {
    const mnt = join(tempDir('strata-fuse-native-'), 'mnt');
    mkdirSync(mnt);
    await sh('true'); // warm libuv's threadpool so it does not count as ours
    const before = threads();
    for (let round = 0; round < 2; round++) {
      const fs = new MemFs();
      const handle = await mountFuse(mnt, fs.ops());
      await sh(`echo ${round} > ${mnt}/f && cat ${mnt}/f`);
      expect(mountsUnder(mnt)).toEqual([mnt]);
      expect(threads()).toBeGreaterThan(before); // libfuse's loop and worker threads
      await handle.unmount();
      expect(mountsUnder(mnt)).toEqual([]);
      expect(await settle(() => threads() <= before)).toBe(true);
    }
  });

  it('unmount still releases the native side when someone else unmounted first', async () => {
    const mnt = join(tempDir('strata-fuse-native-'), 'mnt');
    mkdirSync(mnt);
    const handle = await mountFuse(mnt, new MemFs().ops());
    await sh(`umount -l ${mnt}`);
    await expect(handle.unmount()).resolves.toBeUndefined();
  });

  it('a process that mounts and unmounts exits on its own', async () => {
    const mnt = join(tempDir('strata-fuse-native-'), 'mnt');
    mkdirSync(mnt);
    const script = `
      const Fuse = require('fuse-native');
      const fuse = new Fuse(process.argv[1], { getattr: (p, cb) => cb(0, { mode: 0o40755, mtime: 0, atime: 0, ctime: 0 }) }, { timeout: 0 });
      fuse.mount((err) => {
        if (err) throw err;
        require('fs').stat(process.argv[1], (err) => {
          if (err) throw err;
          fuse.unmount((err) => { if (err) throw err; console.log('done'); });
        });
      });`;
    const started = Date.now();
    const r = await run(process.execPath, ['-e', script, '--', mnt], { env: { NODE_PATH: join(process.cwd(), 'node_modules') } });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('done');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(mountsUnder(mnt)).toEqual([]);
  });
});
