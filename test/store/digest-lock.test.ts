/**
 * Store.digestLock, containers/storage's GetDigestLock: one lock per blob digest under
 * `<runroot>/<driver>-locks/`, shared by every Store on that run root; bad digests are refused
 * before any path is made from them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { codeOf } from '../helpers/errors.js';
import { openVfs } from './helpers.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

describe('digest locks', () => {
  it('makes holders of one digest wait for each other, and no one else', async () => {
    const { store, run, graph } = await openVfs();
    const other = await Store.open({ graphRoot: graph, runRoot: run, driver: 'vfs' });
    const held = await store.digestLock(A).acquire();
    expect(existsSync(join(run, 'vfs-locks', A))).toBe(true);
    const order: string[] = [];
    const waiting = other.digestLock(A).acquire().then((h) => {
      order.push('second holder of A');
      return h;
    });
    // Another digest is free meanwhile.
    const b = await other.digestLock(B).acquire();
    order.push('B');
    await b.release();
    await new Promise((r) => setTimeout(r, 50));
    order.push('first releases A');
    await held.release();
    await (await waiting).release();
    expect(order).toEqual(['B', 'first releases A', 'second holder of A']);
  });

  it('refuses what is not a digest, naming it', async () => {
    const { store } = await openVfs();
    for (const bad of ['../../etc/passwd', 'sha256:abc', `sha256:${'g'.repeat(64)}`, '']) {
      expect(codeOf(() => store.digestLock(bad))).toBe('ERR_INVALID_DIGEST');
    }
    expect(() => store.digestLock('sha256:abc')).toThrow(/sha256:abc/);
  });
});
