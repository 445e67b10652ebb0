/**
 * Store options from the global flags and the configuration, as containers-storage combines
 * them: with none of -g/-R/-s/--storage-opt the configuration (storage.conf and the
 * STORAGE_DRIVER/STORAGE_OPTS environment) decides everything; once any is given, the flags
 * decide and the configuration only fills in a missing root.
 */
import { loadStorageConfig, processConfigEnv, type StorageConfig } from '../config/load.js';
import type { StoreOptions } from '../store/core.js';
import { list, text, type Options } from './spec.js';

export function storeOptions(opts: Options, env: Record<string, string | undefined>): StoreOptions {
  const graph = text(opts, 'graph');
  const run = text(opts, 'run');
  const driver = text(opts, 'storageDriver');
  const driverOpts = list(opts, 'storageOpt');
  const ctx = { ...processConfigEnv(), env };
  const flagsGiven = graph !== '' || run !== '' || driver !== '' || driverOpts.length > 0;
  if (!flagsGiven) return fromConfig(loadStorageConfig(ctx));
  let config: StorageConfig | undefined;
  try {
    config = loadStorageConfig(ctx);
  } catch (err) {
    // A broken storage.conf only matters when it has to supply a root.
    if (graph === '' || run === '') throw err;
  }
  return {
    graphRoot: graph !== '' ? graph : (config?.graphRoot ?? ''),
    runRoot: run !== '' ? run : (config?.runRoot ?? ''),
    driver,
    driverOptions: driverOpts,
    driverPriority: config?.driverPriority ?? [],
  };
}

function fromConfig(c: StorageConfig): StoreOptions {
  return {
    graphRoot: c.graphRoot,
    runRoot: c.runRoot,
    driver: c.driver,
    driverPriority: c.driverPriority,
    driverOptions: c.driverOptions,
    uidMap: c.uidMap,
    gidMap: c.gidMap,
  };
}
