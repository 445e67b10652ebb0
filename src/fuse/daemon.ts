/**
 * Running in the background as mount helpers must: the command returns only once the mount is live
 * (callers mount, then use the mount point at once), serving continues in a detached process, and
 * that process exits by itself when the mount goes away (`umount`, `fusermount3 -u`).
 *
 * A launcher (bin/strata-fuse, or `startDaemon` for Node callers) starts the server with CHILD_ENV
 * set and a pipe on fd 3. The server's report there is lines for the caller's stderr (warnings,
 * or why it failed), then READY once the mount is live or `exit N` when it gives up (N, the
 * status the command should end with); it then closes the pipe.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StrataError } from '../errors.js';

/** Set in the detached server; its fd 3 is the pipe on which it reports. */
export const CHILD_ENV = 'STRATA_FUSE_DAEMON';
/** When set, the server's stderr goes to this file (it is discarded otherwise). */
export const LOG_ENV = 'STRATA_FUSE_LOG';

const READY = 'ready';
const EXIT = /^exit (\d+)$/;
const NOTIFY_FD = 3;
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

export function isDaemonChild(): boolean {
  return process.env[CHILD_ENV] === '1';
}

/** Reports to the launcher: lines for the caller's stderr, then READY or the exit status of a failure. */
export function notifyLauncher(lines: readonly string[], outcome: 'ready' | number): void {
  if (!isDaemonChild()) return;
  const text = [...lines, outcome === 'ready' ? READY : `exit ${outcome}`].join('\n');
  try {
    writeSync(NOTIFY_FD, `${text}\n`);
    closeSync(NOTIFY_FD);
  } catch {
    // The launcher is gone; nobody to tell.
  }
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

/** The mount ID of the mount at `mnt` from /proc/self/mountinfo, if one is there. */
export function mountIdAt(mnt: string): string | undefined {
  const escaped = mnt.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  let found: string | undefined;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    // The last mount on a point is the visible one.
    if (f[4] === escaped) found = f[0];
  }
  return found;
}

/** How often the server checks whether its mount is still there. */
const WATCH_INTERVAL_MS = 250;

/** Calls `gone` once the mount with ID `id` has left the mount table and `idle()` holds. */
export function watchMount(id: string, idle: () => boolean, gone: () => void): NodeJS.Timeout {
  let unmounted = false;
  const timer = setInterval(() => {
    if (!unmounted) {
      const text = readFileSync('/proc/self/mountinfo', 'utf8');
      unmounted = !text.split('\n').some((line) => line.startsWith(`${id} `));
    }
    if (unmounted && idle()) {
      clearInterval(timer);
      gone();
    }
  }, WATCH_INTERVAL_MS);
  return timer;
}
