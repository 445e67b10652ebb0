/**
 * `npm run bench`: builds (or reuses) the datasets, runs every selected workload on strata and its
 * peers, checks strata's targets, profiles the misses, and writes bench/results/latest.json,
 * docs/benchmarks.md and its charts. Everything mounted is unmounted however the run ends.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { installCleanup, unmountAllSync } from './cleanup.js';
import { csUnavailable } from './cs.js';
import { DataStore } from './data.js';
import { machineInfo } from './machine.js';
import { prewarmMemory } from './proc.js';
import { MOUNT_IMPLS, probeMount, snapshotStrataFuse } from './mounts.js';
import { parseOptions, USAGE } from './options.js';
import { profileWorkload } from './profile.js';
import { writeReport, type BenchReport } from './report.js';
import { runWorkload } from './runner.js';
import { checkTargets } from './targets.js';
import type { Ctx, ProfileSummary, WorkloadResult } from './types.js';
import { ALL_WORKLOADS, selectWorkloads } from './workloads/index.js';
import { strataArchiveUnavailable } from './workers/client.js';

/** At most this many profiled reruns, so a bad day does not double the run time. */
const MAX_PROFILES = 10;

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Probes only the subjects the selected workloads need. */
async function probeSubjects(needed: Set<string>, scratch: string): Promise<Record<string, string | undefined>> {
  const why: Record<string, string | undefined> = {};
  for (const impl of MOUNT_IMPLS) if (needed.has(impl)) why[impl] = await probeMount(impl, scratch);
  if (needed.has('strata')) why.strata = await strataArchiveUnavailable();
  if (needed.has('containers-storage')) why['containers-storage'] = csUnavailable();
  rmSync(scratch, { recursive: true, force: true });
  return why;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.list) {
    for (const w of ALL_WORKLOADS) process.stdout.write(`${w.id.padEnd(15)} ${w.group.padEnd(12)} ${w.title}\n`);
    return;
  }
  if (opts.reportOnly) {
    const report = JSON.parse(readFileSync(join(opts.resultsDir, 'latest.json'), 'utf8')) as BenchReport;
    for (const path of writeReport(report, opts)) log(`wrote ${path}`);
    return;
  }
  if (process.getuid?.() !== 0) throw new Error('the benchmark mounts overlays and drops caches: run it as root');
  const workloads = selectWorkloads(opts.only, opts.skip);
  if (workloads.length === 0) throw new Error('no workload selected');

  const started = new Date();
  const scratch = join(opts.dataDir, 'run');
  // Only the harness mounts under the data dir (overlays in the scratch dir, containers-storage's
  // bind mounts on its stores), so anything a SIGKILLed run left there is ours to remove.
  unmountAllSync(opts.dataDir);
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  installCleanup(opts.dataDir);

  const needed = new Set(workloads.flatMap((w) => w.subjects));
  if (needed.has('strata-fuse') && snapshotStrataFuse(join(opts.dataDir, 'strata-fuse-dist'))) log('strata-fuse: running a snapshot of dist/ taken now');
  const unavailable = await probeSubjects(needed, scratch);
  for (const [s, why] of Object.entries(unavailable)) log(why ? `${s}: not available: ${why}` : `${s}: available`);

  if (opts.prewarmGiB > 0) {
    log(`touching ${opts.prewarmGiB} GiB of memory first`);
    log(`  took ${(await prewarmMemory(opts.prewarmGiB)).toFixed(1)} s`);
  }

  const ctx: Ctx = { opts, data: new DataStore(opts.dataDir, opts.scale, log), scratch, unavailable, log };
  const results: WorkloadResult[] = [];
  for (const w of workloads) {
    log(`${w.id}: ${w.title}`);
    results.push(await runWorkload(w, ctx));
  }

  const targets = checkTargets(results);
  const profiles: ProfileSummary[] = [];
  if (opts.profile) {
    // Profiles belong to the latest.json written below; older ones would only mislead.
    rmSync(join(opts.resultsDir, 'prof'), { recursive: true, force: true });
    // Every missed target gets its first workload profiled before any target gets a second.
    const missedTargets = targets.filter((t) => t.met === false);
    const missed = [...new Set([...missedTargets.map((t) => t.workloads[0]!), ...missedTargets.flatMap((t) => t.workloads.slice(1))])];
    for (const id of missed.slice(0, MAX_PROFILES)) {
      const w = workloads.find((x) => x.id === id);
      if (!w || unavailable[w.subjects[0]!] !== undefined) continue;
      log(`profiling ${id} (missed a target)`);
      profiles.push(await profileWorkload(w, ctx, opts.resultsDir));
    }
  }

  const report: BenchReport = {
    startedAt: started.toISOString(),
    durationSec: Math.round((Date.now() - started.getTime()) / 1000),
    machine: machineInfo(),
    settings: { scale: opts.scale, runs: opts.runs, coldRuns: opts.coldRuns, prewarmGiB: opts.prewarmGiB, only: opts.only, skip: opts.skip },
    unavailable: Object.fromEntries(Object.entries(unavailable).filter((e): e is [string, string] => e[1] !== undefined)),
    results,
    targets,
    profiles,
  };
  for (const path of writeReport(report, opts)) log(`wrote ${path}`);
  unmountAllSync(opts.dataDir);
  rmSync(scratch, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  log(`error: ${err instanceof Error ? err.message : String(err)}`);
  const code = (err as { code?: unknown }).code;
  const usage = (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) || (err instanceof Error && /must be a positive|unknown workload/.test(err.message));
  if (usage) process.stderr.write(`${USAGE}\n`);
  process.exitCode = 1;
});
