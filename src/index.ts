/** strata's public API: the registry, the driver contract, errors and the syscall wrappers. */
export * from './errors.js';
export type * from './driver.js';
export { Registry, registry, register, mustRegister, getDriver, newDriver, scanPriorDrivers } from './registry.js';
export type { Decision, Selection } from './registry.js';
export { defaultPriority } from './priority.js';
export { naiveDiff } from './naive-diff.js';
export * as native from './native.js';
import './drivers.js';
export * from './store/index.js';
export * from './config/index.js';
export * from './image/index.js';
