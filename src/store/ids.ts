/** Record IDs: 64 random hex digits, and lookup by a unique prefix as Go's truncindex allows. */
import { randomBytes } from 'node:crypto';

/** A new ID whose 12-digit short form is not all digits (it would read as a number), as stringid does. */
export function generateID(inUse: (id: string) => boolean = () => false): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (/^[0-9]{12}$/.test(id.slice(0, 12))) continue;
    if (!inUse(id)) return id;
  }
}

/** The ID among `ids` that starts with `prefix`, or undefined when none or several do. */
export function byUniquePrefix(ids: Iterable<string>, prefix: string): string | undefined {
  if (prefix === '' || prefix.includes(' ')) return undefined;
  let found: string | undefined;
  for (const id of ids) {
    if (!id.startsWith(prefix)) continue;
    if (found !== undefined) return undefined;
    found = id;
  }
  return found;
}
