/**
 * Undo for multi-step writes to the store (import, commit): everything recorded is removed again,
 * newest first, so a failure part-way leaves the store as it was before.
 */
import { warn } from '../store/log.js';
import type { Store } from '../store/store.js';

export class Rollback {
  readonly #steps: Array<{ what: string; undo: () => Promise<unknown> }> = [];

  constructor(private readonly store: Store) {}

  /** A layer this operation created (and nothing else uses yet). */
  layer(id: string): void {
    this.#steps.push({ what: `layer ${id}`, undo: () => this.store.deleteLayer(id) });
  }

  /** An image record this operation created; its layers are undone separately. */
  image(id: string): void {
    this.#steps.push({ what: `image ${id}`, undo: () => this.store.delete(id) });
  }

  /** Removes everything recorded, newest first; a step that fails is reported, not fatal. */
  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step.undo();
      } catch (err) {
        warn(`while undoing a failed image operation, could not remove ${step.what}: ${(err as Error).message}`);
      }
    }
  }
}
