import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Driver, DriverOptions } from '../src/driver.js';
import {
  ErrDuplicateDriver,
  ErrIncompatibleFS,
  ErrNoBackend,
  ErrNotSupported,
  ErrPrerequisites,
  ErrSeveralDrivers,
  is,
} from '../src/errors.js';
import { Registry } from '../src/registry.js';
import { tempDir } from './helpers/tmp.js';

/** A driver that records its home; registry tests only look at which one was built. */
function fake(name: string, home: string): Driver {
  const never = (): Promise<never> => Promise.reject(new Error('not used by registry tests'));
  return {
    name, home,
    create: never, createReadWrite: never, createFromTemplate: never, remove: never, get: never,
    put: never, exists: never, listLayers: never, status: never, metadata: never,
    readWriteDiskUsage: never, cleanup: async () => undefined,
    diff: never, changes: never, applyDiff: never, diffSize: never,
  };
}

type Behaviour = 'ok' | 'notsupported' | 'prereq' | 'incompatible' | 'broken';

/** A registry whose drivers init as told, counting init calls. */
function registryWith(behaviours: Record<string, Behaviour>): { reg: Registry; inits: string[] } {
  const reg = new Registry();
  const inits: string[] = [];
  for (const [name, b] of Object.entries(behaviours)) {
    reg.register(name, async (home) => {
      inits.push(name);
      switch (b) {
        case 'ok': return fake(name, home);
        case 'notsupported': throw new ErrNotSupported(`${name}: no kernel support`);
        case 'prereq': throw new ErrPrerequisites(`${name}: fusermount3 missing`);
        case 'incompatible': throw new ErrIncompatibleFS(`${name}: backing fs is aufs`);
        case 'broken': throw new Error(`${name}: disk on fire`);
      }
    });
  }
  return { reg, inits };
}

function opts(root: string, extra: Partial<DriverOptions> = {}): DriverOptions {
  return { root, ...extra };
}

describe('register', () => {
  it('rejects a duplicate name with ErrDuplicateDriver', () => {
    const { reg } = registryWith({ vfs: 'ok' });
    expect(() => reg.register('vfs', async (h) => fake('vfs', h))).toThrow(ErrDuplicateDriver);
    expect(() => reg.mustRegister('vfs', async (h) => fake('vfs', h))).toThrow(/failed to register.*vfs/);
  });
});

describe('getDriver', () => {
  it('initialises the named driver with home <root>/<name>', async () => {
    const root = tempDir();
    const { reg } = registryWith({ vfs: 'ok' });
    const d = await reg.getDriver('vfs', opts(root));
    expect(d.home).toBe(join(root, 'vfs'));
  });
  it('an unknown name is ErrNotSupported', async () => {
    const { reg } = registryWith({ vfs: 'ok' });
    const err = await reg.getDriver('zfs', opts('/nonexistent')).catch((e: unknown) => e);
    expect(is(err, ErrNotSupported)).toBe(true);
    expect(String(err)).toMatch(/zfs/);
  });
});

describe('scanPriorDrivers', () => {
  it('lists exactly the registered names whose home exists', () => {
    const root = tempDir();
    mkdirSync(join(root, 'overlay'));
    mkdirSync(join(root, 'unregistered'));
    const { reg } = registryWith({ overlay: 'ok', vfs: 'ok' });
    expect([...reg.scanPriorDrivers(root)]).toEqual(['overlay']);
  });
});

describe('newDriver', () => {
  it('an explicit name wins even over prior state, and its init error is returned', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'overlay'));
    const { reg } = registryWith({ overlay: 'ok', vfs: 'ok', 'fuse-overlay': 'notsupported' });
    expect((await reg.newDriver('vfs', opts(root))).name).toBe('vfs');
    const err = await reg.newDriver('fuse-overlay', opts(root)).catch((e: unknown) => e);
    expect(is(err, ErrNotSupported)).toBe(true);
  });

  it('keeps using a prior driver, before anything higher in the priority list', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'fuse-overlay'));
    const { reg, inits } = registryWith({ overlay: 'ok', 'fuse-overlay': 'ok', vfs: 'ok' });
    const sel = await reg.newDriver('', opts(root));
    expect(sel.name).toBe('fuse-overlay');
    expect(inits).toEqual(['fuse-overlay']);
    expect(sel.decisions.at(-1)?.reason).toMatch(/prior storage driver/);
  });

  it('returns the error of a prior driver that no longer initialises, even a not-supported one', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'overlay'));
    const { reg } = registryWith({ overlay: 'notsupported', 'fuse-overlay': 'ok', vfs: 'ok' });
    const err = await reg.newDriver('', opts(root)).catch((e: unknown) => e);
    expect(is(err, ErrNotSupported)).toBe(true);
    expect(String(err)).toMatch(/overlay: no kernel support/);
  });

  it('refuses a root holding several prior drivers', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'overlay'));
    mkdirSync(join(root, 'fuse-overlay'));
    const { reg } = registryWith({ overlay: 'ok', 'fuse-overlay': 'ok', vfs: 'ok' });
    const err = await reg.newDriver('', opts(root)).catch((e: unknown) => e);
    expect(is(err, ErrSeveralDrivers)).toBe(true);
    expect(String(err)).toMatch(
      new RegExp(`${root} contains several valid graphdrivers: .*; Please cleanup or explicitly choose storage driver`),
    );
    expect(String(err)).toMatch(/overlay/);
    expect(String(err)).toMatch(/fuse-overlay/);
  });

  it('prior vfs state is ignored with the default list but honoured when vfs is listed explicitly', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'vfs'));
    const { reg } = registryWith({ overlay: 'ok', 'fuse-overlay': 'ok', vfs: 'ok' });
    expect((await reg.newDriver('', opts(root))).name).toBe('overlay');
    const sel = await reg.newDriver('', opts(root, { driverPriority: ['overlay', 'vfs'] }));
    expect(sel.name).toBe('vfs');
  });

  it('counts a vfs home among prior drivers when deciding there are several', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'vfs'));
    mkdirSync(join(root, 'overlay'));
    const { reg } = registryWith({ overlay: 'ok', 'fuse-overlay': 'ok', vfs: 'ok' });
    const err = await reg.newDriver('', opts(root)).catch((e: unknown) => e);
    expect(is(err, ErrSeveralDrivers)).toBe(true);
  });

  it('walks the default priority list past not-supported drivers and explains each skip', async () => {
    const root = tempDir();
    const { reg, inits } = registryWith({ overlay: 'notsupported', 'fuse-overlay': 'prereq', vfs: 'ok' });
    const sel = await reg.newDriver('', opts(root));
    expect(sel.name).toBe('vfs');
    expect(inits).toEqual(['overlay', 'fuse-overlay', 'vfs']);
    expect(sel.decisions).toEqual([
      { name: 'overlay', outcome: 'skipped', reason: 'overlay: no kernel support' },
      { name: 'fuse-overlay', outcome: 'skipped', reason: 'fuse-overlay: fusermount3 missing' },
      { name: 'vfs', outcome: 'chosen', reason: 'first supported driver in the priority list' },
    ]);
  });

  it('skips ErrIncompatibleFS too', async () => {
    const root = tempDir();
    const { reg } = registryWith({ overlay: 'incompatible', 'fuse-overlay': 'ok', vfs: 'ok' });
    expect((await reg.newDriver('', opts(root))).name).toBe('fuse-overlay');
  });

  it('returns any other init error at once', async () => {
    const root = tempDir();
    const { reg, inits } = registryWith({ overlay: 'broken', 'fuse-overlay': 'ok', vfs: 'ok' });
    await expect(reg.newDriver('', opts(root))).rejects.toThrow(/disk on fire/);
    expect(inits).toEqual(['overlay']);
  });

  it('uses an explicit priority list in its order', async () => {
    const root = tempDir();
    const { reg } = registryWith({ overlay: 'ok', 'fuse-overlay': 'ok', vfs: 'ok' });
    const sel = await reg.newDriver('', opts(root, { driverPriority: ['vfs', 'overlay'] }));
    expect(sel.name).toBe('vfs');
  });

  it('falls back to registered drivers outside the priority list', async () => {
    const root = tempDir();
    const { reg } = registryWith({ overlay: 'notsupported', btrfs: 'ok' });
    const sel = await reg.newDriver('', opts(root, { driverPriority: ['overlay'] }));
    expect(sel.name).toBe('btrfs');
    expect(sel.decisions.at(-1)?.reason).toMatch(/outside the priority list/);
  });

  it('fails with ErrNoBackend naming every reason when nothing initialises', async () => {
    const root = tempDir();
    const { reg } = registryWith({ overlay: 'notsupported', vfs: 'prereq' });
    const err = await reg.newDriver('', opts(root)).catch((e: unknown) => e);
    expect(is(err, ErrNoBackend)).toBe(true);
    expect(String(err)).toMatch(/no supported storage backend found/);
    expect(String(err)).toMatch(/overlay: no kernel support/);
    expect(String(err)).toMatch(/vfs: fusermount3 missing/);
  });
});

describe('is', () => {
  it('sees through cause chains and matches by code', () => {
    const inner = new ErrIncompatibleFS('aufs below');
    const outer = new Error('mounting layer abc', { cause: new Error('init', { cause: inner }) });
    expect(is(outer, ErrIncompatibleFS)).toBe(true);
    expect(is(outer, ErrNotSupported)).toBe(false);
    expect(is({ code: 'ERR_NOT_SUPPORTED' }, ErrNotSupported)).toBe(true);
    expect(is(undefined, ErrNotSupported)).toBe(false);
    expect(inner.code).toBe('ERR_INCOMPATIBLE_FS');
    expect(inner).toBeInstanceOf(Error);
  });
});
