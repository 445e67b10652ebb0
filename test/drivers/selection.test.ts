/**
 * newDriver's choice on a real host, with the real drivers registered: kernel overlay for root,
 * fuse-overlay for an unprivileged user, vfs when neither mount rights nor FUSE are there; a prior
 * `overlay` home pins the choice and fails loudly when overlay no longer initialises.
 */
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/drivers.js';
import { ErrNotSupported, is } from '../../src/errors.js';
import { newDriver, type Decision } from '../../src/registry.js';
import { repoRoot, rootlessUser, runAs, type TestUser } from '../helpers/rootless.js';
import { tempDir } from '../helpers/tmp.js';

interface Outcome {
  ok: boolean;
  name?: string;
  decisions?: Decision[];
  status?: Record<string, string>;
  code?: string;
  message?: string;
}

const user = rootlessUser();
const fixture = join(repoRoot, 'test', 'drivers', 'fixtures', 'driver-select.ts');

/** Runs driver-select.ts as the user, behind `wrapper` (e.g. unshare and a shell script). */
function selectAs(u: TestUser, root: string, wrapper: string[] = [], env: Record<string, string> = {}): Outcome {
  const argv = [...wrapper, process.execPath, '--import', 'tsx', fixture, 'auto', root];
  const r = runAs(u, argv[0]!, argv.slice(1), { cwd: repoRoot, env });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as Outcome;
  } catch {
    throw new Error(`driver-select printed ${JSON.stringify(r.stdout)}; stderr: ${r.stderr}`);
  }
}

/** A graph root the unprivileged user owns. */
function userRoot(u: TestUser): string {
  const root = join(tempDir(), 'root');
  mkdirSync(root);
  chownSync(root, u.uid, u.gid);
  return root;
}

describe('newDriver as root', () => {
  it('picks overlay on an empty root, then keeps it as the prior driver', async () => {
    const root = join(tempDir(), 'root');
    const first = await newDriver('', { root, runRoot: join(root, '..', 'run') });
    expect(first.name).toBe('overlay');
    expect(first.decisions).toEqual([{ name: 'overlay', outcome: 'chosen', reason: 'first supported driver in the priority list' }]);
    await first.driver.create('layer', '');
    await first.driver.cleanup();
    const again = await newDriver('', { root, runRoot: join(root, '..', 'run') });
    expect(again.name).toBe('overlay');
    expect(again.decisions.at(-1)?.reason).toMatch(/^prior storage driver/);
    expect(await again.driver.listLayers()).toEqual(['layer']);
    await again.driver.cleanup();
  });

  it('fails loudly, without falling back, when a prior overlay home meets a cached negative probe', async () => {
    const base = tempDir();
    const root = join(base, 'root');
    const runRoot = join(base, 'run');
    const d = await newDriver('', { root, runRoot });
    await d.driver.cleanup();
    // The verdict a host that lost overlay support would have cached.
    rmSync(join(runRoot, 'overlay', 'overlay()-true'));
    writeFileSync(join(runRoot, 'overlay', 'overlay()-false'), 'overlay test mount failed: ENODEV');
    const err = await newDriver('', { root, runRoot }).catch((e: unknown) => e);
    expect(is(err, ErrNotSupported)).toBe(true);
    expect(String(err)).toMatch(/ENODEV/);
    expect(existsSync(join(root, 'fuse-overlay'))).toBe(false);
  });
});

describe.skipIf(!user)('newDriver as an unprivileged user', () => {
  it('picks fuse-overlay, says why overlay was skipped, and leaves no overlay home behind', () => {
    const root = userRoot(user!);
    const out = selectAs(user!, root);
    expect(out).toMatchObject({ ok: true, name: 'fuse-overlay' });
    expect(out.decisions?.[0]).toMatchObject({ name: 'overlay', outcome: 'skipped' });
    expect(out.decisions?.[0]?.reason).toMatch(/needs root or a user namespace/);
    // A left-over overlay home would pin every later choice to a driver this user cannot run.
    expect(existsSync(join(root, 'overlay'))).toBe(false);
    const again = selectAs(user!, root);
    expect(again).toMatchObject({ ok: true, name: 'fuse-overlay' });
    expect(again.decisions?.at(-1)?.reason).toMatch(/^prior storage driver/);
  });

  it('falls through to vfs when it has no mount rights and /dev/fuse is not the FUSE device', () => {
    const root = userRoot(user!);
    // Root of a user namespace may bind /dev/null over /dev/fuse; the nested, unmapped namespace
    // then runs the selection with no privileges at all.
    const hideFuse = ['unshare', '-Urm', 'sh', '-c', 'mount --bind /dev/null /dev/fuse && exec unshare -U "$@"', 'sh'];
    const out = selectAs(user!, root, hideFuse);
    expect(out).toMatchObject({ ok: true, name: 'vfs' });
    expect(out.decisions?.map((d) => [d.name, d.outcome])).toEqual([
      ['overlay', 'skipped'],
      ['fuse-overlay', 'skipped'],
      ['vfs', 'chosen'],
    ]);
    expect(out.decisions?.[1]?.reason).toMatch(/\/dev\/fuse is not the FUSE device \(character device 1:3/);
  });

  it('fails loudly with a prior overlay home instead of switching to fuse-overlay', async () => {
    const root = userRoot(user!);
    const byRoot = await newDriver('overlay', { root, runRoot: join(root, '..', 'run') });
    await byRoot.driver.create('layer', '');
    await byRoot.driver.cleanup();
    const out = selectAs(user!, root);
    expect(out).toMatchObject({ ok: false, code: 'ERR_NOT_SUPPORTED' });
    expect(out.message).toMatch(/needs root or a user namespace/);
    expect(existsSync(join(root, 'fuse-overlay'))).toBe(false);
    expect(existsSync(join(root, 'overlay', 'layer'))).toBe(true);
  });
});
