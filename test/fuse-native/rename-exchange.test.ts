/**
 * renameat2(RENAME_EXCHANGE) through the channel (fast option rename2): the kernel's one request
 * reaches JS as one exchange handler call with both paths, and libfuse's node table follows the
 * swap, or stays as it was when the handler fails. The table is seen through an fd opened before:
 * with attributes never cached, its fstat is answered for the path libfuse now gives its node.
 */
import { lstatSync, mkdirSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FuseOps } from '../../src/fuse/binding.js';
import { constants as native, renameat2 } from '../../src/native.js';
import { tempDir } from '../helpers/tmp.js';
import { mounted, run } from './helpers.js';

/** A pass-through filesystem over root; exchange is the test's. */
function realFs(exchange?: (real: (p: string) => string, a: string, b: string) => void) {
  const root = join(tempDir('strata-exchange-'), 'root');
  mkdirSync(join(root, 'd'), { recursive: true });
  writeFileSync(join(root, 'a'), 'a');
  writeFileSync(join(root, 'd/b'), 'bbbb');
  const real = (p: string): string => (p === '/' ? root : root + p);
  const calls: string[] = [];
  const ops: FuseOps = {
    getattr: (p) => lstatSync(real(p), { bigint: true }),
    fgetattr: (p) => lstatSync(real(p!), { bigint: true }),
    open: (p, flags) => openSync(real(p), flags),
    release: () => undefined,
    rename: (a, b) => (calls.push(`rename ${a} ${b}`), renameSync(real(a), real(b))),
  };
  if (exchange) ops.exchange = (a, b) => (calls.push(`exchange ${a} ${b}`), exchange(real, a, b));
  return { ops, calls, root };
}

/**
 * In a child process: opens a, renameat2(a, d/b, flags), then prints the result, fstat's size of
 * the fd (the node first named a), and what each name holds.
 */
async function swap(mnt: string, flags: number): Promise<string> {
  const code = [
    'import ctypes, os, sys',
    'libc = ctypes.CDLL(None, use_errno=True)',
    'a, b = sys.argv[1] + "/a", sys.argv[1] + "/d/b"',
    'fd = os.open(a, os.O_RDONLY)',
    'r = libc.renameat2(-100, a.encode(), -100, b.encode(), int(sys.argv[2]))',
    'print("ok" if r == 0 else os.strerror(ctypes.get_errno()), os.fstat(fd).st_size, open(a).read(), open(b).read())',
  ].join('\n');
  const r = await run('python3', ['-c', code, mnt, String(flags)]);
  expect(r.stderr).toBe('');
  return r.stdout.trim();
}

const FAST = (root: string) => ({ fast: { layers: [root], fdIo: true, rename2: true }, attrTimeout: 0, entryTimeout: 0 });

describe('RENAME_EXCHANGE through the channel', () => {
  it('reaches the exchange handler once, and libfuse nodes follow the swap', async () => {
    const fs = realFs((real, a, b) => renameat2(real(a), real(b), native.RENAME_EXCHANGE));
    const { mnt } = await mounted(fs.ops, FAST(fs.root));
    // The fd's node (first named a, 1 byte) is named d/b now.
    expect(await swap(mnt, native.RENAME_EXCHANGE)).toBe('ok 1 bbbb a');
    // One exchange (the new name first: the middle of the three renames carries it), no rename.
    expect(fs.calls).toEqual(['exchange /d/b /a']);
  });

  it('leaves the nodes where they were when the handler fails', async () => {
    const fs = realFs(() => {
      throw Object.assign(new Error('no'), { code: 'EXDEV' });
    });
    const { mnt } = await mounted(fs.ops, FAST(fs.root));
    expect(await swap(mnt, native.RENAME_EXCHANGE)).toBe('Invalid cross-device link 1 a bbbb');
    expect(fs.calls).toEqual(['exchange /d/b /a']);
  });

  it('answers EINVAL without an exchange handler, and for RENAME_WHITEOUT', async () => {
    const fs = realFs();
    const { mnt } = await mounted(fs.ops, FAST(fs.root));
    expect(await swap(mnt, native.RENAME_EXCHANGE)).toBe('Invalid argument 1 a bbbb');
    expect(await swap(mnt, native.RENAME_WHITEOUT)).toBe('Invalid argument 1 a bbbb');
    expect(fs.calls).toEqual([]);
  });
});
