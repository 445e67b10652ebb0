/** The store: layers, images and containers on a graph driver, compatible with containers/storage's files. */
export { Store } from './store.js';
export type { StoreOptions, CreateLayerOptions, CreateImageOptions, CreateContainerOptions, DiffOptions } from './store.js';
export * from './types.js';
export * from './errors.js';
export type { LockOptions } from './lock.js';
export { bigDataFileName } from './bigdata.js';
export { parseIDMap, subIDMappings } from './idmap.js';
