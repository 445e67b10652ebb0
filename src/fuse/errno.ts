/**
 * Filesystem errors as the kernel sees them: every operation throws an error carrying a POSIX
 * code (ours or Node's own), and the FUSE adapter turns it into an errno.
 */
import { constants } from 'node:os';

export type ErrnoCode = keyof typeof constants.errno;

/** An operation's failure with the errno the caller must see. */
export class FsError extends Error {
  readonly code: ErrnoCode;
  readonly path: string | undefined;
  constructor(code: ErrnoCode, path?: string, detail?: string) {
    super(`${code}${path === undefined ? '' : `: ${path}`}${detail ? ` (${detail})` : ''}`);
    this.code = code;
    this.path = path;
  }
}

export function fail(code: ErrnoCode, path?: string, detail?: string): never {
  throw new FsError(code, path, detail);
}

/** The positive errno for any thrown value; unknown failures are EIO, never success. */
export function errnoOf(err: unknown): number {
  if (typeof err === 'object' && err !== null) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code in constants.errno) return constants.errno[code as ErrnoCode];
    const errno = (err as { errno?: unknown }).errno;
    if (typeof errno === 'number' && errno !== 0) return Math.abs(errno);
  }
  return constants.errno.EIO;
}

/** The code of a Node system error, for branching on ENOENT and friends. */
export function codeOf(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
