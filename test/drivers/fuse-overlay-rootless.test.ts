/**
 * A fuse-overlay layer chain written by an unprivileged user (no user namespace: the setuid
 * fusermount3 path) is read back the same by strata-fuse and, since its whiteouts are 0/0 devices
 * and its opaque xattrs user.overlay.*, by the kernel driver run rootless in a user namespace.
 * Needs dist/ built (`npx tsc -p .`).
 */
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, rootlessUser, runAs } from '../helpers/rootless.js';
import { unmountAll } from '../helpers/tmp.js';
import { layerChainPaths } from './fixtures/layer-tars.js';

const user = rootlessUser();
const fixture = join(repoRoot, 'test', 'drivers', 'fixtures', 'fuse-chain.ts');

interface Written {
  status: Record<string, string>;
  whiteouts: Record<string, string>;
}
interface Read {
  paths: string[];
  status: Record<string, string>;
}

/** Runs fuse-chain.ts as the user, optionally inside `unshare -Urm`, and parses its JSON line. */
function chain<T>(args: string[], inUserNs = false): T {
  const argv = [...(inUserNs ? ['unshare', '-Urm'] : []), process.execPath, '--import', 'tsx', fixture, ...args];
  const r = runAs(user!, argv[0]!, argv.slice(1), { cwd: repoRoot });
  try {
    return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as T;
  } catch {
    throw new Error(`fuse-chain ${args.join(' ')} printed ${JSON.stringify(r.stdout)}; stderr: ${r.stderr}`);
  }
}

const pathsOf = (lines: string[]): string[] => lines.map((l) => l.split(' ').slice(0, 2).join(' '));

describe.skipIf(!user)('fuse-overlay layers written rootless', () => {
  let root = '';
  let written: Written;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'strata-fuse-rootless-'));
    chownSync(root, user!.uid, user!.gid);
    written = chain<Written>(['write', root]);
  }, 120_000);

  afterAll(() => {
    if (root === '') return;
    unmountAll(root);
    rmSync(root, { recursive: true, force: true });
  });

  it('deletions through a strata-fuse mount are 0/0 whiteout devices', () => {
    expect(written.status.Whiteouts).toBe('char 0/0 devices');
    expect(written.whiteouts).toEqual({ 'etc/conf': 'char 0/0', 'gone-dir': 'char 0/0' });
  });

  it('strata-fuse reads the chain back: applied whiteouts and opaque dirs, then mount-made deletions', () => {
    const viaFuse = chain<Read>(['read', root, 'fuse', 'rw']);
    const expected = [...layerChainPaths, 'etc/added-rootless file']
      .filter((p) => !['etc/conf file', 'gone-dir dir', 'gone-dir/z file'].includes(p))
      .sort();
    expect(pathsOf(viaFuse.paths)).toEqual(expected);
  });

  it('the kernel driver, rootless in a user namespace, sees exactly what strata-fuse sees', () => {
    const viaFuse = chain<Read>(['read', root, 'fuse', 'rw']);
    const viaKernel = chain<Read>(['read', root, 'kernel', 'rw'], true);
    expect(viaKernel.status['Using user xattrs']).toBe('true');
    expect(viaKernel.paths).toEqual(viaFuse.paths);
  });

  // strata-fuse writes the `.wh..wh..opq` marker only where no opaque xattr can be set, so the
  // kernel driver (which would show that file) reads the same tree.
  it('an opaque dir made through a strata-fuse mount reads the same through the kernel driver', () => {
    const viaFuse = chain<Read>(['read', root, 'fuse', 'opq']);
    expect(pathsOf(viaFuse.paths).filter((p) => p.startsWith('opt'))).toEqual(['opt dir', 'opt/fresh file']);
    const viaKernel = chain<Read>(['read', root, 'kernel', 'opq'], true);
    expect(viaKernel.paths).toEqual(viaFuse.paths);
  });
});
