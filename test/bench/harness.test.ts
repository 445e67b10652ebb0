/**
 * The benchmark harness end to end at a minuscule scale: it must build its data, mount the peers,
 * measure, write JSON, markdown and SVG, and leave nothing mounted, even when interrupted.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summariseProfile } from '../../bench/profile.js';
import { checkTargets } from '../../bench/targets.js';
import type { WorkloadResult } from '../../bench/types.js';
import { repoRoot } from '../helpers/rootless.js';
import { mountsUnder, tempDir } from '../helpers/tmp.js';

interface Exit {
  code: number | null;
  stderr: string;
}

/** Starts `npm run bench`'s entry point with every output redirected into `dir`. */
function startBench(dir: string, args: string[]): { done: Promise<Exit>; interrupt(): void } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/run.ts', '--scale', '0.002', '--data-dir', join(dir, 'data'), '--results-dir', join(dir, 'results'), '--docs', join(dir, 'docs', 'benchmarks.md'), ...args],
    { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<Exit>((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  return { done, interrupt: () => child.kill('SIGINT') };
}

describe('bench harness', () => {
  it('measures walk-warm on the kernel overlay and fuse-overlayfs and writes JSON, markdown and a chart', async () => {
    const dir = tempDir('strata-bench-');
    const { code, stderr } = await startBench(dir, ['--only', 'walk-warm', '--runs', '1', '--no-profile']).done;
    expect(code, stderr).toBe(0);

    const report = JSON.parse(readFileSync(join(dir, 'results', 'latest.json'), 'utf8')) as { results: WorkloadResult[]; machine: { cores: number } };
    expect(report.machine.cores).toBeGreaterThan(0);
    const [walk] = report.results;
    expect(walk?.id).toBe('walk-warm');
    const manifest = JSON.parse(readFileSync(join(dir, 'data', 'lowers5@0.002', 'manifest.json'), 'utf8')) as { manifest: { files: string[] } };
    for (const peer of ['kernel', 'fuse-overlayfs']) {
      const o = walk!.outcomes[peer];
      expect(o?.status, JSON.stringify(o)).toBe('ok');
      if (o?.status !== 'ok') continue;
      expect(o.median).toBeGreaterThan(0);
      // Every merged regular file is seen once: the overlay (and the dataset's whiteouts) work.
      expect(o.check).toBe(`${manifest.manifest.files.length} files`);
    }
    // strata-fuse is measured too when built; whether it mounts is its own tests' business, but
    // when it does, it must see what the peers see.
    const strata = walk!.outcomes['strata-fuse'];
    expect(strata?.status).toMatch(/^(ok|failed|not available)$/);
    if (strata?.status === 'ok') expect(strata.check).toBe(`${manifest.manifest.files.length} files`);

    const md = readFileSync(join(dir, 'docs', 'benchmarks.md'), 'utf8');
    expect(md).toMatch(/^# Benchmarks/);
    expect(md).toContain('## Behind target');
    expect(md).toContain('`walk-warm`');
    expect(md).toContain('](bench/mount-read.svg)');
    const svg = readFileSync(join(dir, 'docs', 'bench', 'mount-read.svg'), 'utf8');
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('walk-warm');
    expect(mountsUnder(dir)).toEqual([]);
  });

  it('unmounts everything when interrupted mid-run', async () => {
    const dir = tempDir('strata-bench-');
    const bench = startBench(dir, ['--only', 'walk-warm', '--runs', '100000', '--no-profile']);
    const deadline = Date.now() + 15_000;
    while (mountsUnder(join(dir, 'data', 'run')).length === 0) {
      if (Date.now() > deadline) throw new Error('the harness never mounted anything');
      await new Promise((r) => setTimeout(r, 20));
    }
    bench.interrupt();
    const { code } = await bench.done;
    expect(code).toBe(130);
    expect(mountsUnder(dir)).toEqual([]);
    expect(existsSync(join(dir, 'results', 'latest.json'))).toBe(false);
  });

  it('summarises a .cpuprofile by self time, idle apart', () => {
    const dir = tempDir('strata-bench-');
    const file = join(dir, 'x.cpuprofile');
    const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 9, columnNumber: 0, scriptId: '1' });
    writeFileSync(
      file,
      JSON.stringify({
        nodes: [
          { id: 1, callFrame: frame('(root)'), children: [2, 3, 4] },
          { id: 2, callFrame: frame('(idle)') },
          { id: 3, callFrame: frame('lookup', 'file:///x/overlay.js') },
          { id: 4, callFrame: frame('readdir', 'file:///x/dir.js') },
        ],
        startTime: 0,
        endTime: 1000,
        // Sample i lasts until sample i+1: idle 500 µs, lookup 300 µs, readdir 100 µs.
        samples: [2, 3, 3, 4, 2],
        timeDeltas: [0, 500, 200, 100, 100],
      }),
    );
    const s = summariseProfile(file, 'walk-cold');
    expect(s.top.map((t) => t.fn)).toEqual(['lookup', 'readdir']);
    expect(s.top[0]!.selfMs).toBeCloseTo(0.3);
    expect(s.top[0]!.pct).toBeCloseTo(75);
    expect(s.top[0]!.where).toMatch(/overlay\.js:10$/);
    expect(s.idlePct).toBeCloseTo(55.6, 0);
    expect(s.windowed).toBe(false);

    // Samples at 500, 700, 800 and 900 µs: a window from 600 to 900 keeps one lookup and the readdir.
    const w = summariseProfile(file, 'walk-cold', [[600, 900]]);
    expect(w.windowed).toBe(true);
    expect(w.top.map((t) => [t.fn, t.selfMs])).toEqual([['lookup', 0.1], ['readdir', 0.1]]);
  });

  it('flags a mount workload over 1.5× fuse-overlayfs and a sequential write under 500 MiB/s', () => {
    const ok = (median: number) => ({ status: 'ok' as const, samples: [median], median });
    const mountResult = (id: string, strata: number, peer: number, bytes?: number): WorkloadResult => ({
      id,
      title: id,
      group: 'mount-write',
      unit: 's',
      bytes,
      subjects: ['strata-fuse', 'fuse-overlayfs', 'kernel'],
      outcomes: { 'strata-fuse': ok(strata), 'fuse-overlayfs': ok(peer), kernel: ok(peer) },
      ratios: { 'fuse-overlayfs': strata / peer, kernel: strata / peer },
    });
    const checks = checkTargets([mountResult('create-files', 2, 1), mountResult('seq-write', 4, 4, 1024 * 2 ** 20)]);
    const met = Object.fromEntries(checks.map((c) => [c.target, c.met]));
    expect(met['create-files ≤ 1.5× fuse-overlayfs time']).toBe(false);
    expect(met['seq-write ≤ 1.5× fuse-overlayfs time']).toBe(true);
    expect(met['seq-write ≥ 500 MiB/s']).toBe(false);
    // The geomean covers its own workloads (create-files here); the second covers all timed ones.
    expect(checks.find((c) => c.target.startsWith("geometric mean of the issue's"))?.measured).toBe('2.00× over 1 workloads');
    expect(checks.find((c) => c.target.startsWith('geometric mean of all'))?.measured).toMatch(/^1\.41× over 2/);
  });
});
