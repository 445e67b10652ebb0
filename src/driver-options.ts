/**
 * `key=value` driver options as containers/storage passes them: keys case-insensitive, with the
 * driver's own prefix (`vfs.`, `overlay.`…), a bare `.`, or none. newDriver offers one option list
 * to every candidate, so an option carrying another driver's prefix is skipped rather than refused.
 */
import { ErrInvalidOption } from './errors.js';

export interface DriverOption {
  /** The key without its prefix, lower-cased: `ignore_chown_errors`. */
  key: string;
  /** The key as given, for messages. */
  rawKey: string;
  value: string;
}

export function driverOptions(driver: string, options: readonly string[], prefixes: readonly string[]): DriverOption[] {
  const out: DriverOption[] = [];
  for (const option of options) {
    const eq = option.indexOf('=');
    if (eq < 0) throw new ErrInvalidOption(`${driver}: unable to parse key/value option: ${option}`);
    const rawKey = option.slice(0, eq).trim();
    let key = rawKey.toLowerCase();
    const own = prefixes.find((p) => key.startsWith(p));
    if (own !== undefined) key = key.slice(own.length);
    else if (/^[a-z0-9-]+\.[a-z]/.test(key)) continue;
    out.push({ key: key.replace(/^\./, ''), rawKey, value: option.slice(eq + 1).trim() });
  }
  return out;
}

/** The spellings Go's strconv.ParseBool accepts. */
const booleans = new Map<string, boolean>([
  ...['1', 't', 'T', 'true', 'TRUE', 'True'].map((s): [string, boolean] => [s, true]),
  ...['0', 'f', 'F', 'false', 'FALSE', 'False'].map((s): [string, boolean] => [s, false]),
]);

export function parseBoolOption(driver: string, key: string, value: string): boolean {
  const b = booleans.get(value);
  if (b === undefined) throw new ErrInvalidOption(`${driver}: option ${key}: ${JSON.stringify(value)} is not a boolean`);
  return b;
}
