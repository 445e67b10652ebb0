/**
 * Running in the background as mount helpers must: the command returns only once the mount is live
 * (callers mount, then use the mount point at once), serving continues in a detached process, and
 * that process exits by itself when the mount goes away (`umount`, `fusermount3 -u`).
 *
 * A launcher (bin/strata-fuse, or `startDaemon` in launch.ts for Node callers) starts the server
 * with CHILD_ENV set and a pipe on fd 3. The server's report there is lines for the caller's
 * stderr (warnings, or why it failed), then READY once the mount is live or `exit N` when it gives
 * up (N, the status the command should end with); it then closes the pipe. This file is the
 * server's side and loads nothing heavy: the server starts with it.
 */
import { closeSync, readFileSync, writeSync } from 'node:fs';

/** Set in the detached server; its fd 3 is the pipe on which it reports. */
export const CHILD_ENV = 'STRATA_FUSE_DAEMON';
/** When set, the server's stderr goes to this file (it is discarded otherwise). */
export const LOG_ENV = 'STRATA_FUSE_LOG';

/** The report's last line once the mount is live; a failure ends with `exit N`. */
export const READY = 'ready';
export const EXIT = /^exit (\d+)$/;
/** The server's end of the report pipe. */
export const NOTIFY_FD = 3;

export function isDaemonChild(): boolean {
  return process.env[CHILD_ENV] === '1';
}

/** Whether the report was sent: fd 3 is closed then, and may since name another file. */
let reported = false;

/** Reports to the launcher (once): lines for the caller's stderr, then READY or the exit status of a failure. */
export function notifyLauncher(lines: readonly string[], outcome: 'ready' | number): void {
  if (!isDaemonChild() || reported) return;
  reported = true;
  const text = [...lines, outcome === 'ready' ? READY : `exit ${outcome}`].join('\n');
  try {
    writeSync(NOTIFY_FD, `${text}\n`);
    closeSync(NOTIFY_FD);
  } catch {
    // The launcher is gone; nobody to tell.
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
