/**
 * Small metadata helpers shared by the unpacker: nanosecond times without following symlinks,
 * and error wrapping that keeps the errno code while naming the layer entry.
 */
import { lutimesSync } from 'node:fs';
import { nativeAvailable, utimensat } from '../native.js';
import type { TarTime } from './tar/header.js';

/** Sets atime and mtime on `path` itself (never a symlink's target). */
export function setTimes(path: string, atime: TarTime, mtime: TarTime): void {
  if (atime.nsec === 0 && mtime.nsec === 0) {
    // Whole seconds are exact through libuv's double-based lutimes; no native call needed.
    lutimesSync(path, atime.sec, mtime.sec);
    return;
  }
  if (nativeAvailable()) {
    utimensat(path, atime, mtime, true);
    return;
  }
  lutimesSync(path, atime.sec + atime.nsec / 1e9, mtime.sec + mtime.nsec / 1e9);
}

/** The later of the archive's atime and its mtime: an access never precedes the last change. */
export function accessTime(atime: TarTime | undefined, mtime: TarTime): TarTime {
  if (atime === undefined) return mtime;
  if (atime.sec > mtime.sec || (atime.sec === mtime.sec && atime.nsec > mtime.nsec)) return atime;
  return mtime;
}

/** A filesystem failure while handling one entry; keeps the system error's `code` for callers to test. */
export class EntryError extends Error {
  readonly code: string | undefined;
  constructor(entry: string, action: string, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(`layer entry "${entry}": ${action}: ${message}`, { cause });
    this.name = 'EntryError';
    this.code = errnoCode(cause);
  }
}

export function entryError(entry: string, action: string, cause: unknown): EntryError {
  return new EntryError(entry, action, cause);
}

export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
