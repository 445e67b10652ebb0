/**
 * The driver a graph root was used with decides when it is opened again, as in containers/storage;
 * two drivers' homes in one root are refused rather than guessed between.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrSeveralDrivers, is } from '../../src/errors.js';
import { dockerArchiveFiles, importImage, writeArchive } from '../../src/image/index.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/tmp.js';
import { flowImage } from './flow.js';

describe.skipIf(process.geteuid?.() !== 0)('prior driver', () => {
  it('a store created with fuse-overlay keeps using it when opened again without a driver', async () => {
    const dir = tempDir();
    const roots = { graphRoot: join(dir, 'graph'), runRoot: join(dir, 'run') };
    const archive = join(dir, 'image.tar');
    await writeArchive(dockerArchiveFiles([flowImage()]), archive, 'tar');
    const first = await Store.open({ ...roots, driver: 'fuse-overlay' });
    const [imported] = await importImage(first, archive);
    await first.shutdown();

    // Root could use the kernel overlay, but the fuse-overlay home and its layers decide.
    const again = await Store.open(roots);
    try {
      expect(again.driverName).toBe('fuse-overlay');
      expect(again.decisions).toEqual([
        { name: 'fuse-overlay', outcome: 'chosen', reason: `prior storage driver: ${join(roots.graphRoot, 'fuse-overlay')} exists` },
      ]);
      expect((await again.images()).map((i) => i.id)).toEqual([imported!.image.id]);
    } finally {
      await again.shutdown();
    }
  });

  it('a store holding both overlay and fuse-overlay homes refuses to guess', async () => {
    const dir = tempDir();
    const roots = { graphRoot: join(dir, 'graph'), runRoot: join(dir, 'run') };
    for (const driver of ['overlay', 'fuse-overlay']) await (await Store.open({ ...roots, driver })).shutdown();
    const err = await Store.open(roots).catch((e: unknown) => e);
    expect(is(err, ErrSeveralDrivers)).toBe(true);
    expect(String(err)).toMatch(/contains several valid graphdrivers: (overlay, fuse-overlay|fuse-overlay, overlay); Please cleanup or explicitly choose storage driver/);
    // Naming the driver still works.
    await (await Store.open({ ...roots, driver: 'overlay' })).shutdown();
  });
});
