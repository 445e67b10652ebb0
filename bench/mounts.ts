/**
 * The three overlays under test, behind one interface: strata-fuse (our FUSE overlay), fuse-overlayfs
 * and the kernel's overlay. Each mount is timed from spawn to "live" (the command returned and the
 * kernel lists the mount point) and tracked for cleanup.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { trackMount, trackPid, untrackMount, untrackPid, isMounted } from './cleanup.js';
import { run, sleep } from './proc.js';
import { REPO_ROOT } from './paths.js';
import { serverMain } from '../src/fuse/launch.js';

export const MOUNT_IMPLS = ['strata-fuse', 'fuse-overlayfs', 'kernel'] as const;
export type MountImpl = (typeof MOUNT_IMPLS)[number];

/** strata-fuse's server as built (the bundle unless a later `tsc` left it stale). */
export const STRATA_FUSE_MAIN = serverMain(REPO_ROOT);

/** The strata-fuse program mounts run; a snapshot of dist/ once `snapshotStrataFuse` ran. */
let strataFuseMain = STRATA_FUSE_MAIN;

/**
 * Copies dist/ to `dir` (with package.json, node_modules and native/ linked back) and runs
 * strata-fuse from there, so a rebuild of dist/ during a long run cannot swap or break the
 * program half-way through. Returns false when there is no build to copy.
 */
export function snapshotStrataFuse(dir: string): boolean {
  if (!existsSync(STRATA_FUSE_MAIN)) return false;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(REPO_ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  for (const name of ['package.json', 'node_modules', 'native']) symlinkSync(join(REPO_ROOT, name), join(dir, name));
  strataFuseMain = join(dir, relative(REPO_ROOT, STRATA_FUSE_MAIN));
  return true;
}

export interface MountSpec {
  /** Top layer first, as overlay's lowerdir= lists them. */
  lowers: readonly string[];
  upper: string;
  work: string;
  mountpoint: string;
}

/**
 * How a profiled strata-fuse is started: 'daemon' as usual, with the profiling flags for its
 * daemon; 'foreground' runs `node --cpu-prof main.js -f` and waits for the mount itself.
 */
export interface ProfileRequest {
  dir: string;
  mode: 'daemon' | 'foreground';
}

export interface Mounted {
  impl: MountImpl;
  mountpoint: string;
  /** The process serving a FUSE mount (for RSS sampling); undefined for the kernel. */
  pid?: number;
  /** Spawn to live, in milliseconds. */
  mountMs: number;
  unmount(): Promise<void>;
}

/** Keeps the option string under the kernel's one-page limit for 128 lowers: relative names plus cwd. */
function layerArgs(spec: MountSpec): { cwd?: string; lowerdir: string } {
  const absolute = spec.lowers.join(':');
  if (absolute.length < 3000) return { lowerdir: absolute };
  const cwd = dirname(spec.lowers[0]!);
  return { cwd, lowerdir: spec.lowers.map((l) => relative(cwd, l)).join(':') };
}

function optionString(spec: MountSpec, lowerdir: string): string {
  return `lowerdir=${lowerdir},upperdir=${spec.upper},workdir=${spec.work}`;
}

/** The live process whose arguments name this mount point (the daemon a FUSE mount forked into). */
export function findServer(mountpoint: string): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv.includes(mountpoint)) return Number(name);
    } catch {
      // exited while we looked
    }
  }
  return undefined;
}

/** Running, as opposed to gone or a zombie (an exited daemon waits for init to reap it, here up to seconds). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(2);
  }
}

async function unmountFuse(mountpoint: string, pid: number | undefined): Promise<void> {
  if (isMounted(mountpoint)) {
    try {
      await run('fusermount3', ['-u', mountpoint]);
    } catch {
      await run('umount', ['-l', mountpoint]);
    }
  }
  untrackMount(mountpoint);
  if (pid === undefined) return;
  // The daemon writes its CPU profile on exit, and a lingering one would skew the next run.
  try {
    await waitFor(() => !alive(pid), 15_000, `FUSE server ${pid} to exit after unmount of ${mountpoint}`);
  } catch {
    process.kill(pid, 'SIGINT');
    await waitFor(() => !alive(pid), 5_000, `FUSE server ${pid} to exit on SIGINT`).catch(() => process.kill(pid, 'SIGKILL'));
  }
  untrackPid(pid);
}

async function mountDaemon(impl: MountImpl, cmd: string, args: string[], spec: MountSpec, cwd: string | undefined, env?: NodeJS.ProcessEnv): Promise<Mounted> {
  const start = process.hrtime.bigint();
  trackMount(spec.mountpoint);
  await run(cmd, args, { cwd, env, timeoutMs: 120_000 });
  await waitFor(() => isMounted(spec.mountpoint), 30_000, `${impl} mount at ${spec.mountpoint}`);
  const mountMs = Number(process.hrtime.bigint() - start) / 1e6;
  const pid = findServer(spec.mountpoint);
  if (pid !== undefined) trackPid(pid);
  return { impl, mountpoint: spec.mountpoint, pid, mountMs, unmount: () => unmountFuse(spec.mountpoint, pid) };
}

/** `node --cpu-prof main.js -f …` in the foreground: live once the kernel lists the mount. */
async function mountForeground(spec: MountSpec, cwd: string | undefined, args: string[], profileDir: string): Promise<Mounted> {
  const start = process.hrtime.bigint();
  trackMount(spec.mountpoint);
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, strataFuseMain, '-f', ...args], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  const pid = child.pid!;
  trackPid(pid);
  await waitFor(() => isMounted(spec.mountpoint) || exited, 60_000, `strata-fuse -f at ${spec.mountpoint}`);
  if (!isMounted(spec.mountpoint)) throw new Error(`strata-fuse -f exited before mounting ${spec.mountpoint}: ${stderr.trim()}`);
  const mountMs = Number(process.hrtime.bigint() - start) / 1e6;
  return { impl: 'strata-fuse', mountpoint: spec.mountpoint, pid, mountMs, unmount: () => unmountFuse(spec.mountpoint, pid) };
}

export async function mount(impl: MountImpl, spec: MountSpec, profile?: ProfileRequest): Promise<Mounted> {
  for (const d of [spec.upper, spec.work, spec.mountpoint]) mkdirSync(d, { recursive: true });
  const { cwd, lowerdir } = layerArgs(spec);
  const opts = optionString(spec, lowerdir);
  switch (impl) {
    case 'kernel': {
      const start = process.hrtime.bigint();
      trackMount(spec.mountpoint);
      await run('mount', ['-t', 'overlay', 'overlay', '-o', opts, spec.mountpoint], { cwd });
      const mountMs = Number(process.hrtime.bigint() - start) / 1e6;
      const unmount = async (): Promise<void> => {
        if (isMounted(spec.mountpoint)) await run('umount', [spec.mountpoint]).catch(() => run('umount', ['-l', spec.mountpoint]));
        untrackMount(spec.mountpoint);
      };
      return { impl, mountpoint: spec.mountpoint, mountMs, unmount };
    }
    case 'fuse-overlayfs':
      return mountDaemon(impl, 'fuse-overlayfs', ['-o', opts, spec.mountpoint], spec, cwd);
    case 'strata-fuse': {
      if (profile?.mode === 'foreground') return mountForeground(spec, cwd, ['-o', opts, spec.mountpoint], profile.dir);
      // The installed command: bin/strata-fuse starts the server with this Node. Node refuses
      // --cpu-prof in NODE_OPTIONS; the launcher passes STRATA_FUSE_NODE_OPTIONS on its command line.
      const env: NodeJS.ProcessEnv = { ...process.env, STRATA_FUSE_NODE: process.execPath, STRATA_FUSE_MAIN: strataFuseMain };
      if (profile) env.STRATA_FUSE_NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${profile.dir}`;
      return mountDaemon(impl, join(REPO_ROOT, 'bin', 'strata-fuse'), ['-o', opts, spec.mountpoint], spec, cwd, env);
    }
  }
}

/**
 * Why an overlay cannot be benchmarked here, or undefined when it can: each is tried on a tiny
 * two-layer tree, and must show the top layer's file, so a half-working build counts as missing.
 */
export async function probeMount(impl: MountImpl, scratch: string): Promise<string | undefined> {
  if (impl === 'strata-fuse' && !existsSync(strataFuseMain)) return `${relative(REPO_ROOT, STRATA_FUSE_MAIN)} is not built (npm run build:ts && npm run build:bundle)`;
  if (impl === 'fuse-overlayfs' && !existsSync('/usr/bin/fuse-overlayfs')) return 'fuse-overlayfs is not installed (apt-get install fuse-overlayfs)';
  const base = join(scratch, `probe-${impl}`);
  const spec: MountSpec = { lowers: [join(base, 'l1'), join(base, 'l0')], upper: join(base, 'u'), work: join(base, 'w'), mountpoint: join(base, 'm') };
  for (const l of spec.lowers) mkdirSync(l, { recursive: true });
  writeFileSync(join(spec.lowers[1]!, 'f'), 'bottom');
  writeFileSync(join(spec.lowers[0]!, 'f'), 'top');
  let m: Mounted | undefined;
  try {
    m = await mount(impl, spec);
    const seen = readFileSync(join(spec.mountpoint, 'f'), 'utf8');
    if (seen !== 'top') return `probe mount shows "${seen}" instead of the top layer's "top"`;
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  } finally {
    await m?.unmount().catch(() => undefined);
  }
}
