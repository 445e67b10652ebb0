/**
 * Mounting in-process FUSE filesystems for tests. Handlers run on this JS thread, so every client
 * of a mount here must be asynchronous (fs.promises or a child process): a sync call into the
 * mount, spawnSync included, would wait forever for a handler that cannot run.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { mountFuse, type FuseHandle, type FuseOps, type MountOptions } from '../../src/fuse/binding.js';
import type { TestUser } from '../helpers/rootless.js';
import { tempDir } from '../helpers/tmp.js';

export interface Mounted {
  mnt: string;
  handle: FuseHandle;
}

/** A root directory stat that anyone may enter and write. */
export const ROOT_STAT = { mode: 0o40777, nlink: 2, size: 4096, mtime: 0, atime: 0, ctime: 0 };

/** Mounts ops on a fresh directory, unmounted before tempDir's clean-up runs. */
export async function mounted(ops: FuseOps, opts: MountOptions = {}): Promise<Mounted> {
  const mnt = join(tempDir('strata-fuse-native-'), 'mnt');
  mkdirSync(mnt);
  const handle = await mountFuse(mnt, ops, opts);
  // Registered after tempDir's hook, so it runs first (vitest runs these in reverse order).
  onTestFinished(async () => {
    await handle.unmount().catch(() => undefined);
  });
  return { mnt, handle };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking the JS thread; never rejects, the exit code says how it went. */
export function run(cmd: string, args: string[], opts: { user?: TestUser; env?: Record<string, string> } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        encoding: 'utf8',
        timeout: 60_000,
        maxBuffer: 64 * 1024 * 1024,
        uid: opts.user?.uid,
        gid: opts.user?.gid,
        cwd: '/',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(opts.user ? { HOME: opts.user.home, USER: opts.user.name } : {}), ...opts.env },
      },
      (err: ExecFileException | null, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs a shell snippet (bash -c) and fails the test with its stderr when it exits non-zero. */
export async function sh(script: string, opts: { user?: TestUser; env?: Record<string, string> } = {}): Promise<string> {
  const r = await run('bash', ['-c', script], opts);
  if (r.code !== 0) throw new Error(`"${script}" exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Runs a Node script in a child process; its arguments are process.argv.slice(1). */
export async function node(script: string, args: string[] = []): Promise<RunResult> {
  return run(process.execPath, ['-e', script, '--', ...args]);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
