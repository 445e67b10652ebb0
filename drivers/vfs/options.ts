/**
 * vfs driver options, given as `key=value` strings in DriverOptions.driverOptions. Keys take
 * the `vfs.` prefix, a bare `.` prefix or none, case-insensitively, as containers/storage does.
 */
import { ErrInvalidOption } from '../../src/errors.js';

export interface VfsOptions {
  /** Copies and applied diffs keep going when an owner cannot be set (rootless). */
  ignoreChownErrors: boolean;
}

export function parseVfsOptions(options: readonly string[]): VfsOptions {
  const parsed: VfsOptions = { ignoreChownErrors: false };
  for (const option of options) {
    const eq = option.indexOf('=');
    if (eq < 0) throw new ErrInvalidOption(`vfs: unable to parse option "${option}": expected key=value`);
    const key = option.slice(0, eq).trim().toLowerCase();
    const value = option.slice(eq + 1).trim();
    switch (stripPrefix(key)) {
      case 'ignore_chown_errors':
        parsed.ignoreChownErrors = parseBool(key, value);
        break;
      case 'mountopt':
        throw new ErrInvalidOption(`vfs: driver does not support mount options (${option})`);
      default:
        throw new ErrInvalidOption(`vfs: driver does not support option "${key}"`);
    }
  }
  return parsed;
}

function stripPrefix(key: string): string {
  if (key.startsWith('vfs.')) return key.slice('vfs.'.length);
  if (key.startsWith('.')) return key.slice(1);
  return key;
}

/** The spellings Go's strconv.ParseBool accepts. */
const booleans = new Map<string, boolean>([
  ...['1', 't', 'T', 'true', 'TRUE', 'True'].map((s): [string, boolean] => [s, true]),
  ...['0', 'f', 'F', 'false', 'FALSE', 'False'].map((s): [string, boolean] => [s, false]),
]);

function parseBool(key: string, value: string): boolean {
  const b = booleans.get(value);
  if (b === undefined) throw new ErrInvalidOption(`vfs: option "${key}" wants a boolean, got "${value}"`);
  return b;
}
