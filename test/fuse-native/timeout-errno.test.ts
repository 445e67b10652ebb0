import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadFuseNative, toErrno, type FuseCallbackOps, type FuseNative, type FuseOptions } from '../../src/fuse/binding.js';
import { tempDir } from '../helpers/tmp.js';
import { mounted, node, ROOT_STAT, sleep } from './helpers.js';

const Fuse = loadFuseNative();
const defaultTimeout = Fuse.DEFAULT_TIMEOUT;
afterEach(() => {
  Fuse.DEFAULT_TIMEOUT = defaultTimeout;
});

/** Mounts the raw callback API (no binding.ts adapter) and unmounts before tempDir clean-up. */
async function mountRaw(ops: FuseCallbackOps, opts: FuseOptions = {}): Promise<string> {
  const mnt = join(tempDir('strata-fuse-native-'), 'mnt');
  mkdirSync(mnt);
  const fuse: FuseNative = new Fuse(mnt, ops, opts);
  await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
  const { onTestFinished } = await import('vitest');
  onTestFinished(() => new Promise<void>((resolve) => fuse.unmount(() => resolve())));
  return mnt;
}

/** stat(2) of path in a child: the error code (or 'ok') and how long it took. */
async function timedStat(path: string): Promise<{ result: string; ms: number }> {
  const r = await node(
    `const t = Date.now(); let result = 'ok'; try { require('fs').statSync(process.argv[1]) } catch (e) { result = e.code }` +
      `console.log(JSON.stringify({ result, ms: Date.now() - t }))`,
    [path],
  );
  return JSON.parse(r.stdout) as { result: string; ms: number };
}

/** getattr answering '/slow' after delayMs. */
function slowGetattr(delayMs: number): FuseCallbackOps {
  return {
    getattr: (path, cb) => {
      if (path === '/') return cb(0, ROOT_STAT);
      setTimeout(() => cb(0, { mode: 0o100644, mtime: 0, atime: 0, ctime: 0 }), delayMs);
    },
  };
}

describe('op timeout', () => {
  it('fails a handler that does not answer within timeout with ETIMEDOUT, after about that long', async () => {
    const mnt = await mountRaw(slowGetattr(5_000), { timeout: 1_000 });
    const { result, ms } = await timedStat(join(mnt, 'slow'));
    expect(result).toBe('ETIMEDOUT');
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(4_000);
  });

  it('honours a late answer when the timeout is 0, where the default would have failed it', async () => {
    Fuse.DEFAULT_TIMEOUT = 300; // stands in for the stock 15 s, to keep the test short
    const withDefault = await mountRaw(slowGetattr(1_200));
    expect((await timedStat(join(withDefault, 'slow'))).result).toBe('ETIMEDOUT');

    const disabled = await mountRaw(slowGetattr(1_200), { timeout: 0 });
    const { result, ms } = await timedStat(join(disabled, 'slow'));
    expect(result).toBe('ok');
    expect(ms).toBeGreaterThanOrEqual(1_100);
  });

  it('per-op 0 disables the timeout for that op only', async () => {
    const mnt = await mountRaw(slowGetattr(1_000), { timeout: { default: 200, getattr: 0 } });
    expect((await timedStat(join(mnt, 'slow'))).result).toBe('ok');
  });

  it('has no timeout by default through mountFuse', async () => {
    Fuse.DEFAULT_TIMEOUT = 300;
    const { mnt } = await mounted({
      getattr: async (path) => {
        if (path === '/') return ROOT_STAT;
        await sleep(1_000);
        return { mode: 0o100644, mtime: 0, atime: 0, ctime: 0 };
      },
    });
    expect((await timedStat(join(mnt, 'slow'))).result).toBe('ok');
  });
});

describe('errno normalisation', () => {
  function enoentBy(): FuseCallbackOps {
    let fsError: unknown;
    try {
      statSync('/nonexistent/strata');
    } catch (err) {
      fsError = err;
    }
    const byPath: Record<string, unknown> = {
      '/positive': 2,
      '/negative': -2,
      '/fs-error': fsError,
      '/name': 'ENOENT',
      '/code-only': { code: 'ENOENT' },
      '/eacces': { code: 'EACCES' },
      '/bug': new Error('not an errno'),
    };
    return {
      getattr: (path, cb) => {
        if (path === '/') return cb(0, ROOT_STAT);
        if (path === '/thrown') throw fsError;
        if (path === '/thrown-bug') throw new TypeError('handler bug');
        cb(byPath[path] as number);
      },
    };
  }

  it('maps 2, -2, an fs error, a name and a code to ENOENT; unknown errors to EIO', async () => {
    const mnt = await mountRaw(enoentBy(), { timeout: 0 });
    const results: Record<string, string> = {};
    for (const p of ['positive', 'negative', 'fs-error', 'name', 'code-only', 'eacces', 'bug', 'thrown', 'thrown-bug']) {
      results[p] = (await timedStat(join(mnt, p))).result;
    }
    expect(results).toEqual({
      positive: 'ENOENT', negative: 'ENOENT', 'fs-error': 'ENOENT', name: 'ENOENT', 'code-only': 'ENOENT',
      eacces: 'EACCES', bug: 'EIO', thrown: 'ENOENT', 'thrown-bug': 'EIO',
    });
  });

  it('maps async rejections through mountFuse and reports non-errno failures to onError', async () => {
    const bugs: string[] = [];
    const { mnt } = await mounted(
      {
        getattr: async (path) => {
          if (path === '/') return ROOT_STAT;
          if (path === '/bug') throw new RangeError('oops');
          throw Object.assign(new Error('gone'), { code: 'ENOTDIR' });
        },
      },
      { onError: (op, err) => bugs.push(`${op}: ${(err as Error).message}`) },
    );
    expect((await timedStat(join(mnt, 'x'))).result).toBe('ENOTDIR');
    expect((await timedStat(join(mnt, 'bug'))).result).toBe('EIO');
    expect(bugs).toEqual(['getattr: oops']);
  });

  it('toErrno: either sign in, negative out', () => {
    expect([toErrno(2), toErrno(-2), toErrno('enoent'), toErrno({ errno: -13 }), toErrno(null), toErrno(new Error('x'))])
      .toEqual([-2, -2, -2, -13, 0, -5]);
    expect(Fuse.toErrno({ code: 'EEXIST', errno: -4095 })).toBe(-17);
  });
});
