/**
 * One lock per metadata file set (layers, images, containers), held across processes with
 * proper-lockfile and within a process by a promise queue (proper-lockfile is not reentrant and
 * fails fast for a second holder in the same process).
 *
 * The lock file itself (e.g. `layers.lock`, as containers/storage names it) holds a token
 * rewritten after every save: a holder whose last-seen token differs knows another process (or
 * another Store object) wrote, and reloads. containers/storage does the same with its lock file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { hasCode, wrap } from '../errors.js';
import { ErrStoreLocked } from './errors.js';
import { debug } from './log.js';

export interface LockOptions {
  /** A lock not refreshed for this long belongs to a dead process and is broken (min 2000). */
  staleMs?: number;
  /** Give up waiting after this long; 0 waits for ever, as containers/storage does. */
  timeoutMs?: number;
}

const DEFAULT_STALE_MS = 10_000;
/** Refresh often, so a holder survives a busy event loop well within the stale window. */
const UPDATE_MS = 1_000;
const MAX_BACKOFF_MS = 100;

/** Tail of each path's in-process queue. */
const queues = new Map<string, Promise<void>>();

async function enterQueue(path: string): Promise<() => void> {
  const prev = queues.get(path) ?? Promise.resolve();
  let leave!: () => void;
  const mine = new Promise<void>((resolve) => (leave = resolve));
  const tail = prev.then(() => mine);
  queues.set(path, tail);
  await prev;
  return () => {
    leave();
    if (queues.get(path) === tail) queues.delete(path);
  };
}

/** A held lock: release it exactly once. */
export interface Held {
  release(): Promise<void>;
  /** Set when proper-lockfile found the lock taken over (we stalled past the stale time). */
  readonly compromised: Error | undefined;
}

export class StoreLock {
  #lastToken: string | undefined;

  constructor(
    readonly path: string,
    readonly options: LockOptions = {},
  ) {}

  /** Waits for the lock; creates the lock file if needed. */
  async acquire(): Promise<Held> {
    const leave = await enterQueue(this.path);
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await (await open(this.path, 'a', 0o644)).close();
      const state: { compromised: Error | undefined } = { compromised: undefined };
      const release = await this.#crossProcess(state);
      let released = false;
      return {
        get compromised() {
          return state.compromised;
        },
        release: async () => {
          if (released) return;
          released = true;
          try {
            await release().catch((err: unknown) => {
              // A compromised lock is already gone; nothing else to undo.
              if (!hasCode(err, 'ERELEASED') && !hasCode(err, 'ENOTACQUIRED')) throw err;
            });
          } finally {
            leave();
          }
        },
      };
    } catch (err) {
      leave();
      throw err;
    }
  }

  async #crossProcess(state: { compromised: Error | undefined }): Promise<() => Promise<void>> {
    const started = Date.now();
    const timeout = this.options.timeoutMs ?? 0;
    let delay = 5;
    for (;;) {
      try {
        return await lockfile.lock(this.path, {
          stale: Math.max(this.options.staleMs ?? DEFAULT_STALE_MS, 2000),
          update: UPDATE_MS,
          realpath: false,
          retries: 0,
          onCompromised: (err) => {
            state.compromised = err;
            debug(`lock ${this.path} compromised: ${err.message}`);
          },
        });
      } catch (err) {
        if (!hasCode(err, 'ELOCKED')) throw wrap(err, `locking ${this.path}`);
        if (timeout > 0 && Date.now() - started > timeout) {
          throw new ErrStoreLocked(`waited ${timeout}ms for ${this.path}`, { cause: err });
        }
        await sleep(delay);
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
    }
  }

  /** Whether someone else saved since this object last loaded or saved (call while holding). */
  async modified(): Promise<boolean> {
    const token = await this.#readToken();
    return token !== this.#lastToken;
  }

  /** Remembers the current token as seen (after a load). */
  async markSeen(): Promise<void> {
    this.#lastToken = await this.#readToken();
  }

  /** Records a write: a fresh token tells every other holder to reload. */
  async touch(): Promise<void> {
    const token = randomBytes(32);
    await writeFile(this.path, token, { mode: 0o644 });
    this.#lastToken = token.toString('hex');
  }

  async #readToken(): Promise<string> {
    try {
      return (await readFile(this.path)).toString('hex');
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return '';
      throw wrap(err, `reading ${this.path}`);
    }
  }
}
