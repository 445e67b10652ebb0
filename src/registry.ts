/**
 * The driver registry and the choice of a driver for a graph root, following
 * containers/storage drivers/driver.go: explicit name, else a prior driver's home, else the
 * priority list, else any registered driver. Each step is recorded so the choice can be explained.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Driver, DriverOptions, InitFunc } from './driver.js';
import {
  ErrDuplicateDriver,
  ErrNoBackend,
  ErrNotSupported,
  ErrSeveralDrivers,
  isDriverNotSupported,
} from './errors.js';
import { defaultPriority } from './priority.js';

/** Why a candidate was taken or passed over. */
export interface Decision {
  name: string;
  outcome: 'chosen' | 'skipped';
  reason: string;
}

/** The driver newDriver picked, with the trail of decisions that led to it. */
export interface Selection {
  driver: Driver;
  name: string;
  decisions: Decision[];
}

export class Registry {
  readonly #drivers = new Map<string, InitFunc>();

  register(name: string, init: InitFunc): void {
    if (this.#drivers.has(name)) throw new ErrDuplicateDriver(`name already registered ${name}`);
    this.#drivers.set(name, init);
  }

  /** Registers or throws; meant for module top level, like Go's MustRegister in init(). */
  mustRegister(name: string, init: InitFunc): void {
    try {
      this.register(name, init);
    } catch (err) {
      throw new Error(`failed to register strata graph driver "${name}": ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  names(): string[] {
    return [...this.#drivers.keys()];
  }

  /** Initialises the named driver with home `<root>/<name>`. */
  async getDriver(name: string, options: DriverOptions): Promise<Driver> {
    const init = this.#drivers.get(name);
    if (init === undefined) {
      throw new ErrNotSupported(`failed to GetDriver graph ${name} ${options.root}: driver not supported`);
    }
    return init(join(options.root, name), options);
  }

  /** Every registered driver whose home already exists under root (unordered, as in the seed). */
  scanPriorDrivers(root: string): Set<string> {
    return new Set(this.names().filter((name) => existsSync(join(root, name))));
  }

  /** Picks and initialises a driver for `options.root`; see the file comment for the order. */
  async newDriver(name: string, options: DriverOptions): Promise<Selection> {
    const decisions: Decision[] = [];
    const chosen = (driver: Driver, n: string, reason: string): Selection => {
      decisions.push({ name: n, outcome: 'chosen', reason });
      return { driver, name: n, decisions };
    };

    if (name !== '') return chosen(await this.getDriver(name, options), name, 'explicitly chosen');

    const prior = this.scanPriorDrivers(options.root);
    const explicitList = (options.driverPriority ?? []).length > 0;
    const priority = explicitList ? (options.driverPriority as string[]) : defaultPriority;

    for (const candidate of priority) {
      // vfs state alone never pins the choice unless the caller listed vfs on purpose.
      if (candidate === 'vfs' && !explicitList) continue;
      if (!prior.has(candidate)) continue;
      // A prior driver that no longer works is an error: its layers must not silently vanish.
      const driver = await this.getDriver(candidate, options);
      if (prior.size > 1) {
        await driver.cleanup().catch(() => undefined);
        throw new ErrSeveralDrivers(
          `${options.root} contains several valid graphdrivers: ${[...prior].join(', ')}; ` +
            'Please cleanup or explicitly choose storage driver (-s <DRIVER>)',
        );
      }
      return chosen(driver, candidate, `prior storage driver: ${join(options.root, candidate)} exists`);
    }

    const tryInit = async (candidate: string, why: string): Promise<Selection | undefined> => {
      try {
        return chosen(await this.getDriver(candidate, options), candidate, why);
      } catch (err) {
        if (!isDriverNotSupported(err)) throw err;
        decisions.push({ name: candidate, outcome: 'skipped', reason: (err as Error).message });
        return undefined;
      }
    };

    for (const candidate of priority) {
      const sel = await tryInit(candidate, 'first supported driver in the priority list');
      if (sel) return sel;
    }
    for (const candidate of this.names()) {
      if (priority.includes(candidate)) continue;
      const sel = await tryInit(candidate, 'supported registered driver outside the priority list');
      if (sel) return sel;
    }
    const why = decisions.map((d) => `${d.name}: ${d.reason}`).join('; ');
    throw new ErrNoBackend(`no supported storage backend found${why ? ` (${why})` : ''}`);
  }
}

/** The process-wide registry every built-in driver registers into. */
export const registry = new Registry();

export const register = (name: string, init: InitFunc): void => registry.register(name, init);
export const mustRegister = (name: string, init: InitFunc): void => registry.mustRegister(name, init);
export const getDriver = (name: string, options: DriverOptions): Promise<Driver> =>
  registry.getDriver(name, options);
export const scanPriorDrivers = (root: string): Set<string> => registry.scanPriorDrivers(root);
export const newDriver = (name: string, options: DriverOptions): Promise<Selection> =>
  registry.newDriver(name, options);
