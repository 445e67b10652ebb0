/**
 * Options of the overlay driver family, as containers/storage parses them: `overlay.` (or the
 * driver's own name) prefix optional, keys case-insensitive, unknown keys rejected by name.
 */
import { statSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { driverOptions, parseBoolOption } from '../../src/driver-options.js';
import { ErrInvalidOption } from '../../src/errors.js';

export interface OverlayOptions {
  /** Extra kernel mount options appended to every mount (e.g. `metacopy=on`). */
  mountOptions: string;
  ignoreChownErrors: boolean;
  skipMountHome: boolean;
  /** Permission bits forced on layer content; real values kept in user.containers.override_stat. */
  forceMask?: number;
  /** Read-only additional image stores (graph roots) searched for layers. */
  imageStores: string[];
  /** A mount program to use instead of the built-in one (fuse-overlay only). */
  mountProgram?: string;
  /** Skip the kernel version gate (the test mount still decides). */
  overrideKernelCheck: boolean;
}

function parseMask(key: string, value: string): number {
  if (value === 'shared') return 0o755;
  if (value === 'private') return 0o700;
  if (!/^[0-7]{1,4}$/.test(value)) {
    throw new ErrInvalidOption(`overlay: option ${key}: ${JSON.stringify(value)} is not an octal mode, "shared" or "private"`);
  }
  return parseInt(value, 8);
}

function parseStores(key: string, value: string): string[] {
  if (value === '') return [];
  return value.split(',').map((raw) => {
    const store = normalize(raw);
    if (!isAbsolute(store)) throw new ErrInvalidOption(`overlay: image path ${JSON.stringify(store)} is not absolute`);
    let isDir = false;
    try {
      isDir = statSync(store).isDirectory();
    } catch (err) {
      throw new ErrInvalidOption(`overlay: can't stat imageStore dir ${store}: ${(err as Error).message}`);
    }
    if (!isDir) throw new ErrInvalidOption(`overlay: option ${key}: image path ${JSON.stringify(store)} must be a directory`);
    return store;
  });
}

/**
 * Parses `key=value` driver options. `prefixes` are the accepted key prefixes, e.g.
 * ['overlay.', 'overlay2.'] for the kernel driver, plus 'fuse-overlay.' for the FUSE one.
 */
export function parseOverlayOptions(options: readonly string[], prefixes: readonly string[]): OverlayOptions {
  const out: OverlayOptions = {
    mountOptions: '',
    ignoreChownErrors: false,
    skipMountHome: false,
    imageStores: [],
    overrideKernelCheck: false,
  };
  for (const { key, rawKey, value } of driverOptions('overlay', options, prefixes)) {
    switch (key) {
      case 'override_kernel_check':
        out.overrideKernelCheck = parseBoolOption('overlay', rawKey, value);
        break;
      case 'mountopt':
        out.mountOptions = value;
        break;
      case 'imagestore':
      case 'additionalimagestore':
        out.imageStores.push(...parseStores(rawKey, value));
        break;
      case 'mount_program':
        if (value !== '') {
          try {
            statSync(value);
          } catch (err) {
            throw new ErrInvalidOption(`overlay: can't stat program ${JSON.stringify(value)}: ${(err as Error).message}`);
          }
          out.mountProgram = value;
        }
        break;
      case 'skip_mount_home':
        out.skipMountHome = parseBoolOption('overlay', rawKey, value);
        break;
      case 'ignore_chown_errors':
        out.ignoreChownErrors = parseBoolOption('overlay', rawKey, value);
        break;
      case 'force_mask':
        out.forceMask = parseMask(rawKey, value);
        break;
      default:
        throw new ErrInvalidOption(`overlay: unknown option ${rawKey}`);
    }
  }
  return out;
}
