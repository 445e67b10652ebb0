/**
 * Mounting for the strata-fuse tests: the real program (bin/strata-fuse running main.ts from source
 * with tsx, daemonising as it would for podman), the kernel's overlay on identical layers, and a runner that plays one
 * operation script on a mount and records each step's result (ok, a value, or the errno code).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chownSync, mkdirSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { expect } from 'vitest';
import { repoRoot, runAs, type TestUser } from '../helpers/rootless.js';
import { mountsUnder, tempDir } from '../helpers/tmp.js';
import { makeLayers, type LayerDirs, type LayerSpec } from './layerset.js';

export const MAIN_TS = join(repoRoot, 'src', 'fuse', 'main.ts');
/** tsx's loader by absolute path, so the daemon starts from any working directory. */
export const TSX_LOADER = createRequire(import.meta.url).resolve('tsx');

/** The installed command: a shell launcher that starts the Node server detached. */
export const LAUNCHER = join(repoRoot, 'bin', 'strata-fuse');

/** The launcher's environment for running main.ts from source with this test's Node. */
export function launcherEnv(): Record<string, string> {
  return { STRATA_FUSE_NODE: process.execPath, STRATA_FUSE_MAIN: MAIN_TS, STRATA_FUSE_NODE_OPTIONS: `--import ${TSX_LOADER}` };
}

export function overlayOptions(dirs: LayerDirs, extra: string[] = []): string {
  return [`lowerdir=${dirs.lowers.join(':')}`, `upperdir=${dirs.upper}`, `workdir=${dirs.work}`, ...extra].join(',');
}

/** Runs strata-fuse with args (as `user` when given); returns once the command does. */
export function runStrataFuse(args: string[], opts: { cwd?: string; user?: TestUser } = {}): SpawnSyncReturns<string> {
  if (opts.user) return runAs(opts.user, LAUNCHER, args, { cwd: opts.cwd, env: launcherEnv(), timeout: 20_000 });
  return spawnSync(LAUNCHER, args, { cwd: opts.cwd ?? '/', env: { ...process.env, ...launcherEnv() }, encoding: 'utf8', timeout: 20_000 });
}

/**
 * Layers made by `make` in a fresh home owned by `user`, mounted at home/m by strata-fuse run as
 * that user (fusermount3, no root); the command must succeed without a word.
 */
export function mountAsUser(user: TestUser, make: (home: string) => LayerDirs): { dirs: LayerDirs; mnt: string } {
  const home = join(tempDir(), 'home');
  mkdirSync(home);
  const dirs = make(home);
  spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, home]);
  const mnt = join(home, 'm');
  mkdirSync(mnt);
  chownSync(mnt, user.uid, user.gid);
  const up = runStrataFuse(['-o', overlayOptions(dirs), mnt], { user });
  expect(up.stderr).toBe('');
  expect(up.status).toBe(0);
  return { dirs, mnt };
}

/** Mounts the layers with strata-fuse at mnt and checks the mount is live when the command returns. */
export function mountStrata(dirs: LayerDirs, mnt: string, extra: string[] = [], user?: TestUser): void {
  const r = runStrataFuse(['-o', overlayOptions(dirs, extra), mnt], { user });
  expect(r.stderr, `strata-fuse stderr`).toBe('');
  expect(r.status).toBe(0);
  expect(mountsUnder(mnt)).toEqual([mnt]);
}

/** Mounts the layers with the kernel's overlay (root only). */
export function mountKernel(dirs: LayerDirs, mnt: string): void {
  const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', overlayOptions(dirs), mnt], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}

export function unmount(mnt: string): void {
  const r = spawnSync('umount', [mnt], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
}

/** One step of an operation script: gets the mount root, returns a value worth comparing or nothing. */
export type Step = [name: string, run: (root: string) => unknown];

/** Plays a script on a mount: one line per step, "name: ok", "name: <value>" or "name: <ERRNO>". */
export function play(root: string, steps: Step[]): string[] {
  return steps.map(([name, run]) => {
    try {
      const v = run(root);
      return v === undefined ? `${name}: ok` : `${name}: ${typeof v === 'string' ? v : JSON.stringify(v)}`;
    } catch (err) {
      return `${name}: ${(err as { code?: string }).code ?? String(err)}`;
    }
  });
}

/** pids of running strata-fuse daemons serving mnt (by command line), or started in `cwd`. */
export function daemonPids(mnt: string, cwd?: string): number[] {
  const r = spawnSync('pgrep', ['-f', cwd === undefined ? `${MAIN_TS} .*${mnt}` : MAIN_TS], { encoding: 'utf8' });
  const pids = r.stdout.split('\n').filter(Boolean).map(Number);
  if (cwd === undefined) return pids;
  return pids.filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/cwd`) === cwd;
    } catch {
      return false;
    }
  });
}

/** Waits (polling) until cond holds or ms pass; returns whether it held. */
export async function waitFor(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/** Identical layer sets under `base`, one mounted by strata-fuse and one by the kernel overlay. */
export function mountPair(base: string, lowers: LayerSpec[]): {
  ours: LayerDirs;
  kernel: LayerDirs;
  mOurs: string;
  mKernel: string;
} {
  const ours = makeLayers(join(base, 'ours'), lowers);
  const kernel = makeLayers(join(base, 'kernel'), lowers);
  const mOurs = join(base, 'm-ours');
  const mKernel = join(base, 'm-kernel');
  mkdirSync(mOurs);
  mkdirSync(mKernel);
  mountStrata(ours, mOurs);
  mountKernel(kernel, mKernel);
  return { ours, kernel, mOurs, mKernel };
}
