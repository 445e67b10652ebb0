/**
 * The `strata-fuse` command line: `[SOURCE] MOUNTPOINT -o OPT[,OPT…] [-f] [-d]`, in any order, as
 * mount.fuse (SOURCE first), podman (`-o … MERGED`, relative lowers, empty options) and people write it.
 * Option names and meanings follow fuse-overlayfs so strata-fuse can stand in for it.
 */
import { resolve } from 'node:path';
import { ErrInvalidOption } from '../errors.js';
import { parseIdMappings, type IdMapping } from './mapping.js';

/** Which xattr carries the uid:gid:mode override (fuse-overlayfs's xattr_permissions). */
export type XattrPermissions = 0 | 1 | 2;

export interface OverlayConfig {
  /** Lower directories, top first, absolute. */
  lowerdirs: string[];
  upperdir?: string;
  workdir?: string;
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
  squashToRoot: boolean;
  squashToUid?: number;
  squashToGid?: number;
  xattrPermissions: XattrPermissions;
  staticNlink: boolean;
  noacl: boolean;
  /** False with fsync=0 or volatile: fsync requests return at once. */
  fsync: boolean;
  /** Kernel entry cache lifetime in seconds; we are the only writer, so it can be long. */
  timeout: number;
  /** Kernel attribute cache lifetime (attr_timeout=); by default the timeout (hardlinked files: see fuse-ops.ts). */
  attrTimeout?: number;
  readOnly: boolean;
  allowOther: boolean;
  defaultPermissions: boolean;
  context?: string;
  debug: boolean;
  /** Options handed to the kernel as they are (suid, nodev, noatime, …). */
  kernelOptions: string[];
}

export interface CommandLine {
  source?: string;
  mountpoint: string;
  foreground: boolean;
  config: OverlayConfig;
  /** Unknown options and arguments, ignored with a warning as fuse-overlayfs does. */
  warnings: string[];
}

/** Matches fuse-overlayfs: the kernel may cache entries and attributes "forever" because we are the only writer. */
export const DEFAULT_TIMEOUT_SECONDS = 1_000_000_000;

/** Mount flags libfuse2 passes on to the kernel (or to itself); passed through untouched. */
const KERNEL_FLAGS = new Set([
  'rw', 'suid', 'nosuid', 'dev', 'nodev', 'exec', 'noexec', 'atime', 'noatime', 'sync', 'async', 'dirsync',
  'allow_root', 'kernel_cache', 'auto_cache',
]);

/** Options accepted for compatibility (fuse-overlayfs's, mount(8)'s) that change nothing here. */
const IGNORED = new Set([
  'lazytime', 'nolazytime', 'relatime', 'norelatime', 'strictatime', 'diratime', 'nodiratime', 'fast_ino',
  'fast_ino_check', 'threaded', 'writeback', 'plugins', 'xino', 'redirect_dir', 'metacopy', 'index',
  'userxattr', 'auto_unmount', 'big_writes', 'max_write', 'splice_read', 'splice_write', 'splice_move',
  'noxattrs', 'ino32_t', 'defaults', 'nofail', '_netdev', 'user', 'nouser', 'users', 'noauto', 'auto',
]);

export function defaultConfig(): OverlayConfig {
  return {
    lowerdirs: [],
    uidMappings: [],
    gidMappings: [],
    squashToRoot: false,
    xattrPermissions: 0,
    staticNlink: false,
    noacl: false,
    fsync: true,
    timeout: DEFAULT_TIMEOUT_SECONDS,
    readOnly: false,
    allowOther: false,
    defaultPermissions: true,
    debug: false,
    kernelOptions: [],
  };
}

/** Splits on `sep` where it is not escaped by a backslash; escapes are kept for the caller to undo. */
export function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1]!;
      i++;
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

/** Undoes backslash escapes (`\:` → `:`, `\,` → `,`, `\\` → `\`). */
export function unescape(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

/** `lowerdir=A:B` → absolute paths, top first; `\:` keeps a colon inside a name. */
export function parseLowerdirs(value: string, cwd: string): string[] {
  return splitUnescaped(value, ':')
    .filter((p) => p !== '')
    .map((p) => resolve(cwd, unescape(p)));
}

function parseId(name: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new ErrInvalidOption(`strata-fuse: invalid ${name} value "${value}": not a number`);
  return Number(value);
}

function applyOption(cfg: OverlayConfig, opt: string, cwd: string, warnings: string[]): void {
  const eq = opt.indexOf('=');
  const key = eq < 0 ? opt : opt.slice(0, eq);
  const value = eq < 0 ? undefined : opt.slice(eq + 1);
  const need = (): string => {
    if (value === undefined || value === '') throw new ErrInvalidOption(`strata-fuse: option ${key} needs a value`);
    return value;
  };
  switch (key) {
    case 'lowerdir': cfg.lowerdirs = parseLowerdirs(need(), cwd); return;
    case 'upperdir': cfg.upperdir = resolve(cwd, unescape(need())); return;
    case 'workdir': cfg.workdir = resolve(cwd, unescape(need())); return;
    case 'uidmapping': cfg.uidMappings = parseIdMappings(need()); return;
    case 'gidmapping': cfg.gidMappings = parseIdMappings(need()); return;
    case 'squash_to_root': cfg.squashToRoot = true; return;
    case 'squash_to_uid': cfg.squashToUid = parseId(key, need()); return;
    case 'squash_to_gid': cfg.squashToGid = parseId(key, need()); return;
    case 'xattr_permissions': {
      const v = need();
      if (v !== '0' && v !== '1' && v !== '2') throw new ErrInvalidOption(`strata-fuse: xattr_permissions must be 0, 1 or 2, not "${v}"`);
      cfg.xattrPermissions = Number(v) as XattrPermissions;
      return;
    }
    case 'static_nlink': cfg.staticNlink = true; return;
    case 'noacl': cfg.noacl = true; return;
    case 'fsync': {
      const v = need();
      if (v !== '0' && v !== '1') throw new ErrInvalidOption(`strata-fuse: fsync must be 0 or 1, not "${v}"`);
      cfg.fsync = v === '1';
      return;
    }
    case 'volatile': cfg.fsync = false; return;
    case 'timeout': {
      const t = Number(need());
      if (!Number.isFinite(t) || t < 0) throw new ErrInvalidOption(`strata-fuse: invalid timeout "${value}"`);
      cfg.timeout = t;
      return;
    }
    case 'attr_timeout': {
      const t = Number(need());
      if (!Number.isFinite(t) || t < 0) throw new ErrInvalidOption(`strata-fuse: invalid attr_timeout "${value}"`);
      cfg.attrTimeout = t;
      return;
    }
    case 'ro': cfg.readOnly = true; return;
    case 'allow_other': cfg.allowOther = true; return;
    case 'default_permissions': cfg.defaultPermissions = true; return;
    case 'context': cfg.context = need(); return;
    case 'debug': cfg.debug = true; return;
    default:
      if (KERNEL_FLAGS.has(key) && value === undefined) {
        if (!cfg.kernelOptions.includes(key)) cfg.kernelOptions.push(key);
      } else if (!IGNORED.has(key)) {
        warnings.push(`unknown argument ignored: ${opt}`);
      }
  }
}

/** Applies one `-o` argument: comma-separated, empty items skipped, `\,` escapes a comma. */
export function applyOptionString(cfg: OverlayConfig, opts: string, cwd: string, warnings: string[]): void {
  for (const opt of splitUnescaped(opts, ',')) {
    if (opt !== '') applyOption(cfg, opt, cwd, warnings);
  }
}

/** Parses argv (without node and script). Throws ErrInvalidOption naming the bad argument. */
export function parseCommandLine(argv: readonly string[], cwd = process.cwd()): CommandLine {
  const config = defaultConfig();
  const warnings: string[] = [];
  const positional: string[] = [];
  let foreground = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-o') {
      const next = argv[++i];
      if (next === undefined) throw new ErrInvalidOption('strata-fuse: -o needs an argument');
      applyOptionString(config, next, cwd, warnings);
    } else if (arg.startsWith('-o')) {
      applyOptionString(config, arg.slice(2), cwd, warnings);
    } else if (arg === '-f') {
      foreground = true;
    } else if (arg === '-d' || arg === '--debug') {
      foreground = true;
      config.debug = true;
    } else if (arg.startsWith('-') && arg !== '-') {
      warnings.push(`unknown argument ignored: ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length === 0) throw new ErrInvalidOption('strata-fuse: no mount point given');
  if (positional.length > 2) {
    throw new ErrInvalidOption(`strata-fuse: too many arguments: ${positional.join(' ')} (expected [SOURCE] MOUNTPOINT)`);
  }
  const mountpoint = resolve(cwd, positional[positional.length - 1]!);
  const source = positional.length === 2 ? positional[0] : undefined;
  validate(config);
  return { source, mountpoint, foreground, config, warnings };
}

/** Checks the combinations fuse-overlayfs refuses. */
export function validate(cfg: OverlayConfig): void {
  if (cfg.lowerdirs.length === 0) throw new ErrInvalidOption('strata-fuse: no lowerdir specified');
  if (cfg.upperdir !== undefined && cfg.workdir === undefined) {
    throw new ErrInvalidOption(`strata-fuse: upperdir ${cfg.upperdir} given without workdir`);
  }
  if (cfg.upperdir === undefined) cfg.readOnly = true;
}
