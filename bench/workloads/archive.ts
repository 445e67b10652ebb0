/**
 * Layer tar workloads on the ~500 MB archive: strata's applyLayer against `containers-storage
 * applydiff`, and strata's tarDirectory against `containers-storage diff`. strata runs in a worker
 * process and reports the operation's own time; the Go CLI is timed as a whole process (its
 * start-up is a few milliseconds). Each apply starts settled (see `settle`): creating 20k files
 * run after run otherwise gets slower on this VM whoever does it.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { withStore } from '../cs.js';
import { run, settle, sh } from '../proc.js';
import type { Ctx, Workload } from '../types.js';
import { runWorker } from '../workers/client.js';

export const ARCHIVE_SUBJECTS = ['strata', 'containers-storage'] as const;

async function countEntries(dir: string): Promise<string> {
  const r = await run('find', [dir, '-mindepth', '1'], { countLines: true });
  return `${r.lines} entries`;
}

async function tarEntries(file: string): Promise<string> {
  const r = await run('tar', ['-tf', file], { countLines: true });
  return `${r.lines} tar entries`;
}

const tarBytes = (ctx: Ctx): number => ctx.data.archive().tarBytes;

const apply: Workload = {
  id: 'apply',
  title: 'apply a ~500 MB layer tar (applyLayer vs applydiff)',
  group: 'archive',
  unit: 's',
  costly: true,
  subjects: ARCHIVE_SUBJECTS,
  bytes: tarBytes,
  async measure(subject, ctx, runs, profile) {
    const { tar } = ctx.data.archive();
    const samples: number[] = [];
    let check: string | undefined;
    for (let i = 0; i < runs; i++) {
      const base = join(ctx.scratch, 'apply', subject, String(i));
      await settle([tar]);
      if (subject === 'strata') {
        const dest = join(base, 'dest');
        try {
          await sh('mkdir -p "$1"', [dest]);
          samples.push((await runWorker({ op: 'apply', tar, dest }, profile)).ms / 1000);
          if (i === 0) check = await countEntries(dest);
        } finally {
          rmSync(base, { recursive: true, force: true });
        }
      } else {
        await withStore(base, async (store) => {
          const layer = await store.createLayer();
          samples.push((await store.cmd('applydiff', '-f', tar, layer)).ms / 1000);
          if (i === 0) check = await countEntries(store.diffDir(layer));
        });
      }
    }
    return { samples, check };
  },
};

const diff: Workload = {
  id: 'diff',
  title: 'export a ~500 MB layer as a tar (tarDirectory vs diff)',
  group: 'archive',
  unit: 's',
  costly: true,
  subjects: ARCHIVE_SUBJECTS,
  bytes: tarBytes,
  async measure(subject, ctx, runs, profile) {
    const { tar } = ctx.data.archive();
    const base = join(ctx.scratch, 'diff', subject);
    const out = join(base, 'out.tar');
    const samples: number[] = [];
    let check: string | undefined;
    // One output file, removed after each run: its pages return to the free list, so no settle.
    const loop = async (once: () => Promise<number>): Promise<void> => {
      for (let i = 0; i < runs; i++) {
        samples.push(await once());
        if (i === 0) check = await tarEntries(out);
        rmSync(out, { force: true });
        await sh('sync');
      }
    };
    if (subject === 'strata') {
      // The input is the layer as strata itself applied it: an overlay upper with char-device whiteouts.
      const dir = join(base, 'layer');
      try {
        await sh('mkdir -p "$1"', [dir]);
        await runWorker({ op: 'apply', tar, dest: dir });
        await loop(async () => (await runWorker({ op: 'diff', dir, lowers: [], out }, profile)).ms / 1000);
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    } else {
      await withStore(join(base, 'store'), async (store) => {
        const layer = await store.createLayer();
        await store.cmd('applydiff', '-f', tar, layer);
        await loop(async () => (await store.cmd('diff', '-u', '-f', out, layer)).ms / 1000);
      });
      rmSync(base, { recursive: true, force: true });
    }
    return { samples, check };
  },
};

export const archiveWorkloads: Workload[] = [apply, diff];
