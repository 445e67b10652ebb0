/** Runs one workload on each of its subjects and turns the samples into medians and ratios. */
import { rmSync } from 'node:fs';
import { unmountAllSync } from './cleanup.js';
import { median } from './stats.js';
import type { Ctx, Outcome, Workload, WorkloadResult } from './types.js';

export function runsFor(w: Workload, ctx: Ctx): number {
  return w.costly ? ctx.opts.coldRuns : ctx.opts.runs;
}

/** strata ÷ peer for every peer that produced a median. */
export function ratiosOf(subjects: readonly string[], outcomes: Record<string, Outcome>): Record<string, number> {
  const [strata, ...peers] = subjects;
  const mine = outcomes[strata!];
  const ratios: Record<string, number> = {};
  if (mine?.status !== 'ok') return ratios;
  for (const p of peers) {
    const o = outcomes[p];
    if (o?.status === 'ok' && o.median > 0) ratios[p] = mine.median / o.median;
  }
  return ratios;
}

export async function runWorkload(w: Workload, ctx: Ctx): Promise<WorkloadResult> {
  const runs = runsFor(w, ctx);
  const outcomes: Record<string, Outcome> = {};
  for (const subject of w.subjects) {
    const reason = ctx.unavailable[subject];
    if (reason !== undefined) {
      outcomes[subject] = { status: 'not available', reason };
      continue;
    }
    const start = Date.now();
    try {
      const { samples, check } = await w.measure(subject, ctx, runs);
      outcomes[subject] = { status: 'ok', samples, median: median(samples), check };
      ctx.log(`  ${subject}: median ${median(samples).toFixed(3)} ${w.unit} of [${samples.map((s) => s.toFixed(3)).join(', ')}]${check ? ` (${check})` : ''} in ${((Date.now() - start) / 1000).toFixed(0)} s`);
    } catch (err) {
      // Node's own errors put the location first and the reason a few lines down: keep both.
      const msg = (err as Error).message.split('\n').map((l) => l.trim()).filter(Boolean).join(' | ').slice(0, 500);
      outcomes[subject] = { status: 'failed', reason: msg };
      ctx.log(`  ${subject}: FAILED ${msg}`);
    } finally {
      // A failed step may leave a mount behind; the next subject starts from an empty scratch.
      unmountAllSync(ctx.scratch);
      rmSync(ctx.scratch, { recursive: true, force: true });
    }
  }
  let bytes: number | undefined;
  try {
    bytes = w.bytes?.(ctx);
  } catch {
    bytes = undefined;
  }
  return {
    id: w.id,
    title: w.title,
    group: w.group,
    unit: w.unit,
    bytes,
    subjects: [...w.subjects],
    outcomes,
    ratios: ratiosOf(w.subjects, outcomes),
    note: w.note,
  };
}
