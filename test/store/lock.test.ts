import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { layerCodec } from '../../src/store/codec.js';
import { StoreLock } from '../../src/store/lock.js';
import { RecordFile } from '../../src/store/record-file.js';
import type { Layer } from '../../src/store/types.js';
import { repoRoot } from '../helpers/rootless.js';
import { tempDir } from '../helpers/tmp.js';

function run(file: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: repoRoot });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('store lock and record files', () => {
  it('loses no record when several processes write at once', async () => {
    const dir = tempDir();
    const workers = 4;
    const each = 15;
    const fixture = join(repoRoot, 'test/store/fixtures/record-writer.ts');
    const results = await Promise.all(
      Array.from({ length: workers }, (_, w) => run(fixture, [dir, `w${w}`, String(each)])),
    );
    for (const r of results) expect(r.stderr).toBe('');
    expect(results.map((r) => r.code)).toEqual(Array(workers).fill(0));

    const records = JSON.parse(readFileSync(join(dir, 'layers.json'), 'utf8')) as Array<{ id: string; names?: string[] }>;
    expect(records).toHaveLength(workers * each);
    expect(new Set(records.map((r) => r.id)).size).toBe(workers * each);
    // Every name stays unique: "shared" ended on exactly one record.
    const allNames = records.flatMap((r) => r.names ?? []);
    expect(new Set(allNames).size).toBe(allNames.length);
    expect(allNames.filter((n) => n === 'shared')).toHaveLength(1);
  }, 60_000);

  it('notices another writer and reloads', async () => {
    const dir = tempDir();
    const lockA = new StoreLock(join(dir, 'layers.lock'));
    const lockB = new StoreLock(join(dir, 'layers.lock'));
    const a = new RecordFile<Layer>('layer', join(dir, 'layers.json'), lockA, layerCodec);
    const b = new RecordFile<Layer>('layer', join(dir, 'layers.json'), lockB, layerCodec);
    let held = await lockA.acquire();
    await a.load();
    a.add(layerCodec.decode({ id: 'one' }, 'x', 0).rec);
    await a.save(held);
    await held.release();

    held = await lockB.acquire();
    expect(await b.changed()).toBe(true);
    await b.load();
    expect(b.records.map((r) => r.id)).toEqual(['one']);
    expect(await b.changed()).toBe(false);
    await held.release();

    // A hand edit (no lock token change) is noticed too.
    writeFileSync(join(dir, 'layers.json'), '[{"id":"edited"}]');
    held = await lockA.acquire();
    expect(await a.changed()).toBe(true);
    await a.load();
    expect(a.lookup('edited')?.id).toBe('edited');
    await held.release();
  });

  it('serialises holders within one process', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const lock = new StoreLock(join(dir, 'x.lock'));
    const order: string[] = [];
    const first = await lock.acquire();
    const second = lock.acquire().then((h) => {
      order.push('second');
      return h;
    });
    await new Promise((r) => setTimeout(r, 50));
    order.push('first-release');
    await first.release();
    await (await second).release();
    expect(order).toEqual(['first-release', 'second']);
  });

  it('breaks the lock of a process that died holding it, once stale', async () => {
    const dir = tempDir();
    // What a killed holder leaves: proper-lockfile's lock directory, never refreshed again.
    mkdirSync(join(dir, 'layers.lock.lock'));
    const old = new Date(Date.now() - 60_000);
    const { utimesSync } = await import('node:fs');
    utimesSync(join(dir, 'layers.lock.lock'), old, old);
    const lock = new StoreLock(join(dir, 'layers.lock'), { staleMs: 2000 });
    const held = await lock.acquire();
    await held.release();
  });
});
