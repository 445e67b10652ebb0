/**
 * Runs commands as the unprivileged test user that the test set-up creates (scripts/setup.sh),
 * so rootless code paths are exercised for real rather than simulated.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const ROOTLESS_USER = 'strata-rootless';
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** The unprivileged user, or undefined when the set-up did not create it. */
export function rootlessUser(): TestUser | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', ROOTLESS_USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', ROOTLESS_USER], { encoding: 'utf8' }).trim());
    return { name: ROOTLESS_USER, uid, gid, home: `/home/${ROOTLESS_USER}` };
  } catch {
    return undefined;
  }
}

/** Runs `cmd args…` as the unprivileged user with a clean, user-shaped environment. */
export function runAs(
  user: TestUser,
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; input?: string; timeout?: number } = {},
): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    uid: user.uid,
    gid: user.gid,
    cwd: opts.cwd ?? '/',
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeout ?? 120_000,
    env: {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: user.home,
      USER: user.name,
      ...opts.env,
    },
  });
}

/** Runs a TypeScript file from this repo with node + tsx as the unprivileged user. */
export function runTsAs(
  user: TestUser,
  file: string,
  args: string[] = [],
  opts: { env?: Record<string, string>; timeout?: number } = {},
): SpawnSyncReturns<string> {
  return runAs(user, process.execPath, ['--import', 'tsx', file, ...args], { ...opts, cwd: repoRoot });
}
