/** Name lists as containers/storage edits them: duplicates dropped, first occurrence kept. */

export function dedupeNames(names: readonly string[]): string[] {
  return [...new Set(names)];
}

export type NameOperation = 'set' | 'add' | 'remove';

/** The names a record ends up with after `op` (add puts the new names first, as Go does). */
export function applyNameOperation(oldNames: readonly string[], names: readonly string[], op: NameOperation): string[] {
  switch (op) {
    case 'set':
      return dedupeNames(names);
    case 'remove': {
      const drop = new Set(names);
      return dedupeNames(oldNames.filter((n) => !drop.has(n)));
    }
    case 'add':
      return dedupeNames([...names, ...oldNames]);
  }
}

/** `list` without any occurrence of `value`. */
export function without<T>(list: readonly T[], value: T): T[] {
  return list.filter((v) => v !== value);
}
