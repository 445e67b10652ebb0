/**
 * Listing ahead of a walk. A walk lists a directory, then descends into each subdirectory in the
 * listing's order. Each listing JS answers costs the walker a trip to the JS thread and back; a
 * listing published to the C side beforehand (with its entries' attributes) is answered by the
 * FUSE thread at once. So once JS has answered a listing, it lists that directory's subtree
 * depth first, in the order a walker meets it, while the walker is still busy with what it got:
 * one directory per turn of the event loop, so requests that do reach JS wait for one directory
 * at most. A budget per answered listing, counted in entries listed (a big directory costs what
 * it takes to list), bounds the work a lone `ls` sets off; a walk that runs past the prepared part
 * makes JS answer again below what was listed, which renews the budget and doubles it, so a long
 * walk is mostly answered in C.
 */
import { LRUCache } from 'lru-cache';
import { childPath, isDirMode, splitParent } from './layers.js';
import type { DirEntry } from './ops-dir.js';

/** Entries (a directory counts one, plus one per entry) listed ahead after a listing JS answers out of the blue. */
export const LIST_AHEAD_BUDGET = 1024;
/** The most a walk's budget grows to. */
const MAX_BUDGET = 65536;
/** Directories remembered as listed, to tell a walk going on from a new one. */
const RECENT = 4096;
/** Planned directories kept, the oldest (furthest from the walk) dropped first. */
const MAX_PLANNED = 1024;

export interface ListAheadTarget {
  /** Lists dir and publishes the listing; its entries, or undefined when it cannot be listed now. */
  prepare(dir: string): readonly DirEntry[] | undefined;
}

export class ListAhead {
  /** Directories to list, the next one last. */
  #stack: string[] = [];
  #budget = 0;
  #grant = 0;
  #scheduled = false;
  readonly #recent = new LRUCache<string, true>({ max: RECENT });

  constructor(private readonly target: ListAheadTarget, private readonly budget = LIST_AHEAD_BUDGET) {}

  /**
   * JS answered dir's listing (the walk got there first): its subdirectories come next, then
   * what was planned before (dir's later siblings, if the walk outran us there).
   */
  answered(dir: string, entries: readonly DirEntry[]): void {
    const walking = dir !== '/' && this.#recent.has(splitParent(dir)[0]);
    this.#grant = walking ? Math.min(Math.max(this.#grant, this.budget) * 2, MAX_BUDGET) : this.budget;
    this.#budget = this.#grant;
    this.#recent.set(dir, true);
    this.#push(dir, entries);
    if (this.#stack.length > MAX_PLANNED) this.#stack.splice(0, this.#stack.length - MAX_PLANNED);
    this.#schedule();
  }

  #push(dir: string, entries: readonly DirEntry[]): void {
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (isDirMode(e.id.mode)) this.#stack.push(childPath(dir, e.name));
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#stack.length === 0 || this.#budget <= 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#step();
    });
  }

  #step(): void {
    let dir = this.#stack.pop();
    // Listed already (JS answered it while it waited here): so was the subtree below it.
    while (dir !== undefined && this.#recent.has(dir)) dir = this.#stack.pop();
    if (dir === undefined) return;
    this.#budget--;
    let entries: readonly DirEntry[] | undefined;
    try {
      entries = this.target.prepare(dir);
    } catch {
      // Gone or unreadable by now: the walk will get JS's answer for it, if it asks.
    }
    if (entries) {
      this.#budget -= entries.length;
      this.#recent.set(dir, true);
      this.#push(dir, entries);
    }
    this.#schedule();
  }
}
