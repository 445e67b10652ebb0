/**
 * storage.conf, the TOML file containers/storage reads, as strata reads it:
 *
 *   [storage]
 *   driver = "overlay"            driver_priority = ["overlay", "vfs"]
 *   graphroot = "/var/lib/strata" runroot = "/run/strata"   rootless_storage_path = "$HOME/…"
 *   [storage.options]             additionalimagestores, size, remap-uids, remap-gids, remap-user,
 *                                 remap-group, mount_program, mountopt, ignore_chown_errors,
 *                                 force_mask, skip_mount_home, pull_options, disable-volatile
 *   [storage.options.overlay]     ignore_chown_errors, mountopt, mount_program, size, inodes,
 *                                 skip_mount_home, force_mask
 *   [storage.options.vfs]         ignore_chown_errors
 *
 * Values are checked here, each error naming the file and the key.
 */
import { parse, TomlError } from 'smol-toml';
import { ErrInvalidOption } from '../errors.js';

export interface OverlayTable {
  ignore_chown_errors?: string;
  mountopt?: string;
  mount_program?: string;
  size?: string;
  inodes?: string;
  skip_mount_home?: string;
  force_mask?: string;
}

export interface OptionsTable {
  additionalimagestores: string[];
  size?: string;
  remapUIDs?: string;
  remapGIDs?: string;
  remapUser?: string;
  remapGroup?: string;
  mount_program?: string;
  mountopt?: string;
  ignore_chown_errors?: string;
  /** Octal text, as Go prints the FileMode (`%o`). */
  force_mask?: string;
  skip_mount_home?: string;
  pullOptions: Record<string, string>;
  disableVolatile: boolean;
  overlay: OverlayTable;
  vfs: { ignore_chown_errors?: string };
}

export interface StorageConf {
  driver?: string;
  driverPriority?: string[];
  graphRoot?: string;
  runRoot?: string;
  rootlessStoragePath?: string;
  options: OptionsTable;
  /** Keys the file has that strata does not know (reported, not fatal, as in Go). */
  unknownKeys: string[];
}

type Table = Record<string, unknown>;

const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

class Reader {
  readonly unknown: string[] = [];
  constructor(readonly file: string) {}

  bad(key: string, want: string, v: unknown): never {
    throw new ErrInvalidOption(`${this.file}: ${key} must be ${want}, not ${JSON.stringify(v)}`);
  }

  table(t: Table, key: string, path: string): Table {
    const v = t[key];
    if (v === undefined) return {};
    return isTable(v) ? v : this.bad(`${path}${key}`, 'a table', v);
  }

  text(t: Table, key: string, path: string): string | undefined {
    const v = t[key];
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : this.bad(`${path}${key}`, 'a string', v);
  }

  /** A driver option value: a string, or a boolean or number written as text (`true`, `1`). */
  scalar(t: Table, key: string, path: string): string | undefined {
    const v = t[key];
    if (typeof v === 'boolean' || typeof v === 'number') return String(v);
    return this.text(t, key, path);
  }

  strings(t: Table, key: string, path: string): string[] | undefined {
    const v = t[key];
    if (v === undefined) return undefined;
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
    return this.bad(`${path}${key}`, 'a list of strings', v);
  }

  flag(t: Table, key: string, path: string): boolean {
    const v = t[key];
    if (v === undefined) return false;
    return typeof v === 'boolean' ? v : this.bad(`${path}${key}`, 'true or false', v);
  }

  /** Records keys of `t` not in `known`, for the warning Go prints about undecoded keys. */
  rest(t: Table, known: readonly string[], path: string): void {
    for (const k of Object.keys(t)) if (!known.includes(k)) this.unknown.push(`${path}${k}`);
  }
}

/** force_mask in [storage.options] is a FileMode: an integer (octal in TOML: 0o700) or octal text. */
function forceMask(r: Reader, t: Table, path: string): string | undefined {
  const v = t.force_mask;
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v === 0 ? undefined : v.toString(8);
  if (typeof v === 'string') return v;
  return r.bad(`${path}force_mask`, 'an octal mode', v);
}

export function parseStorageConf(text: string, file: string): StorageConf {
  let doc: Table;
  try {
    doc = parse(text) as Table;
  } catch (err) {
    if (err instanceof TomlError) {
      throw new ErrInvalidOption(`${file}:${err.line}:${err.column}: ${err.message.split('\n')[0]}`, { cause: err });
    }
    throw err;
  }
  const r = new Reader(file);
  r.rest(doc, ['storage'], '');
  const storage = r.table(doc, 'storage', '');
  const opts = r.table(storage, 'options', 'storage.');
  const overlay = r.table(opts, 'overlay', 'storage.options.');
  const vfs = r.table(opts, 'vfs', 'storage.options.');
  const o = 'storage.options.';
  const ov = 'storage.options.overlay.';
  r.rest(storage, ['driver', 'driver_priority', 'graphroot', 'runroot', 'rootless_storage_path', 'options'], 'storage.');
  const optionKeys = [
    'additionalimagestores', 'size', 'remap-uids', 'remap-gids', 'remap-user', 'remap-group', 'mount_program',
    'mountopt', 'ignore_chown_errors', 'force_mask', 'skip_mount_home', 'pull_options', 'disable-volatile',
    'overlay', 'vfs', 'aufs', 'btrfs', 'thinpool', 'zfs', 'additionallayerstores', 'root-auto-userns-user',
    'auto-userns-min-size', 'auto-userns-max-size',
  ];
  r.rest(opts, optionKeys, o);
  const overlayKeys = ['ignore_chown_errors', 'mountopt', 'mount_program', 'size', 'inodes', 'skip_mount_home', 'force_mask'];
  r.rest(overlay, overlayKeys, ov);
  r.rest(vfs, ['ignore_chown_errors'], 'storage.options.vfs.');
  const pull = r.table(opts, 'pull_options', o);
  const pullOptions: Record<string, string> = {};
  for (const k of Object.keys(pull)) pullOptions[k] = r.scalar(pull, k, `${o}pull_options.`) as string;

  const overlayTable: OverlayTable = {};
  for (const k of overlayKeys) {
    const v = r.scalar(overlay, k, ov);
    if (v !== undefined) overlayTable[k as keyof OverlayTable] = v;
  }
  return {
    driver: r.text(storage, 'driver', 'storage.'),
    driverPriority: r.strings(storage, 'driver_priority', 'storage.'),
    graphRoot: r.text(storage, 'graphroot', 'storage.'),
    runRoot: r.text(storage, 'runroot', 'storage.'),
    rootlessStoragePath: r.text(storage, 'rootless_storage_path', 'storage.'),
    options: {
      additionalimagestores: r.strings(opts, 'additionalimagestores', o) ?? [],
      size: r.scalar(opts, 'size', o),
      remapUIDs: r.text(opts, 'remap-uids', o),
      remapGIDs: r.text(opts, 'remap-gids', o),
      remapUser: r.text(opts, 'remap-user', o),
      remapGroup: r.text(opts, 'remap-group', o),
      mount_program: r.scalar(opts, 'mount_program', o),
      mountopt: r.scalar(opts, 'mountopt', o),
      ignore_chown_errors: r.scalar(opts, 'ignore_chown_errors', o),
      force_mask: forceMask(r, opts, o),
      skip_mount_home: r.scalar(opts, 'skip_mount_home', o),
      pullOptions,
      disableVolatile: r.flag(opts, 'disable-volatile', o),
      overlay: overlayTable,
      vfs: { ignore_chown_errors: r.scalar(vfs, 'ignore_chown_errors', 'storage.options.vfs.') },
    },
    unknownKeys: r.unknown,
  };
}
