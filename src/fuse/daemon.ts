/**
 * Running in the background as mount helpers must: the command returns only once the mount is live
 * (callers mount, then use the mount point at once), serving continues in a detached child, and the
 * child exits by itself when the mount goes away (`umount`, `fusermount3 -u`).
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Set in the detached child; its fd 3 is the pipe on which it reports readiness. */
export const CHILD_ENV = 'STRATA_FUSE_DAEMON';
/** When set, the daemon's stderr goes to this file (it is discarded otherwise). */
export const LOG_ENV = 'STRATA_FUSE_LOG';

const READY = 'ready';
const NOTIFY_FD = 3;
/**
 * V8's young generation for the daemon. Serving FUSE allocates many short-lived objects; the
 * default (16 MiB semispaces) keeps ~20 MiB more resident for no measurable speed.
 */
const DAEMON_V8_FLAGS = ['--max-semi-space-size=4'];

export function isDaemonChild(): boolean {
  return process.env[CHILD_ENV] === '1';
}

/**
 * Starts this program again detached (new session, no terminal, stderr to a log file) and waits
 * for it to report that the mount is live. Resolves to the exit code for the foreground command.
 */
export function runDetached(argv: readonly string[]): Promise<number> {
  const keepLog = process.env[LOG_ENV];
  const logPath = keepLog ?? join(tmpdir(), `strata-fuse-${process.pid}-${Date.now()}.log`);
  const logFd = openSync(logPath, 'a', 0o600);
  const v8Flags = DAEMON_V8_FLAGS.filter((f) => !process.execArgv.some((a) => a.startsWith(f.split('=')[0]!)));
  const child = spawn(process.execPath, [...process.execArgv, ...v8Flags, process.argv[1]!, ...argv], {
    detached: true,
    stdio: ['ignore', 'ignore', logFd, 'pipe'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  closeSync(logFd);
  let message = '';
  const pipe = child.stdio[NOTIFY_FD] as Readable;
  pipe.setEncoding('utf8');
  pipe.on('data', (d: string) => (message += d));
  return new Promise((resolve) => {
    const finish = (code: number): void => {
      if (code !== 0) {
        let log = '';
        try {
          log = readFileSync(logPath, 'utf8');
        } catch {
          // no log: nothing more to say
        }
        process.stderr.write(log.endsWith('\n') || log === '' ? log : log + '\n');
      }
      if (keepLog === undefined) rmSync(logPath, { force: true });
      resolve(code);
    };
    pipe.on('close', () => {
      if (message.trim() === READY) {
        child.unref();
        finish(0);
      }
    });
    child.on('exit', (code, signal) => {
      if (message.trim() === READY) return;
      finish(1);
      // After libfuse's own words (in the log), ours: why the mount did not happen.
      process.stderr.write(
        message.trim() !== '' ? `${message.trim()}\n` : `strata-fuse: the daemon ended before mounting (${signal ?? `exit code ${code}`})\n`,
      );
    });
  });
}

/** Tells the waiting parent (if any) that the mount is live, or why it is not. */
export function notifyParent(error?: string): void {
  if (!isDaemonChild()) return;
  try {
    writeSync(NOTIFY_FD, error === undefined ? READY : error.startsWith('strata-fuse:') ? error : `strata-fuse: ${error}`);
    closeSync(NOTIFY_FD);
  } catch {
    // The parent is gone; nobody to tell.
  }
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

/** How often the daemon checks whether its mount is still there. */
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
