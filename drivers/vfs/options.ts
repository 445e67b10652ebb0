/** vfs driver options (`vfs.` prefix optional), as containers/storage accepts them. */
import { driverOptions, parseBoolOption } from '../../src/driver-options.js';
import { ErrInvalidOption } from '../../src/errors.js';

export interface VfsOptions {
  /** Copies and applied diffs keep going when an owner cannot be set (rootless). */
  ignoreChownErrors: boolean;
}

export function parseVfsOptions(options: readonly string[]): VfsOptions {
  const parsed: VfsOptions = { ignoreChownErrors: false };
  for (const { key, rawKey, value } of driverOptions('vfs', options, ['vfs.'])) {
    switch (key) {
      case 'ignore_chown_errors':
        parsed.ignoreChownErrors = parseBoolOption('vfs', rawKey, value);
        break;
      case 'mountopt':
        throw new ErrInvalidOption(`vfs: driver does not support mount options (${rawKey}=${value})`);
      default:
        throw new ErrInvalidOption(`vfs: driver does not support option "${rawKey}"`);
    }
  }
  return parsed;
}
