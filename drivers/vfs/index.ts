/** Registers the vfs driver; importing this module is what makes `vfs` available. */
import { mustRegister } from '../../src/registry.js';
import { initVfs } from './driver.js';

mustRegister('vfs', initVfs);

export { initVfs, VfsDriver } from './driver.js';
export { parseVfsOptions, type VfsOptions } from './options.js';
