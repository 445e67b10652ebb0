/**
 * Listing an upper layer's changes over a lower of N files and of 10×N files: strata's
 * overlayChanges against `containers-storage changes` (whose overlay driver walks the upper too when
 * the kernel has no redirect_dir/metacopy). The cost should follow the upper, not the lower.
 */
import { join } from 'node:path';
import { CsStore } from '../cs.js';
import type { Ctx, Workload } from '../types.js';
import { runWorker } from '../workers/client.js';
import { ARCHIVE_SUBJECTS } from './archive.js';

function changesWorkload(id: string, factor: '1x' | '10x'): Workload {
  const lower = (ctx: Ctx): string => (factor === '1x' ? ctx.data.changes().lower1x : ctx.data.changes().lower10x);
  return {
    id,
    title: `changes of an upper over a ${factor === '1x' ? '10k' : '100k'}-file lower`,
    group: 'archive',
    unit: 's',
    costly: false,
    subjects: ARCHIVE_SUBJECTS,
    async measure(subject, ctx, runs, profile) {
      const { upper } = ctx.data.changes();
      const samples: number[] = [];
      let check: string | undefined;
      if (subject === 'strata') {
        for (let i = 0; i < runs; i++) {
          const r = await runWorker({ op: 'changes', upper, lowers: [lower(ctx)] }, profile);
          samples.push(r.ms / 1000);
          check = r.check;
        }
        return { samples, check };
      }
      const m = ctx.data.csChanges();
      const store = new CsStore(m.graph, join(ctx.scratch, id, 'cs-run'));
      try {
        for (let i = 0; i < runs; i++) {
          const r = await store.cmd('changes', factor === '1x' ? m.child1x : m.child10x);
          samples.push(r.ms / 1000);
          check = `${r.stdout.trim().split('\n').filter(Boolean).length} changes`;
        }
      } finally {
        await store.release();
      }
      return { samples, check };
    },
  };
}

export const changesWorkloads: Workload[] = [changesWorkload('changes-1x', '1x'), changesWorkload('changes-10x', '10x')];
