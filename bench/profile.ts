/**
 * Profile evidence for workloads that miss a target: one rerun with strata under
 * `node --cpu-prof`, and the top self-time functions of the resulting .cpuprofile.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { unmountAllSync } from './cleanup.js';
import { REPO_ROOT } from './paths.js';
import type { Ctx, ProfileSummary, ProfileTarget, Workload } from './types.js';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Pseudo-frames V8 records that are not functions of ours. */
const IDLE = '(idle)';
const SKIP = new Set(['(root)']);

function where(url: string, line: number): string {
  if (!url) return '';
  let path = url.startsWith('file://') ? relative(REPO_ROOT, decodeURIComponent(url.slice(7))) : url;
  // strata-fuse runs from a snapshot of dist/ (see snapshotStrataFuse): name the file as in the tree.
  const dist = path.search(/dist\/(src\/|strata-fuse\.cjs)/);
  if (dist > 0) path = path.slice(dist);
  return `${path}:${line + 1}`;
}

/**
 * Self time per function (µs). With sample timestamps and `windows`, only samples taken while a
 * timed step ran count, so start-up and set-up stay out; without either, every sample counts.
 */
export function summariseProfile(file: string, workload: string, windows: readonly [number, number][] = [], topN = 10): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  let windowed = false;
  if (prof.samples && prof.timeDeltas && prof.samples.length > 0) {
    const inWindow = (t: number): boolean => windows.some(([a, b]) => t >= a && t <= b);
    const add = (useWindows: boolean): void => {
      let t = prof.startTime;
      // timeDeltas[i] is the gap before sample i, so sample i lasted until sample i+1.
      for (let i = 0; i < prof.samples!.length; i++) {
        t += prof.timeDeltas![i]!;
        if (useWindows && !inWindow(t)) continue;
        const dur = prof.timeDeltas![i + 1] ?? 0;
        selfUs.set(prof.samples![i]!, (selfUs.get(prof.samples![i]!) ?? 0) + dur);
      }
    };
    if (windows.length > 0) add(true);
    windowed = selfUs.size > 0;
    if (!windowed) add(false);
  } else {
    const hits = prof.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
    const per = (prof.endTime - prof.startTime) / hits;
    for (const n of prof.nodes) selfUs.set(n.id, (n.hitCount ?? 0) * per);
  }
  const byFn = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  let idle = 0;
  for (const n of prof.nodes) {
    const us = selfUs.get(n.id) ?? 0;
    total += us;
    const fn = n.callFrame.functionName || '(anonymous)';
    if (fn === IDLE) idle += us;
    if (fn === IDLE || SKIP.has(fn) || us === 0) continue;
    const loc = where(n.callFrame.url, n.callFrame.lineNumber);
    const key = `${fn}@${loc}`;
    const entry = byFn.get(key) ?? { fn, where: loc, us: 0 };
    entry.us += us;
    byFn.set(key, entry);
  }
  const busy = total - idle || 1;
  const top = [...byFn.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, topN)
    .map((e) => ({ fn: e.fn, where: e.where, selfMs: e.us / 1000, pct: (100 * e.us) / busy }));
  const stepsMs = windows.reduce((a, [from, to]) => a + (to - from), 0) / 1000;
  return { workload, file: relative(REPO_ROOT, file), totalMs: total / 1000, windowed, stepsMs, idlePct: (100 * idle) / (total || 1), top };
}

function profilesIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/**
 * Reruns `w` once on its strata subject with profiling on. strata-fuse is first started as usual
 * with the flags for its daemon; if that wrote no profile, it is rerun in the foreground under
 * `node --cpu-prof` by the harness. The largest profile is the server's (a launcher's is tiny).
 */
export async function profileWorkload(w: Workload, ctx: Ctx, resultsDir: string): Promise<ProfileSummary> {
  const dir = join(resultsDir, 'prof', w.id);
  const subject = w.subjects[0]!;
  let windows: [number, number][] = [];
  const attempt = async (mode: ProfileTarget['mode']): Promise<string[]> => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    windows = [];
    try {
      await w.measure(subject, ctx, 1, { dir, mode, windows });
    } finally {
      unmountAllSync(ctx.scratch);
      rmSync(ctx.scratch, { recursive: true, force: true });
    }
    return profilesIn(dir);
  };
  try {
    let files = await attempt('daemon').catch((err: unknown) => {
      if (subject !== 'strata-fuse') throw err;
      ctx.log(`  ${w.id}: profiled daemon failed (${(err as Error).message.split('\n')[0]})`);
      return [];
    });
    if (files.length === 0 && subject === 'strata-fuse') {
      ctx.log(`  ${w.id}: no profile from the daemon; rerunning strata-fuse -f under node --cpu-prof`);
      files = await attempt('foreground');
    }
    if (files.length === 0) throw new Error(`no .cpuprofile was written to ${relative(REPO_ROOT, dir)}`);
    const largest = files.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    return summariseProfile(largest, w.id, windows);
  } catch (err) {
    return { workload: w.id, file: relative(REPO_ROOT, dir), totalMs: 0, windowed: false, stepsMs: 0, idlePct: 0, top: [], error: (err as Error).message.split('\n')[0] };
  }
}
