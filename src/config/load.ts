/**
 * Where storage.conf is looked for, the default roots, and the environment overrides
 * (`STORAGE_DRIVER`, `STORAGE_OPTS`) applied as containers/storage applies them.
 *
 *   1. $STRATA_STORAGE_CONF (must exist when set)
 *   2. non-root: $XDG_CONFIG_HOME/strata/storage.conf, else ~/.config/strata/storage.conf
 *   3. /etc/strata/storage.conf
 *
 * Roots default to /var/lib/strata and /run/strata for root; for other users to
 * $XDG_DATA_HOME/strata (~/.local/share/strata) and $XDG_RUNTIME_DIR/strata. A non-root user
 * reading the system file keeps their own roots (or its rootless_storage_path), as in Go.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ErrInvalidOption } from '../errors.js';
import { parseIDMap, subIDMappings } from '../store/idmap.js';
import type { IDMap } from '../store/types.js';
import { driverOptionStrings } from './driver-options.js';
import { parseStorageConf } from './storage-conf.js';

export interface ConfigEnv {
  env: Record<string, string | undefined>;
  uid: number;
  home: string;
  user: string;
  tmpdir: string;
  /** The system-wide file (default /etc/strata/storage.conf). */
  systemConfig: string;
}

export interface StorageConfig {
  /** '' lets the store choose by priority, as containers/storage does without a driver. */
  driver: string;
  driverPriority: string[];
  graphRoot: string;
  runRoot: string;
  driverOptions: string[];
  uidMap: IDMap[];
  gidMap: IDMap[];
  pullOptions: Record<string, string>;
  disableVolatile: boolean;
  /** The file read, if any. */
  file: string | undefined;
  /** Keys in that file strata ignored. */
  unknownKeys: string[];
}

export const SYSTEM_CONFIG = '/etc/strata/storage.conf';

export function processConfigEnv(): ConfigEnv {
  let user = process.env.USER ?? '';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a bare UID in a container): keep $USER.
  }
  return {
    env: process.env,
    uid: process.geteuid?.() ?? 0,
    home: process.env.HOME ?? homedir(),
    user,
    tmpdir: tmpdir(),
    systemConfig: SYSTEM_CONFIG,
  };
}

const nonEmpty = (v: string | undefined): v is string => v !== undefined && v !== '';

/** The config file to read, or undefined when there is none. */
export function findConfigFile(ctx: ConfigEnv): string | undefined {
  const explicit = ctx.env.STRATA_STORAGE_CONF;
  if (nonEmpty(explicit)) {
    if (!existsSync(explicit)) throw new ErrInvalidOption(`STRATA_STORAGE_CONF names ${explicit}, which does not exist`);
    return explicit;
  }
  if (ctx.uid !== 0) {
    const base = nonEmpty(ctx.env.XDG_CONFIG_HOME) ? ctx.env.XDG_CONFIG_HOME : join(ctx.home, '.config');
    const user = join(base, 'strata', 'storage.conf');
    if (existsSync(user)) return user;
  }
  return existsSync(ctx.systemConfig) ? ctx.systemConfig : undefined;
}

export function defaultRoots(ctx: ConfigEnv): { graphRoot: string; runRoot: string } {
  if (ctx.uid === 0) return { graphRoot: '/var/lib/strata', runRoot: '/run/strata' };
  const data = nonEmpty(ctx.env.XDG_DATA_HOME) ? ctx.env.XDG_DATA_HOME : join(ctx.home, '.local', 'share');
  const run = nonEmpty(ctx.env.XDG_RUNTIME_DIR)
    ? join(ctx.env.XDG_RUNTIME_DIR, 'strata')
    : join(ctx.tmpdir, `strata-run-${ctx.uid}`);
  return { graphRoot: join(data, 'strata'), runRoot: run };
}

/** $VAR and ${VAR} from the environment, plus $UID and $HOME, as Go's expandEnvPath. */
export function expandPath(path: string, ctx: ConfigEnv): string {
  const vars: Record<string, string | undefined> = { ...ctx.env, UID: String(ctx.uid), HOME: ctx.home };
  return path.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_, a?: string, b?: string) => {
    return vars[(a ?? b) as string] ?? '';
  });
}

/** Reads the configuration: file, then environment overrides, then path expansion. */
export function loadStorageConfig(ctx: ConfigEnv = processConfigEnv()): StorageConfig {
  const file = findConfigFile(ctx);
  const roots = defaultRoots(ctx);
  const config: StorageConfig = {
    driver: '',
    driverPriority: [],
    ...roots,
    driverOptions: [],
    uidMap: [],
    gidMap: [],
    pullOptions: {},
    disableVolatile: false,
    file,
    unknownKeys: [],
  };
  const conf = file === undefined ? undefined : parseStorageConf(readFileSync(file, 'utf8'), file);
  if (conf !== undefined) {
    config.unknownKeys = conf.unknownKeys;
    config.driver = conf.driver ?? '';
    config.driverPriority = conf.driverPriority ?? [];
    // A user reading the system file must not take over root's directories.
    const ownFile = ctx.uid === 0 || file !== ctx.systemConfig;
    if (ownFile) {
      if (nonEmpty(conf.graphRoot)) config.graphRoot = conf.graphRoot;
      if (nonEmpty(conf.runRoot)) config.runRoot = conf.runRoot;
    } else if (nonEmpty(conf.rootlessStoragePath)) {
      config.graphRoot = conf.rootlessStoragePath;
    }
    const o = conf.options;
    config.pullOptions = o.pullOptions;
    config.disableVolatile = o.disableVolatile;
    if (nonEmpty(o.remapUser) || nonEmpty(o.remapGroup)) {
      const ids = subIDMappings(o.remapUser || (o.remapGroup as string), o.remapGroup || (o.remapUser as string));
      config.uidMap = ids.uidMap;
      config.gidMap = ids.gidMap;
    }
    if (nonEmpty(o.remapUIDs)) config.uidMap = parseIDMap([o.remapUIDs], 'remap-uids');
    if (nonEmpty(o.remapGIDs)) config.gidMap = parseIDMap([o.remapGIDs], 'remap-gids');
  }
  if (nonEmpty(ctx.env.STORAGE_DRIVER)) config.driver = ctx.env.STORAGE_DRIVER;
  // overlay2 is Docker's name for the same driver.
  if (config.driver === 'overlay2') config.driver = 'overlay';
  if (conf !== undefined) config.driverOptions = driverOptionStrings(config.driver, conf.options);
  const envOpts = ctx.env.STORAGE_OPTS;
  if (envOpts !== undefined) config.driverOptions = envOpts === '' ? [] : envOpts.split(',');
  config.graphRoot = expandPath(config.graphRoot, ctx);
  config.runRoot = expandPath(config.runRoot, ctx);
  return config;
}
