/**
 * The store's shared state: paths, the driver, the three record sets and their locks, and
 * `locked`, which takes the locks an operation needs in one fixed order (layers, images,
 * containers; never the reverse, so two operations cannot deadlock) and refreshes each set.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Driver } from '../driver.js';
import { registry as globalRegistry, type Decision, type Registry } from '../registry.js';
import { ContainerStore } from './containers.js';
import { ErrIncompleteOptions } from './errors.js';
import { ImageStore } from './images.js';
import { LayerStore } from './layers.js';
import { type Held, type LockOptions, StoreLock } from './lock.js';
import { debug } from './log.js';
import type { IDMap } from './types.js';

export interface StoreOptions {
  /** Where layers, images and containers are kept (e.g. /var/lib/strata). */
  graphRoot: string;
  /** Where runtime state such as mount counts is kept (e.g. /run/strata). */
  runRoot: string;
  /** A driver name, or '' / undefined to choose one as containers/storage does. */
  driver?: string;
  driverPriority?: string[];
  /** `key=value` driver options, e.g. `overlay.mount_program=/usr/bin/fuse-overlayfs`. */
  driverOptions?: string[];
  /** Default ID mappings for new layers without a parent. */
  uidMap?: IDMap[];
  gidMap?: IDMap[];
  lock?: LockOptions;
  /** Defaults to the global registry; drivers register by importing src/drivers.ts. */
  registry?: Registry;
}

/** Records handed to callers are copies: changing them must not change the store. */
export const copy = <T>(v: T): T => structuredClone(v);

export interface Locked {
  layers: Held;
  images: Held;
  containers: Held;
}

type Want = Partial<Record<keyof Locked, boolean>>;

export class StoreCore {
  private constructor(
    readonly graphRoot: string,
    readonly runRoot: string,
    readonly driverName: string,
    readonly driver: Driver,
    readonly decisions: Decision[],
    readonly graphOptions: string[],
    readonly uidMap: IDMap[],
    readonly gidMap: IDMap[],
    readonly layers: LayerStore,
    readonly images: ImageStore,
    readonly containers: ContainerStore,
    /** `<runroot>/<driver>-locks`: one lock file per blob digest (Store.digestLock). */
    readonly digestLockRoot: string,
    readonly lockOptions: LockOptions | undefined,
  ) {}

  static async open(options: StoreOptions): Promise<StoreCore> {
    if (options.graphRoot === '' || options.runRoot === '') {
      throw new ErrIncompleteOptions('no storage runroot or graphroot specified');
    }
    const graphRoot = resolve(options.graphRoot);
    const runRoot = resolve(options.runRoot);
    await mkdir(runRoot, { recursive: true, mode: 0o700 });
    await mkdir(graphRoot, { recursive: true, mode: 0o700 });
    for (const sub of ['mounts', 'tmp']) await mkdir(join(graphRoot, sub), { recursive: true, mode: 0o700 });
    const graphOptions = [...(options.driverOptions ?? [])];
    const { driver, name, decisions } = await (options.registry ?? globalRegistry).newDriver(options.driver ?? '', {
      root: graphRoot,
      runRoot,
      driverPriority: options.driverPriority,
      driverOptions: graphOptions,
    });
    debug(`graph driver ${name}: ${decisions.map((d) => `${d.name} ${d.outcome} (${d.reason})`).join('; ')}`);
    const prefix = `${name}-`;
    const dirs = {
      layers: join(graphRoot, `${prefix}layers`),
      runLayers: join(runRoot, `${prefix}layers`),
      images: join(graphRoot, `${prefix}images`),
      containers: join(graphRoot, `${prefix}containers`),
      runContainers: join(runRoot, `${prefix}containers`),
      locks: join(runRoot, `${prefix}locks`),
    };
    for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true, mode: 0o700 });
    const lock = (dir: string, file: string): StoreLock => new StoreLock(join(dir, file), options.lock);
    return new StoreCore(
      graphRoot,
      runRoot,
      name,
      driver,
      decisions,
      graphOptions,
      [...(options.uidMap ?? [])],
      [...(options.gidMap ?? [])],
      new LayerStore(dirs.layers, dirs.runLayers, driver, lock(dirs.layers, 'layers.lock')),
      new ImageStore(dirs.images, lock(dirs.images, 'images.lock')),
      new ContainerStore(dirs.containers, lock(dirs.containers, 'containers.lock')),
      dirs.locks,
      options.lock,
    );
  }

  /** Runs `fn` holding the wanted locks, each record set refreshed from disk first. */
  async locked<T>(want: Want, fn: (held: Locked) => Promise<T>): Promise<T> {
    const { held, release } = await this.acquire(want);
    try {
      return await fn(held);
    } finally {
      await release();
    }
  }

  /** Takes the wanted locks for a caller that must keep them past one call (a diff stream). */
  async acquire(want: Want): Promise<{ held: Locked; release: () => Promise<void> }> {
    const held: Partial<Locked> = {};
    const order: Array<[keyof Locked, { records: { lock: StoreLock }; refresh(h: Held): Promise<void> }]> = [
      ['layers', this.layers],
      ['images', this.images],
      ['containers', this.containers],
    ];
    const release = async (): Promise<void> => {
      for (const [kind] of [...order].reverse()) {
        const h = held[kind];
        delete held[kind];
        await h?.release();
      }
    };
    try {
      for (const [kind, set] of order) {
        if (want[kind] !== true) continue;
        const h = await set.records.lock.acquire();
        held[kind] = h;
        await set.refresh(h);
      }
    } catch (err) {
      await release();
      throw err;
    }
    return { held: held as Locked, release };
  }

  /** `<root>/<driver>-<kind>s`. */
  kindDir(root: 'graph' | 'run', kind: 'layer' | 'image' | 'container'): string {
    return join(root === 'graph' ? this.graphRoot : this.runRoot, `${this.driverName}-${kind}s`);
  }

  /** `<root>/<driver>-<kind>s/<id>/userdata`, the per-record directory callers may fill. */
  userDataDir(root: 'graph' | 'run', kind: 'image' | 'container', id: string): string {
    return join(this.kindDir(root, kind), id, 'userdata');
  }
}
