import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { WhiteoutFormat } from '../../src/archive/index.js';
import { ErrInvalidArchive, is } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { apply, snapshot } from './fixtures/helpers.js';
import { hostileCorpus } from './fixtures/hostile.js';
import { buildTar } from './fixtures/tar-builder.js';

const FORMATS: WhiteoutFormat[] = ['naive', 'overlay', 'aufs'];

/** A target directory next to an "outside" directory whose state must never change. */
function arena(): { base: string; dest: string; outsideBefore: () => Record<string, unknown> } {
  const base = tempDir();
  const dest = `${base}/dest`;
  mkdirSync(dest);
  mkdirSync(`${base}/outside`);
  writeFileSync(`${base}/outside/canary`, 'untouched');
  symlinkSync('outside', `${base}/outside-link`);
  const outside = (): Record<string, unknown> =>
    Object.fromEntries(Object.entries(snapshot(base)).filter(([k]) => k !== 'dest' && !k.startsWith('dest/')));
  return { base, dest, outsideBefore: outside };
}

describe('hostile archives', () => {
  for (const c of hostileCorpus()) {
    test(`${c.name}: ${c.error ? 'fails naming the entry' : 'lands inside'}, nothing written outside`, async () => {
      for (const format of c.formats ?? FORMATS) {
        const { dest, outsideBefore } = arena();
        const before = outsideBefore();
        const result = await apply(dest, c.tar, { whiteoutFormat: format }, 97).then(
          () => undefined,
          (err: unknown) => err,
        );
        if (c.error) {
          expect(result, `${format}: expected an error`).toBeInstanceOf(Error);
          expect(is(result, ErrInvalidArchive), `${format}: ${String(result)}`).toBe(true);
          expect((result as Error).message).toMatch(c.error);
        } else {
          expect(result, `${format}: ${String(result)}`).toBeUndefined();
          for (const p of c.landsAt ?? []) expect(existsSync(`${dest}/${p}`), `${format}: ${p}`).toBe(true);
        }
        expect(outsideBefore()).toEqual(before);
      }
      expect(existsSync('/tmp/strata-hostile-abs')).toBe(false);
      expect(existsSync('/landed')).toBe(false);
    });
  }

  test('a symlink already in the tree that climbs out of the root is refused', async () => {
    const { base, dest, outsideBefore } = arena();
    const before = outsideBefore();
    symlinkSync('../outside', `${dest}/pre`);
    const err = await apply(dest, buildTar([{ name: 'pre/owned', body: 'x' }]), { whiteoutFormat: 'naive' }).catch((e: unknown) => e);
    expect(is(err, ErrInvalidArchive)).toBe(true);
    expect((err as Error).message).toMatch(/entry "pre\/owned": symlink "pre" -> "\.\.\/outside" leads outside/);
    expect(outsideBefore()).toEqual(before);
    expect(readFileSync(`${base}/outside/canary`, 'utf8')).toBe('untouched');
  });

  test('a whiteout cannot delete through a symlink to outside', async () => {
    const { dest, outsideBefore } = arena();
    const before = outsideBefore();
    symlinkSync('../outside', `${dest}/pre`);
    const err = await apply(dest, buildTar([{ name: 'pre/.wh.canary' }]), { whiteoutFormat: 'naive' }).catch((e: unknown) => e);
    expect(is(err, ErrInvalidArchive)).toBe(true);
    expect(outsideBefore()).toEqual(before);
  });

  test('replacing a directory with a symlink does not redirect later entries through a stale cache', async () => {
    const { dest, outsideBefore } = arena();
    const before = outsideBefore();
    const tar = buildTar([
      { name: 'd', type: '5' },
      { name: 'd/a', body: 'first' },
      { name: 'd', type: '2', linkname: '/elsewhere' },
      { name: 'd/b', body: 'second' },
    ]);
    await apply(dest, tar, { whiteoutFormat: 'naive' });
    expect(readFileSync(`${dest}/elsewhere/b`, 'utf8')).toBe('second');
    expect(existsSync(`${dest}/elsewhere/a`)).toBe(false);
    expect(outsideBefore()).toEqual(before);
  });
});
