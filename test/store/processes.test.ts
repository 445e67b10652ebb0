import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/drivers.js';
import { Store } from '../../src/store/store.js';
import { repoRoot } from '../helpers/rootless.js';
import { tempDir } from '../helpers/tmp.js';

function runFixture(name: string, args: string[]): { done: Promise<{ code: number | null; stdout: string; stderr: string }>; kill: () => void; ready: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/store/fixtures', name), ...args], { cwd: repoRoot });
  let stdout = '';
  let stderr = '';
  let signalReady!: () => void;
  const ready = new Promise<void>((r) => (signalReady = r));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes('READY\n')) signalReady();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { done, ready, kill: () => child.kill('SIGKILL') };
}

describe('store shared by processes', () => {
  it('loses no layer or name when several processes create layers at once', async () => {
    const dir = tempDir();
    const graph = join(dir, 'g');
    const run = join(dir, 'r');
    const workers = 3;
    const each = 6;
    const results = await Promise.all(
      Array.from({ length: workers }, (_, w) => runFixture('create-many.ts', [graph, run, `w${w}`, String(each)]).done),
    );
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const reported = results.flatMap((r) => r.stdout.trim().split('\n'));
    const store = await Store.open({ graphRoot: graph, runRoot: run, driver: 'vfs' });
    const layers = await store.layers();
    // Every layer a process created is recorded; exactly one process got "contested".
    expect(layers.map((l) => l.id).sort()).toEqual([...reported].sort());
    expect(layers).toHaveLength(workers * each + 1);
    const names = layers.flatMap((l) => l.names);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((n) => n === 'contested')).toHaveLength(1);
    for (let w = 0; w < workers; w++) for (let i = 0; i < each; i++) expect(names).toContain(`w${w}-${i}`);
    // Driver and records agree.
    expect(readdirSync(join(graph, 'vfs', 'dir')).sort()).toEqual(layers.map((l) => l.id).sort());
  }, 60_000);

  it('removes a layer whose creator was killed (kill -9) in the middle of putLayer', async () => {
    const dir = tempDir();
    const graph = join(dir, 'g');
    const run = join(dir, 'r');
    const id = 'a'.repeat(64);
    const child = runFixture('put-and-hang.ts', [graph, run, id]);
    await child.ready;
    child.kill();
    await child.done;

    // The dead process left its record, marked incomplete, and its half-made layer.
    const left = JSON.parse(readFileSync(join(graph, 'vfs-layers', 'layers.json'), 'utf8')) as Array<{
      id: string;
      flags?: Record<string, unknown>;
    }>;
    expect(left).toEqual([expect.objectContaining({ id, flags: { incomplete: true } })]);
    expect(existsSync(join(graph, 'vfs', 'dir', id))).toBe(true);

    // The next user of the store waits out the dead holder's lock and cleans up.
    const store = await Store.open({ graphRoot: graph, runRoot: run, driver: 'vfs', lock: { staleMs: 2000 } });
    expect(await store.layers()).toEqual([]);
    expect(existsSync(join(graph, 'vfs', 'dir', id))).toBe(false);
    expect(JSON.parse(readFileSync(join(graph, 'vfs-layers', 'layers.json'), 'utf8'))).toEqual([]);
    // The name the dead process claimed is free.
    await store.createLayer({ names: ['half'] });
  }, 60_000);

  it('sees what another Store object saved', async () => {
    const dir = tempDir();
    const opts = { graphRoot: join(dir, 'g'), runRoot: join(dir, 'r'), driver: 'vfs' };
    const a = await Store.open(opts);
    const b = await Store.open(opts);
    expect(await b.layers()).toEqual([]);
    const layer = await a.createLayer({ names: ['x'] });
    expect((await b.layer('x')).id).toBe(layer.id);
    await b.setNames(layer.id, ['y']);
    expect(await a.names(layer.id)).toEqual(['y']);
  });

  it('garbage collection removes driver layers and data no record refers to', async () => {
    const dir = tempDir();
    const opts = { graphRoot: join(dir, 'g'), runRoot: join(dir, 'r'), driver: 'vfs' };
    const store = await Store.open(opts);
    const kept = await store.createLayer();
    await store.driver.create('stray', '');
    const image = await store.createImage({});
    await store.setImageBigData(image.id, 'x', Buffer.from('1'));
    await store.delete(image.id);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(opts.graphRoot, 'vfs-images', 'orphan'));
    await store.garbageCollect();
    expect(readdirSync(join(opts.graphRoot, 'vfs', 'dir'))).toEqual([kept.id]);
    expect(existsSync(join(opts.graphRoot, 'vfs-images', 'orphan'))).toBe(false);
    expect(existsSync(join(opts.graphRoot, 'vfs-images', 'images.json'))).toBe(true);
  });
});
