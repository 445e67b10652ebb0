/**
 * The graph driver conformance suite: containers/storage's graphtest behaviours, run against
 * any registered driver. A driver joins by being registered; its row in `driverParams` only
 * tunes sizes.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Change, Driver } from '../../src/driver.js';
import { hasCode, isDriverNotSupported } from '../../src/errors.js';
import { registry } from '../../src/registry.js';
import { tempDir, unmountAll } from '../helpers/tmp.js';
import {
  addDirectory,
  addFile,
  addManyFiles,
  addManyLayers,
  changeManyFiles,
  checkFile,
  checkFileRemoved,
  checkManyFiles,
  checkManyLayers,
  createBase,
  defaultPerms,
  expectChanges,
  modifiedPerms,
  newId,
  randomContent,
  readDirVisible,
  removeAll,
  verifyBase,
  verifyFile,
  withLayer,
} from './conformance-util.js';

export interface ConformanceParams {
  /** Layers stacked in DeepLayerRead; overlay drivers must pass graphtest's 128. */
  deepLayers: number;
  /** Files written per layer in DiffApply. */
  diffFiles: number;
  /** driverOptions handed to init. */
  driverOptions: string[];
  /** Per-test time limit: a fuse-overlay mount is a new strata-fuse process, and DeepLayerRead makes 130. */
  timeoutMs: number;
}

const defaults: ConformanceParams = { deepLayers: 128, diffFiles: 20, driverOptions: [], timeoutMs: 60_000 };

/**
 * Per-driver overrides of `defaults`; a registered driver without a row runs with the defaults.
 * vfs copies every layer in full, so a deep chain costs it quadratic time.
 */
export const driverParams: Record<string, Partial<ConformanceParams>> = {
  vfs: { deepLayers: 30 },
  overlay: { deepLayers: 128 },
  'fuse-overlay': { deepLayers: 128, timeoutMs: 300_000 },
};

export function paramsFor(name: string): ConformanceParams {
  return { ...defaults, ...driverParams[name] };
}

/** Why `name` cannot init on this host, or undefined when it can. Other init failures throw. */
export async function unsupportedReason(name: string, params: ConformanceParams): Promise<string | undefined> {
  const root = mkdtempSync(join(tmpdir(), `strata-probe-${name}-`));
  try {
    const driver = await registry.getDriver(name, { root, driverOptions: params.driverOptions });
    await driver.cleanup();
    return undefined;
  } catch (err) {
    if (isDriverNotSupported(err) || hasCode(err, 'EPERM')) return (err as Error).message;
    throw err;
  } finally {
    unmountAll(root);
    rmSync(root, { recursive: true, force: true });
  }
}

/** A fresh driver in its own temporary root, cleaned up when the test ends. */
async function newDriver(name: string, params: ConformanceParams): Promise<Driver> {
  const root = join(tempDir(), 'root');
  mkdirSync(root);
  const driver = await registry.getDriver(name, { root, driverOptions: params.driverOptions });
  onTestFinished(() => driver.cleanup());
  return driver;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Registers the conformance tests for one driver. */
export function defineConformanceSuite(name: string, params: ConformanceParams = paramsFor(name)): void {
  describe(`driver conformance: ${name}`, { timeout: params.timeoutMs }, () => {
    const driverFor = (): Promise<Driver> => newDriver(name, params);

    it('CreateEmpty: a new layer is an empty root-owned 0555 directory', async () => {
      const driver = await driverFor();
      await driver.create('empty', '');
      expect(await driver.exists('empty')).toBe(true);
      await withLayer(driver, 'empty', (root) => {
        verifyFile(root, 'dir', defaultPerms, 0, 0);
        expect(readDirVisible(root)).toEqual([]);
      });
    });

    it('CreateBase: owners, sticky and setuid bits written into a layer read back', async () => {
      const driver = await driverFor();
      await createBase(driver, 'Base1');
      await verifyBase(driver, 'Base1', defaultPerms);
    });

    it('CreateSnap: a child inherits its parent, including a chmod of the parent root', async () => {
      const driver = await driverFor();
      await createBase(driver, 'Base2');
      await driver.create('Snap2', 'Base2');
      await verifyBase(driver, 'Snap2', defaultPerms);
      await withLayer(driver, 'Snap2', (root) => chmodSync(root, modifiedPerms));
      await driver.create('SecondSnap', 'Snap2');
      await verifyBase(driver, 'SecondSnap', modifiedPerms);
      // The parent of the chmod is untouched.
      await verifyBase(driver, 'Base2', defaultPerms);
    });

    it('CreateFromTemplate: a template copy has the template content and no changes against it', async () => {
      const driver = await driverFor();
      await createBase(driver, 'Base3');
      await driver.create('Snap3', 'Base3');
      const content = 'test content';
      await addFile(driver, 'Snap3', 'testfile.txt', content);
      await driver.createFromTemplate('FromTemplate', 'Snap3', 'Base3', undefined, true);
      await driver.createFromTemplate('ROFromTemplate', 'Snap3', 'Base3', undefined, false);

      expectChanges(await driver.changes('FromTemplate', 'Snap3'), []);
      expectChanges(await driver.changes('ROFromTemplate', 'Snap3'), []);
      for (const id of ['FromTemplate', 'ROFromTemplate', 'Snap3']) await checkFile(driver, id, 'testfile.txt', content);
      const added: Change[] = [{ path: '/testfile.txt', kind: 'add' }];
      for (const id of ['Snap3', 'FromTemplate', 'ROFromTemplate']) expectChanges(await driver.changes(id, 'Base3'), added);
      await verifyBase(driver, 'Base3', defaultPerms);
    });

    it(`DeepLayerRead: the top of ${params.deepLayers} stacked layers sees every layer's files`, async () => {
      const driver = await driverFor();
      const base = newId();
      await driver.create(base, '');
      await addFile(driver, base, 'testfile.txt', 'test content');
      const top = await addManyLayers(driver, base, params.deepLayers);
      await checkManyLayers(driver, top, params.deepLayers);
      await checkFile(driver, top, 'testfile.txt', 'test content');
    });

    it('DiffApply: applying a diff reproduces the layer and returns its diffSize', async () => {
      const driver = await driverFor();
      const n = params.diffFiles;
      const [base, upper, target] = [newId(), newId(), newId()];
      const deleted = 'file-remove.txt';
      const deletedContent = 'This file should get removed in upper!';
      await driver.create(base, '');
      await addManyFiles(driver, base, n, 3);
      await addFile(driver, base, deleted, deletedContent);
      await addDirectory(driver, base, 'var/lib');
      await driver.create(upper, base);
      await addManyFiles(driver, upper, n, 6);
      await removeAll(driver, upper, deleted, 'var/lib');

      // As graphtest: the size of the whole upper layer, which holds just the n rewritten files.
      const diffSize = await driver.diffSize(upper, '');
      expect(diffSize).toBe(n * 64);

      await driver.create(target, base);
      await checkManyFiles(driver, target, n, 3);
      await checkFile(driver, target, deleted, deletedContent);

      const tar = await readAll(await driver.diff(upper, base));
      const applied = await driver.applyDiff(target, base, { diff: Readable.from([tar]) });
      expect(applied).toBe(diffSize);
      await checkManyFiles(driver, target, n, 6);
      await checkFileRemoved(driver, target, deleted);
      await checkFileRemoved(driver, target, 'var/lib');
      await withLayer(driver, target, (root) => expect(readDirVisible(join(root, 'var'))).toEqual([]));
    });

    it('Changes: modified, added and deleted files are reported exactly', async () => {
      const driver = await driverFor();
      const [base, upper] = [newId(), newId()];
      await driver.create(base, '');
      await addManyFiles(driver, base, 20, 3);
      await driver.create(upper, base);
      const expected = await changeManyFiles(driver, upper, 20, 6);
      expectChanges(await driver.changes(upper, base), expected);
    });

    it('Echo: removing and re-creating nested directories is diffed correctly at every depth', async () => {
      const driver = await driverFor();
      const components = 10;
      for (let depth = 0; depth < components; depth++) {
        const [base, second, third] = [newId(), newId(), newId()];
        await createBase(driver, base);
        await verifyBase(driver, base, defaultPerms);

        const paths: string[] = [];
        let expected: Change[] = [
          { kind: 'add', path: '/a file' },
          { kind: 'add', path: '/a subdir' },
        ];
        await withLayer(driver, base, (root) => {
          let path = '';
          for (let i = 0; i < components - 1; i++) {
            path = `${path}/subdir${i + 1}`;
            paths.push(path);
            mkdirSync(join(root, path), { mode: 0o700 });
            expected.push({ kind: 'add', path });
          }
          path = `${path}/file`;
          paths.push(path);
          writeContent(join(root, path), randomContent(128, depth));
          expected.push({ kind: 'add', path });
        });
        expectChanges(await driver.changes(base, ''), expected);

        await driver.create(second, base);
        await withLayer(driver, second, (root) => rmSync(join(root, paths[depth]!), { recursive: true }));
        expected = paths.slice(0, depth).map((path): Change => ({ kind: 'modify', path }));
        expected.push({ kind: 'delete', path: paths[depth]! });
        expectChanges(await driver.changes(second, base), expected);

        await driver.create(third, second);
        await withLayer(driver, third, (root) => {
          expected = paths.slice(0, depth).map((path): Change => ({ kind: 'modify', path }));
          for (let i = depth; i < components - 1; i++) {
            mkdirSync(join(root, paths[i]!), { mode: 0o700 });
            expected.push({ kind: 'add', path: paths[i]! });
          }
          writeContent(join(root, paths.at(-1)!), randomContent(128, depth));
          expected.push({ kind: 'add', path: paths.at(-1)! });
        });
        expectChanges(await driver.changes(third, second), expected);
      }
    });

    it('ListLayers: lists exactly the layers created', async () => {
      const driver = await driverFor();
      const [base, mid, upper] = [newId(), newId(), newId()];
      await createBase(driver, base);
      await addManyFiles(driver, base, 20, 3);
      await driver.create(mid, base);
      await addManyFiles(driver, mid, 20, 3);
      await driver.create(upper, mid);
      expect((await driver.listLayers()).sort()).toEqual([base, mid, upper].sort());
    });

    it('Remove: a removed layer is gone from the list and its parent still reads', async () => {
      const driver = await driverFor();
      const [base, mid] = [newId(), newId()];
      await createBase(driver, base);
      await driver.create(mid, base);
      await driver.remove(mid);
      expect(await driver.exists(mid)).toBe(false);
      expect(await driver.listLayers()).toEqual([base]);
      await verifyBase(driver, base, defaultPerms);
    });
  });
}

function writeContent(path: string, content: Buffer): void {
  writeFileSync(path, content, { mode: 0o600 });
}
