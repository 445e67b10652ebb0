/** storage.conf and the environment, turned into Store options. */
export { loadStorageConfig, findConfigFile, defaultRoots, expandPath, processConfigEnv, SYSTEM_CONFIG } from './load.js';
export type { ConfigEnv, StorageConfig } from './load.js';
export { parseStorageConf } from './storage-conf.js';
export type { StorageConf, OptionsTable, OverlayTable } from './storage-conf.js';
export { driverOptionStrings } from './driver-options.js';
