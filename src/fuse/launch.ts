/**
 * Starting strata-fuse's server from Node (the fuse-overlay driver, and main.ts run without
 * bin/strata-fuse), as bin/strata-fuse does from a shell, and reading its report (daemon.ts).
 * Kept apart from daemon.ts so the server never loads node:child_process.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { closeSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { CHILD_ENV, EXIT, LOG_ENV, NOTIFY_FD, READY } from './daemon.js';

/**
 * V8's young generation for the server (bin/strata-fuse passes the same). Serving FUSE allocates
 * many short-lived objects; the default (16 MiB semispaces) keeps ~20 MiB more resident for no
 * measurable speed.
 */
export const DAEMON_V8_FLAGS = ['--max-semi-space-size=4'];

/**
 * The server program in a built package: the bundle (scripts/bundle-fuse.mjs) while it is at least
 * as new as tsc's output, which a `tsc` alone leaves newer (bin/strata-fuse applies the same rule).
 */
export function serverMain(packageRoot: string): string {
  const bundle = join(packageRoot, 'dist', 'strata-fuse.cjs');
  const main = join(packageRoot, 'dist', 'src', 'fuse', 'main.js');
  const b = statSync(bundle, { throwIfNoEntry: false });
  const m = statSync(main, { throwIfNoEntry: false });
  return b && (!m || b.mtimeMs >= m.mtimeMs) ? bundle : main;
}

/** A server's report as its launcher reads it; status 1 when it ended without saying. */
export function readReport(text: string): { ready: boolean; status: number; lines: string[] } {
  const lines = text.replace(/\n+$/, '').split('\n');
  if (lines[0] === '') lines.pop();
  const last = lines.at(-1) ?? '';
  const exit = EXIT.exec(last);
  if (last === READY || exit) lines.pop();
  return { ready: last === READY, status: exit ? Number(exit[1]) : last === READY ? 0 : 1, lines };
}

/** The server did not mount; `status` is what the strata-fuse command ends with. */
export class ErrMountFailed extends StrataError {
  constructor(
    message: string,
    readonly status = 1,
  ) {
    super('ERR_MOUNT_FAILED', message);
  }
}

/** Servers started by this process, for unique log names. */
let started = 0;

export interface DaemonStart {
  cwd?: string;
  /** Kill the server and fail when it has not mounted by then. */
  timeoutMs?: number;
}

/**
 * Starts `node ...argv` (a strata-fuse main and its arguments) detached in its own session, as
 * bin/strata-fuse does, and resolves with its warnings once its mount is live. Its stderr goes to
 * a log file that is read back only when it fails; the rejection (ErrMountFailed) carries the log
 * and the reason.
 */
export function startDaemon(node: string, argv: readonly string[], opts: DaemonStart = {}): Promise<string[]> {
  const keepLog = process.env[LOG_ENV];
  // Unique per process and start; not node:crypto, which the server would load for this alone (~4 ms).
  const logPath = keepLog ?? join(tmpdir(), `strata-fuse-${process.pid}-${Date.now()}-${++started}.log`);
  const logFd = openSync(logPath, keepLog === undefined ? 'w' : 'a', 0o600);
  let child;
  try {
    child = spawn(node, [...DAEMON_V8_FLAGS, ...argv], {
      cwd: opts.cwd,
      detached: true,
      stdio: ['ignore', 'ignore', logFd, 'pipe'],
      env: { ...process.env, [CHILD_ENV]: '1' },
    });
  } finally {
    closeSync(logFd);
  }
  return new Promise((resolve, reject) => {
    let text = '';
    let settled = false;
    const finish = (err: Error | undefined, lines: string[] = []): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (keepLog === undefined) rmSync(logPath, { force: true });
      if (err) reject(err);
      else resolve(lines);
    };
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill('SIGKILL');
            finish(new ErrMountFailed(`strata-fuse: no mount after ${opts.timeoutMs! / 1000} s`));
          }, opts.timeoutMs);
    const pipe = child.stdio[NOTIFY_FD] as Readable;
    pipe.setEncoding('utf8');
    pipe.on('data', (d: string) => (text += d));
    pipe.on('close', () => {
      const report = readReport(text);
      if (!report.ready) return; // the exit handler reports the failure
      child.unref();
      finish(undefined, report.lines);
    });
    child.on('error', (err) => finish(err));
    child.on('exit', (code, signal) => {
      const report = readReport(text);
      if (report.ready) return;
      let log = '';
      try {
        log = readFileSync(logPath, 'utf8').trim();
      } catch {
        // no log: the report says enough
      }
      // libfuse's own words (in the log) first, then the server's reason.
      const why = [log, ...report.lines].filter((s) => s !== '').join('\n');
      finish(new ErrMountFailed(why || `strata-fuse: the server ended before mounting (${signal ?? `exit code ${code}`})`, report.status));
    });
  });
}

