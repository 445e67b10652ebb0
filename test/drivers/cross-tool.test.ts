/**
 * The overlay layout is shared with Debian's containers-storage (the Go CLI, 1.43): a layer chain
 * it creates and fills from tars (whiteouts, an opaque directory, a directory re-added over its
 * whiteout) mounts through strata's `overlay` and `fuse-overlay` with the same merged tree, and a
 * chain strata's CLI creates from the same tars mounts through containers-storage the same way.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initFuseOverlay } from '../../drivers/fuse-overlay/index.js';
import { initOverlay } from '../../drivers/overlay/index.js';
import type { Driver } from '../../src/driver.js';
import { repoRoot } from '../helpers/rootless.js';
import { mountsUnder, tempDir } from '../helpers/tmp.js';
import { layerChain, layerChainPaths, makeTar } from './fixtures/layer-tars.js';
import { snapshot } from './fixtures/tree-snapshot.js';

const csBinary = '/usr/bin/containers-storage';
const strataCli = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

interface Graph {
  graph: string;
  run: string;
  env: NodeJS.ProcessEnv;
}

function newGraph(base: string, name: string): Graph {
  const graph = join(base, name, 'graph');
  const run = join(base, name, 'run');
  // An explicit storage.conf keeps the host's (if any) out of the test.
  const conf = join(base, `${name}-storage.conf`);
  writeFileSync(conf, `[storage]\ndriver = "overlay"\ngraphroot = "${graph}"\nrunroot = "${run}"\n`);
  return { graph, run, env: { ...process.env, CONTAINERS_STORAGE_CONF: conf } };
}

/** Runs a containers-storage compatible CLI (`cmd` is its argv prefix) and returns trimmed stdout. */
function cli(cmd: string[], g: Graph, args: string[]): string {
  const [bin, ...pre] = cmd;
  const r = spawnSync(bin!, [...pre, '--graph', g.graph, '--run', g.run, '--storage-driver', 'overlay', ...args], {
    encoding: 'utf8',
    env: g.env,
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`${cmd.at(-1)} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.error?.message ?? ''}`);
  return r.stdout.trim();
}

/** Creates layerChain with the given CLI; returns the top layer's ID. */
async function createChain(cmd: string[], g: Graph, base: string): Promise<string> {
  let parent: string | undefined;
  for (const [i, entries] of layerChain.entries()) {
    const tarPath = join(base, `layer${i}.tar`);
    writeFileSync(tarPath, await makeTar(entries));
    const id = cli(cmd, g, ['create-layer', ...(parent ? [parent] : [])]).split('\n').at(-1)!.trim();
    expect(id, `layer ${i} ID`).toMatch(/^[0-9a-f]{64}$/);
    cli(cmd, g, ['applydiff', '-f', tarPath, id]);
    parent = id;
  }
  return parent!;
}

/** The merged tree containers-storage mounts for `id`, unmounted again afterwards. */
function csView(g: Graph, id: string): string[] {
  const merged = cli([csBinary], g, ['mount', id]);
  try {
    return snapshot(merged);
  } finally {
    cli([csBinary], g, ['unmount', id]);
  }
}

/** `path type` of snapshot lines. */
function pathsOf(lines: string[]): string[] {
  return lines.map((l) => l.split(' ').slice(0, 2).join(' '));
}

async function strataView(driver: Driver, id: string): Promise<string[]> {
  try {
    const merged = await driver.get(id);
    try {
      return snapshot(merged);
    } finally {
      await driver.put(id);
    }
  } finally {
    await driver.cleanup();
  }
}

describe.skipIf(!existsSync(csBinary))('cross-tool: containers-storage and strata share overlay layers', () => {
  it('a chain made by containers-storage mounts through strata overlay and fuse-overlay with identical contents', async () => {
    const base = tempDir();
    const g = newGraph(base, 'cs');
    const top = await createChain([csBinary], g, base);
    const theirs = csView(g, top);
    expect(pathsOf(theirs)).toEqual([...layerChainPaths]);

    const home = join(g.graph, 'overlay');
    const kernel = await initOverlay(home, { root: g.graph, runRoot: join(base, 'strata-run') });
    expect(await strataView(kernel, top)).toEqual(theirs);
    const fuse = await initFuseOverlay(home, { root: g.graph });
    expect(await strataView(fuse, top)).toEqual(theirs);
  });

  it('a chain made by the strata CLI mounts through containers-storage with the same contents', async () => {
    const base = tempDir();
    const ours = newGraph(base, 'strata');
    const top = await createChain([process.execPath, strataCli], ours, base);
    const seenByCs = csView(ours, top);
    expect(mountsUnder(join(ours.graph, 'overlay', top))).toEqual([]);
    expect(pathsOf(seenByCs)).toEqual([...layerChainPaths]);

    // The same tars applied by containers-storage itself give the very same tree.
    const theirs = newGraph(base, 'cs');
    expect(csView(theirs, await createChain([csBinary], theirs, base))).toEqual(seenByCs);
  });
});
