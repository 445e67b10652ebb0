/**
 * Layer behaviours both overlay drivers share through drivers/overlay-layout, run against each:
 * image-store parents, the 500-layer limit, read-only mounts, read-write disk usage, l/ link
 * repair, and cleanup unmounting everything. fuse-overlay needs dist/ built (`npx tsc -p .`).
 */
import { mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initFuseOverlay } from '../../drivers/fuse-overlay/index.js';
import { initOverlay } from '../../drivers/overlay/index.js';
import { ErrMaxDepth, maxDepth } from '../../drivers/overlay-layout/layout.js';
import type { Driver, DriverOptions } from '../../src/driver.js';
import { is } from '../../src/errors.js';
import { mountsUnder, tempDir } from '../helpers/tmp.js';

type Init = (home: string, options: DriverOptions) => Promise<Driver>;

const drivers: Array<[string, Init]> = [
  ['overlay', initOverlay],
  ['fuse-overlay', initFuseOverlay],
];

describe.each(drivers)('%s layers', (name, init) => {
  /** A driver on `<root>/<name>` with its run root beside it. */
  async function open(root: string, driverOptions: string[] = []): Promise<Driver> {
    return init(join(root, name), { root, runRoot: join(root, 'run'), driverOptions });
  }

  it('mounts a layer whose parent lives in an additional image store (a graph root)', async () => {
    const base = tempDir();
    // The store is written as containers/storage writes one: <store>/overlay/<id>.
    const store = join(base, 'store');
    const s = await initOverlay(join(store, 'overlay'), { root: store, runRoot: join(base, 'store-run') });
    await s.create('shared', '');
    writeFileSync(join(store, 'overlay', 'shared', 'diff', 'from-store'), 'store');
    await s.cleanup();

    const root = join(base, 'root');
    const d = await open(root, [`overlay.imagestore=${store}`]);
    expect(await d.exists('shared')).toBe(true);
    await d.create('child', 'shared');
    const lid = readFileSync(join(store, 'overlay', 'shared', 'link'), 'utf8');
    expect(readFileSync(join(root, name, 'child', 'lower'), 'utf8')).toBe(`l/${lid}`);
    const merged = await d.get('child');
    expect(readFileSync(join(merged, 'from-store'), 'utf8')).toBe('store');
    writeFileSync(join(merged, 'own'), 'child');
    await d.put('child');
    expect(readdirSync(join(root, name, 'child', 'diff'))).toEqual(['own']);
    expect(readdirSync(join(store, 'overlay', 'shared', 'diff'))).toEqual(['from-store']);
    await d.cleanup();
  });

  it(`stacks ${maxDepth} lower layers and refuses a deeper child with ErrMaxDepth`, async () => {
    const root = tempDir();
    const d = await open(root);
    let parent = '';
    for (let i = 0; i < maxDepth; i++) {
      await d.create(`l${i}`, parent);
      writeFileSync(join(root, name, `l${i}`, 'diff', `f${i}`), String(i));
      parent = `l${i}`;
    }
    await d.create('top', parent);
    expect(readFileSync(join(root, name, 'top', 'lower'), 'utf8').split(':')).toHaveLength(maxDepth);
    const merged = await d.get('top');
    expect(readdirSync(merged)).toHaveLength(maxDepth);
    expect(readFileSync(join(merged, 'f0'), 'utf8')).toBe('0');
    await d.put('top');
    const err = await d.create('too-deep', 'top').catch((e: unknown) => e);
    expect(is(err, ErrMaxDepth)).toBe(true);
    expect(String(err)).toMatch(/child of layer top would have 501 lower layers \(limit 500\)/);
    expect(await d.exists('too-deep')).toBe(false);
    // Read-only, the top's own diff would be one lower too many.
    await expect(d.get('top', { options: ['ro'] })).rejects.toThrow(/read-only would stack 501 lower layers/);
    await d.cleanup();
  }, 120_000);

  it('a ro mount shows the layer over its parents and refuses writes', async () => {
    const root = tempDir();
    const d = await open(root);
    await d.create('base', '');
    writeFileSync(join(await d.get('base'), 'a'), 'A');
    await d.put('base');
    await d.create('top', 'base');
    const rw = await d.get('top');
    writeFileSync(join(rw, 'b'), 'B');
    rmSync(join(rw, 'a'));
    await d.put('top');
    const ro = await d.get('top', { options: ['ro'] });
    expect(readdirSync(ro)).toEqual(['b']);
    expect(() => writeFileSync(join(ro, 'c'), 'C')).toThrow(/EROFS/);
    await d.put('top');
    expect(readdirSync(join(root, name, 'top', 'diff')).sort()).toEqual(['a', 'b']);
    await d.cleanup();
  });

  it('readWriteDiskUsage counts the diff dir: bytes of non-directories, and every inode', async () => {
    const root = tempDir();
    const d = await open(root);
    await d.create('base', '');
    writeFileSync(join(root, name, 'base', 'diff', 'old'), 'old content');
    await d.create('rw', 'base');
    const m = await d.get('rw');
    writeFileSync(join(m, 'a'), '0123456789');
    mkdirSync(join(m, 'd'));
    writeFileSync(join(m, 'd', 'b'), 'x'.repeat(20));
    rmSync(join(m, 'old'));
    await d.put('rw');
    // diff/, a, d/, d/b and the whiteout for old.
    expect(await d.readWriteDiskUsage('rw')).toEqual({ size: 30, inodeCount: 5 });
    await d.cleanup();
  });

  it('init repairs missing l/ links, and the chain mounts again', async () => {
    const root = tempDir();
    let d = await open(root);
    await d.create('base', '');
    writeFileSync(join(root, name, 'base', 'diff', 'f'), 'from base');
    await d.create('top', 'base');
    await d.cleanup();
    const lid = readFileSync(join(root, name, 'base', 'link'), 'utf8');
    rmSync(join(root, name, 'l', lid));
    d = await open(root);
    expect(readlinkSync(join(root, name, 'l', lid))).toBe('../base/diff');
    expect(readFileSync(join(await d.get('top'), 'f'), 'utf8')).toBe('from base');
    await d.put('top');
    await d.cleanup();
  });

  it('cleanup unmounts every layer it mounted, however many references were taken', async () => {
    const root = tempDir();
    const d = await open(root);
    await d.create('base', '');
    await d.create('a', 'base');
    await d.create('b', 'base');
    await d.get('a');
    await d.get('a');
    await d.get('b');
    await d.get('base', { options: ['ro'] });
    const home = join(root, name);
    expect(mountsUnder(home).filter((p) => p.endsWith('/merged'))).toHaveLength(3);
    await d.cleanup();
    expect(mountsUnder(home)).toEqual([]);
  });
});
