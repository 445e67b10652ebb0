import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { major, makedev, minor, type FuseOps } from '../../src/fuse/binding.js';
import { mounted, node, run, sh } from './helpers.js';
import { MemFs } from './memfs.js';

/** Runs python3 code with the mount point as sys.argv[1]; prints go to stdout. */
async function py(code: string, mnt: string): Promise<string> {
  const r = await run('python3', ['-c', code, mnt]);
  if (r.code !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return r.stdout.trim();
}

describe('fgetattr and ftruncate', () => {
  it('route to the fh-based handlers with the fh that create returned', async () => {
    const fs = new MemFs();
    const { mnt } = await mounted(fs.ops());
    const r = await node(
      `const fs = require('fs'); const fd = fs.openSync(process.argv[1], 'w'); fs.writeSync(fd, 'hello world');` +
        `fs.ftruncateSync(fd, 5); console.log(fs.fstatSync(fd).size); fs.closeSync(fd)`,
      [join(mnt, 'f')],
    );
    expect(r.stdout.trim()).toBe('5');
    await py('import os, sys\nos.truncate(sys.argv[1] + "/f", 2)', mnt);

    const fh = fs.calls.find((c) => c.op === 'write')!.args[1];
    // libfuse stats a new file through fgetattr with the fh create returned, and again after ftruncate.
    const fgetattrs = fs.calls.filter((c) => c.op === 'fgetattr');
    expect(fgetattrs.length).toBeGreaterThanOrEqual(2);
    expect(fgetattrs.every((c) => c.args[0] === '/f' && c.args[1] === fh)).toBe(true);
    expect(fs.calls.find((c) => c.op === 'ftruncate')!.args).toEqual(['/f', fh, 5]);
    expect(fs.calls.find((c) => c.op === 'truncate')!.args).toEqual(['/f', 2]);
    expect(fs.get('/f').data.toString()).toBe('he');
  });

  it('fall back to getattr and truncate when the fh-based handlers are absent', async () => {
    const fs = new MemFs();
    const { fgetattr: _f, ftruncate: _t, ...ops } = fs.ops();
    const { mnt } = await mounted(ops as FuseOps);
    const r = await node(
      `const fs = require('fs'); const fd = fs.openSync(process.argv[1], 'w'); fs.writeSync(fd, 'abc');` +
        `fs.ftruncateSync(fd, 1); console.log(fs.fstatSync(fd).size)`,
      [join(mnt, 'f')],
    );
    expect(r.stdout.trim()).toBe('1');
    expect(fs.count('truncate')).toBe(1);
  });
});

describe('readdir', () => {
  it('gives the kernel d_type from stats, so typed listings need no per-entry getattr', async () => {
    const fs = new MemFs();
    fs.add('/d', 0o40755);
    fs.add('/d/file', 0o100644);
    fs.add('/d/dir', 0o40755);
    fs.add('/d/link', 0o120777, { target: 'file' });
    fs.add('/d/fifo', 0o10644);
    const { mnt } = await mounted(fs.ops());
    const r = await node(
      `const out = require('fs').readdirSync(process.argv[1], { withFileTypes: true }).map(d =>` +
        `d.name + ':' + (d.isFile() ? 'f' : d.isDirectory() ? 'd' : d.isSymbolicLink() ? 'l' : d.isFIFO() ? 'p' : '?'));` +
        `console.log(out.sort().join(' '))`,
      [join(mnt, 'd')],
    );
    expect(r.stdout.trim()).toBe('dir:d fifo:p file:f link:l');
    expect(fs.calls.filter((c) => c.op === 'getattr' && String(c.args[0]).startsWith('/d/'))).toEqual([]);
  });

  it('lists thousands of entries', async () => {
    const fs = new MemFs();
    fs.add('/big', 0o40755);
    for (let i = 0; i < 5000; i++) fs.add(`/big/entry-with-a-longish-name-${i}`, 0o100644);
    const { mnt } = await mounted(fs.ops());
    expect((await sh(`ls -f ${mnt}/big | grep -c entry-`)).trim()).toBe('5000');
  });
});

describe('read and write', () => {
  it('move 8 MiB through the kernel buffers intact, in large chunks', async () => {
    const fs = new MemFs();
    const { mnt } = await mounted(fs.ops(), { bigWrites: true, maxWrite: 131072, maxRead: 131072 });
    const out = await sh(
      `head -c 8388608 /dev/urandom > ${mnt}/../src && cp ${mnt}/../src ${mnt}/f && ` +
        `cmp ${mnt}/../src ${mnt}/f && echo same`,
    );
    expect(out.trim()).toBe('same');
    const reads = fs.calls.filter((c) => c.op === 'read').map((c) => c.args[3] as number);
    expect(Math.max(...reads)).toBeGreaterThan(4096);
  });

  it('return readlink targets near PATH_MAX', async () => {
    const fs = new MemFs();
    const target = 'x/'.repeat(2000) + 'end';
    fs.add('/l', 0o120777, { target });
    const { mnt } = await mounted(fs.ops());
    expect((await node(`console.log(require('fs').readlinkSync(process.argv[1]))`, [join(mnt, 'l')])).stdout.trim()).toBe(target);
  });
});

describe('create, mknod, rename', () => {
  it('create gets the mode (after the caller umask)', async () => {
    const fs = new MemFs();
    const { mnt } = await mounted(fs.ops());
    await sh(`umask 022 && node -e "require('fs').closeSync(require('fs').openSync(process.argv[1], 'wx', 0o640))" ${mnt}/f`);
    const call = fs.calls.find((c) => c.op === 'create')!;
    expect((call.args[1] as number).toString(8)).toBe('100640');
    expect((await sh(`stat -c %a ${mnt}/f`)).trim()).toBe('640');
  });

  it('mknod gets the full rdev of a device node, and fifos', async () => {
    const fs = new MemFs();
    const { mnt } = await mounted(fs.ops());
    await sh(`mknod ${mnt}/null c 1 3 && mknod ${mnt}/big b 300 70000 && mkfifo ${mnt}/fifo`);
    const rdevs = fs.calls.filter((c) => c.op === 'mknod').map((c) => [(c.args[1] as number) & 0o170000, c.args[2]]);
    expect(rdevs).toEqual([[0o20000, makedev(1, 3)], [0o60000, makedev(300, 70000)], [0o10000, 0]]);
    expect([major(makedev(300, 70000)), minor(makedev(300, 70000))]).toEqual([300, 70000]);
    expect((await sh(`stat -c '%F %Hr %Lr' ${mnt}/null ${mnt}/big`)).trim().split('\n'))
      .toEqual(['character special file 1 3', 'block special file 300 70000']);
  });

  it('rename moves; RENAME_NOREPLACE gets EEXIST from the VFS or EINVAL (libfuse2 has no rename flags)', async () => {
    const fs = new MemFs();
    const { mnt } = await mounted(fs.ops());
    await sh(`echo a > ${mnt}/a && echo b > ${mnt}/b && mv ${mnt}/a ${mnt}/c`);
    expect(fs.calls.find((c) => c.op === 'rename')!.args).toEqual(['/a', '/c']);
    const errnos = await py(
      `import ctypes, errno, sys\nlibc = ctypes.CDLL(None, use_errno=True)\n` +
        `for dest in ('c', 'new'):\n` +
        `    r = libc.renameat2(-100, (sys.argv[1] + '/b').encode(), -100, (sys.argv[1] + '/' + dest).encode(), 1)\n` +
        `    print(r, errno.errorcode[ctypes.get_errno()])`,
      mnt,
    );
    expect(errnos.split('\n')).toEqual(['-1 EEXIST', '-1 EINVAL']);
    expect((await sh(`cat ${mnt}/b ${mnt}/c`)).trim()).toBe('b\na');
  });
});

describe('extended attributes', () => {
  it('pass flags, serve 64 KiB values and long lists, and answer short buffers with ERANGE', async () => {
    const fs = new MemFs();
    fs.add('/f', 0o100644);
    const { mnt } = await mounted(fs.ops());
    const out = await py(
      [
        'import ctypes, errno, os, sys',
        'p = sys.argv[1] + "/f"',
        'os.setxattr(p, "user.a", b"1", os.XATTR_CREATE)',
        'try:\n    os.setxattr(p, "user.a", b"2", os.XATTR_CREATE)\nexcept OSError as e:\n    print(errno.errorcode[e.errno])',
        'try:\n    os.setxattr(p, "user.none", b"2", os.XATTR_REPLACE)\nexcept OSError as e:\n    print(errno.errorcode[e.errno])',
        'os.setxattr(p, "user.big", bytes(range(256)) * 256)',
        'for i in range(300): os.setxattr(p, "user.name-%03d" % i, b"")',
        'print(os.getxattr(p, "user.big") == bytes(range(256)) * 256)',
        'print(len(os.listxattr(p)))',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'buf = ctypes.create_string_buffer(10)',
        'print(libc.getxattr(p.encode(), b"user.big", buf, 10), errno.errorcode[ctypes.get_errno()])',
        'print(libc.listxattr(p.encode(), buf, 10), errno.errorcode[ctypes.get_errno()])',
        'os.removexattr(p, "user.a")',
        'print("user.a" in os.listxattr(p))',
      ].join('\n'),
      mnt,
    );
    expect(out.split('\n')).toEqual(['EEXIST', 'ENODATA', 'True', '302', '-1 ERANGE', '-1 ERANGE', 'False']);
    const flags = fs.calls.filter((c) => c.op === 'setxattr').slice(0, 3).map((c) => c.args[4]);
    expect(flags).toEqual([1, 1, 2]);
  });
});

describe('unlinked open files (hardRemove + nullPathOk)', () => {
  it('keep working through the fh with a null path and leave no .fuse_hidden file', async () => {
    const fs = new MemFs();
    const { mnt } = await mounted(fs.ops(), { hardRemove: true, nullPathOk: true });
    const out = await py(
      [
        'import os, sys',
        'p = sys.argv[1] + "/f"',
        'fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)',
        'os.unlink(p)',
        'os.pwrite(fd, b"still here", 0)',
        // SEEK_END makes the kernel ask for attributes by fh: fgetattr(null, fh).
        'print(os.pread(fd, 10, 0).decode(), os.lseek(fd, 0, os.SEEK_END), len(os.listdir(sys.argv[1])))',
        'os.close(fd)',
      ].join('\n'),
      mnt,
    );
    expect(out).toBe('still here 10 0');
    const late = fs.calls.slice(fs.calls.findIndex((c) => c.op === 'unlink') + 1);
    expect(late.map((c) => c.op)).toEqual(expect.arrayContaining(['write', 'read', 'fgetattr', 'release']));
    expect(late.filter((c) => ['write', 'read', 'fgetattr', 'release'].includes(c.op)).every((c) => c.args[0] === null)).toBe(true);
  });
});
