/**
 * Measures (does not assert) the patched fuse-native's costs: the JS round trip of one op, and
 * write/read throughput with and without big_writes. Run as root:
 *   node --import tsx test/fuse-native/bench.ts
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountFuse, type FuseOps, type FuseStat, type MountOptions } from '../../src/fuse/binding.js';

const FILE_MIB = 512;
const STATS = 20_000;
/** The machine is shared: report the best of a few runs, the least disturbed one. */
const RUNS = 3;

function exec(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { encoding: 'utf8' }, (err, out, errout) => (err ? reject(new Error(errout || err.message)) : resolve(out))),
  );
}

const statLoop = `const fs = require('fs'); const p = process.argv[1]; for (let i = 0; i < 500; i++) fs.statSync(p);
  const t = process.hrtime.bigint(); for (let i = 0; i < ${STATS}; i++) fs.statSync(p);
  console.log(Number(process.hrtime.bigint() - t) / 1e3 / ${STATS})`;

/** Best (lowest) µs per stat(2) from a child process. */
async function statMicros(path: string): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) best = Math.min(best, Number(await exec(process.execPath, ['-e', statLoop, '--', path])));
  return best;
}

/** Best MiB/s of dd moving FILE_MIB MiB in 1 MiB blocks. */
async function ddMiBs(args: string[]): Promise<number> {
  let best = 0;
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    await exec('dd', [...args, 'bs=1M', `count=${FILE_MIB}`, 'status=none']);
    best = Math.max(best, FILE_MIB / (Number(process.hrtime.bigint() - t) / 1e9));
  }
  return best;
}

function fileOps(counter: { getattr: number; writes: number; reads: number }): FuseOps {
  const size = FILE_MIB * 1024 * 1024;
  const file: FuseStat = { mode: 0o100644, size, mtime: 0, atime: 0, ctime: 0 };
  return {
    getattr: (path) => {
      counter.getattr++;
      if (path === '/') return { mode: 0o40755, nlink: 2, mtime: 0, atime: 0, ctime: 0 };
      if (path === '/f') return file;
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    },
    open: () => 1,
    truncate: () => undefined,
    write: (_p, _fh, _buf, len) => {
      counter.writes++;
      return len;
    },
    read: (_p, _fh, _buf, len, pos) => {
      counter.reads++;
      return Math.max(0, Math.min(len, size - pos));
    },
  };
}

async function withMount<T>(dir: string, opts: MountOptions, fn: (mnt: string, counter: { getattr: number; writes: number; reads: number }) => Promise<T>): Promise<T> {
  const mnt = join(dir, `mnt-${Math.random().toString(36).slice(2)}`);
  mkdirSync(mnt);
  const counter = { getattr: 0, writes: 0, reads: 0 };
  const handle = await mountFuse(mnt, fileOps(counter), opts);
  try {
    return await fn(mnt, counter);
  } finally {
    await handle.unmount();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-fuse-bench-'));
  try {
    writeFileSync(join(dir, 'plain'), 'x');
    const baseline = await statMicros(join(dir, 'plain'));
    const roundTrip = await withMount(dir, { entryTimeout: 0, attrTimeout: 0 }, async (mnt, counter) => {
      const before = counter.getattr;
      const us = await statMicros(join(mnt, 'f'));
      return { us, perStat: (counter.getattr - before) / ((STATS + 500) * RUNS) };
    });
    const cached = await withMount(dir, {}, (mnt) => statMicros(join(mnt, 'f')));
    console.log(`stat(2) on ${tmpdir()}: ${baseline.toFixed(2)} µs`);
    console.log(
      `stat(2) through FUSE, no caching: ${roundTrip.us.toFixed(1)} µs = ${roundTrip.perStat.toFixed(0)} JS getattr round trips ` +
        `of ~${(roundTrip.us / roundTrip.perStat).toFixed(1)} µs each`,
    );
    console.log(`stat(2) through FUSE, default 1 s caches: ${cached.toFixed(2)} µs`);

    for (const [name, opts] of [
      ['4 KiB writes (no big_writes)', {}],
      ['big_writes, max_write=131072', { bigWrites: true, maxWrite: 131072 }],
    ] as Array<[string, MountOptions]>) {
      await withMount(dir, opts, async (mnt, counter) => {
        const mibs = await ddMiBs(['if=/dev/zero', `of=${mnt}/f`, 'conv=notrunc']);
        console.log(`write ${FILE_MIB} MiB, ${name}: ${mibs.toFixed(0)} MiB/s (${counter.writes / RUNS} write ops per run)`);
      });
    }
    await withMount(dir, { maxRead: 131072 }, async (mnt, counter) => {
      const mibs = await ddMiBs([`if=${mnt}/f`, 'of=/dev/null']);
      console.log(`read ${FILE_MIB} MiB, max_read=131072: ${mibs.toFixed(0)} MiB/s (${counter.reads / RUNS} read ops per run)`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
