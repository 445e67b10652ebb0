/**
 * containers-storage (the Go CLI, Debian's build of containers/storage) as the archive peer: a
 * private store per use, the overlay driver, and commands timed as whole processes.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { unmountUnderSync } from './cleanup.js';
import { probe, run, type RunResult } from './proc.js';
import { spawnSync } from 'node:child_process';

export const CS_BIN = '/usr/bin/containers-storage';

/**
 * Debian's build answers `version` with nothing (and would open the default store to do it), so
 * the package manager is asked instead.
 */
export function csVersion(): string | undefined {
  return probe('dpkg-query', ['-W', '-f=${Version}', 'containers-storage'])?.replace(/\+.*/, '');
}

export function csUnavailable(): string | undefined {
  if (!existsSync(CS_BIN)) return 'containers-storage is not installed (apt-get install containers-storage)';
  return undefined;
}

function storeArgs(graph: string, runRoot: string, rest: readonly string[]): string[] {
  return ['--graph', graph, '--run', runRoot, '--storage-driver', 'overlay', ...rest];
}

/** Lets go of the private bind mount the overlay driver puts on its graph dir. */
function unmountUnder(...dirs: string[]): void {
  for (const d of dirs) unmountUnderSync(d);
}

export class CsStore {
  constructor(
    readonly graph: string,
    readonly runRoot: string,
  ) {}

  cmd(...rest: string[]): Promise<RunResult> {
    return run(CS_BIN, storeArgs(this.graph, this.runRoot, rest));
  }

  async createLayer(parent?: string): Promise<string> {
    return layerId((await this.cmd('create-layer', ...(parent ? [parent] : []))).stdout);
  }

  /** The overlay driver's upper directory of a layer. */
  diffDir(layer: string): string {
    return diffDirOf(this.graph, layer);
  }

  /** Shuts the store down and unmounts it; the layers stay. */
  async release(): Promise<void> {
    await this.cmd('shutdown').catch(() => undefined);
    unmountUnder(this.graph, this.runRoot);
    rmSync(this.runRoot, { recursive: true, force: true });
  }

  async destroy(): Promise<void> {
    await this.release();
    rmSync(this.graph, { recursive: true, force: true });
  }
}

function layerId(stdout: string): string {
  const id = stdout.trim().split('\n').pop()!.trim();
  if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`containers-storage create-layer printed no layer id: ${stdout}`);
  return id;
}

function diffDirOf(graph: string, layer: string): string {
  return join(graph, 'overlay', layer, 'diff');
}

/** A fresh store in `root`, destroyed when `body` ends however it ends. */
export async function withStore<T>(root: string, body: (s: CsStore) => Promise<T>): Promise<T> {
  rmSync(root, { recursive: true, force: true });
  const store = new CsStore(join(root, 'graph'), join(root, 'run'));
  try {
    return await body(store);
  } finally {
    await store.destroy();
  }
}

/**
 * Synchronous set-up for cached datasets: a parent layer holding `lowerTree` and a child holding
 * `upperTree`, copied straight into the driver's diff dirs (what applydiff would leave there,
 * minus its time). Returns the child's id.
 */
export function buildStoreLayers(graph: string, runRoot: string, lowerTree: string, upperTree: string): { parent: string; child: string } {
  const cs = (...rest: string[]): string => {
    const r = spawnSync(CS_BIN, storeArgs(graph, runRoot, rest), { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`containers-storage ${rest.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const copy = (from: string, to: string): void => {
    const r = spawnSync('cp', ['-a', `${from}/.`, to], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cp -a ${from} ${to} failed: ${r.stderr}`);
  };
  try {
    const parent = layerId(cs('create-layer'));
    copy(lowerTree, diffDirOf(graph, parent));
    const child = layerId(cs('create-layer', parent));
    copy(upperTree, diffDirOf(graph, child));
    return { parent, child };
  } finally {
    spawnSync(CS_BIN, storeArgs(graph, runRoot, ['shutdown']));
    unmountUnder(graph, runRoot);
    rmSync(runRoot, { recursive: true, force: true });
  }
}
