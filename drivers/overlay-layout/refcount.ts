/**
 * Mount reference counts, as graphdriver.RefCounter: the first time a path is seen, a mount that
 * already exists (made by another process) counts as one reference, so this process never unmounts
 * what another one still uses, and never mounts twice.
 */
export class RefCounter {
  readonly #counts = new Map<string, number>();

  constructor(private readonly isMounted: (path: string) => boolean) {}

  /** Adds a reference and returns the new count (1 means: mount it now). */
  increment(path: string): number {
    const n = this.#current(path) + 1;
    this.#counts.set(path, n);
    return n;
  }

  /** Drops a reference and returns the new count (0 means: unmount it now). */
  decrement(path: string): number {
    const n = Math.max(0, this.#current(path) - 1);
    this.#counts.set(path, n);
    return n;
  }

  paths(): string[] {
    return [...this.#counts.entries()].filter(([, n]) => n > 0).map(([p]) => p);
  }

  #current(path: string): number {
    const known = this.#counts.get(path);
    if (known !== undefined) return known;
    return this.isMounted(path) ? 1 : 0;
  }
}
