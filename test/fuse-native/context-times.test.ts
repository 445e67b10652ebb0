import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UTIME_NOW, UTIME_OMIT, type Timespec } from '../../src/fuse/binding.js';
import { rootlessUser } from '../helpers/rootless.js';
import { mounted, node, sh } from './helpers.js';
import { MemFs } from './memfs.js';

const user = rootlessUser();

function utimensCalls(fs: MemFs): Array<[Timespec, Timespec]> {
  return fs.calls.filter((c) => c.op === 'utimens').map((c) => [c.args[1] as Timespec, c.args[2] as Timespec]);
}

describe('caller context', () => {
  it.skipIf(!user)('reports the unprivileged creator uid/gid to create, and root for root', async () => {
    const fs = new MemFs();
    const { mnt } = await mounted(fs.ops(), { allowOther: true });
    await sh(`echo hi > ${mnt}/mine`, { user });
    await sh(`echo hi > ${mnt}/roots`);

    const [mine, roots] = ['/mine', '/roots'].map((p) => fs.calls.find((c) => c.op === 'create' && c.args[0] === p)!);
    expect(mine.ctx).toMatchObject({ uid: user!.uid, gid: user!.gid });
    expect(mine.ctx.pid).toBeGreaterThan(0);
    expect(roots.ctx).toMatchObject({ uid: 0, gid: 0 });
    // The node the handler made is owned by its caller, as the kernel then reports.
    expect((await sh(`stat -c '%u:%g' ${mnt}/mine`)).trim()).toBe(`${user!.uid}:${user!.gid}`);
  });

  it('gives mkdir the caller umask', async () => {
    const fs = new MemFs();
    const { mnt } = await mounted(fs.ops());
    await sh(`umask 027 && mkdir ${mnt}/d`);
    const call = fs.calls.find((c) => c.op === 'mkdir')!;
    expect(call.ctx.umask).toBe(0o027);
    expect((call.args[1] as number) & 0o777).toBe(0o750);
  });
});

describe('utimens', () => {
  it('passes mtime with nanoseconds and atime as UTIME_OMIT for touch -m', async () => {
    const fs = new MemFs();
    const { mnt } = await mounted(fs.ops());
    const f = join(mnt, 'f');
    await sh(`touch ${f} && TZ=UTC touch -m -d '2001-02-03 04:05:06.123456789' ${f}`);

    const [atime, mtime] = utimensCalls(fs).at(-1)!;
    expect(atime.nsec).toBe(UTIME_OMIT);
    expect(mtime).toEqual({ sec: Date.UTC(2001, 1, 3, 4, 5, 6) / 1000, nsec: 123_456_789 });
    // And back out through getattr with full precision.
    expect((await sh(`TZ=UTC stat -c %y ${f}`)).trim()).toBe('2001-02-03 04:05:06.123456789 +0000');
  });

  it('keeps atime and mtime apart (fs.utimesSync) and passes mtime UTIME_OMIT for touch -a', async () => {
    const fs = new MemFs();
    const { mnt } = await mounted(fs.ops());
    const f = join(mnt, 'f');
    await sh(`touch ${f}`);
    const r = await node(
      `const fs = require('fs'); fs.utimesSync(process.argv[1], 1000.5, 2000.25);` +
        `const st = fs.statSync(process.argv[1], { bigint: true }); console.log(st.atimeNs + ' ' + st.mtimeNs)`,
      [f],
    );
    expect(r.stderr).toBe('');
    const [atime, mtime] = utimensCalls(fs).at(-1)!;
    expect(atime).toEqual({ sec: 1000, nsec: 500_000_000 });
    expect(mtime).toEqual({ sec: 2000, nsec: 250_000_000 });
    expect(r.stdout.trim()).toBe('1000500000000 2000250000000');

    await sh(`TZ=UTC touch -a -d '2002-02-03 04:05:06.5' ${f}`);
    const [a2, m2] = utimensCalls(fs).at(-1)!;
    expect(a2).toEqual({ sec: Date.UTC(2002, 1, 3, 4, 5, 6) / 1000, nsec: 500_000_000 });
    expect(m2.nsec).toBe(UTIME_OMIT);
  });

  it('passes UTIME_NOW for both times when touch sets the current time', async () => {
    const fs = new MemFs();
    const { mnt } = await mounted(fs.ops());
    await sh(`touch ${mnt}/f && touch ${mnt}/f`);
    const [atime, mtime] = utimensCalls(fs).at(-1)!;
    expect([atime.nsec, mtime.nsec]).toEqual([UTIME_NOW, UTIME_NOW]);
  });
});

describe('getattr times', () => {
  it('reports nanoseconds, pre-epoch times and 64-bit sizes exactly', async () => {
    const fs = new MemFs();
    fs.add('/old', 0o100644, { mtimeNs: -1_500_000_001n, atimeNs: 1_234_567_890_123_456_789n, data: Buffer.alloc(0) });
    const { mnt } = await mounted(fs.ops());
    const r = await node(
      `const st = require('fs').statSync(process.argv[1], { bigint: true }); console.log(st.mtimeNs + ' ' + st.atimeNs)`,
      [join(mnt, 'old')],
    );
    expect(r.stdout.trim()).toBe('-1500000001 1234567890123456789');
  });
});
