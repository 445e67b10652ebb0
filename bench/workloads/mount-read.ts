/** Read-side mount workloads on the five-layer dataset: walks, stats and file reads. */
import { join } from 'node:path';
import { run, sh } from '../proc.js';
import type { Ctx, Workload } from '../types.js';
import { mountWorkload, seconds, type StepResult } from './mount-kit.js';

const lowers = (ctx: Ctx): readonly string[] => ctx.data.lowers().lowers;

/** `find -type f`: readdir and directory lookups only (d_type spares the per-file stat). */
async function walk(mnt: string): Promise<StepResult> {
  const r = await run('find', [mnt, '-type', 'f'], { countLines: true });
  return { seconds: seconds(r), check: `${r.lines} files` };
}

/** Every small file, NUL-separated for xargs, relative to the mount point. */
function smallList(ctx: Ctx): string {
  const m = ctx.data.lowers();
  return m.files.filter((f) => f !== m.big.path).join('\0');
}

async function catSmall(mnt: string, ctx: Ctx): Promise<StepResult> {
  const r = await sh('cd "$1" && xargs -0 cat -- | wc -c', [mnt], { input: smallList(ctx) });
  return { seconds: seconds(r), check: `${r.stdout.trim()} bytes` };
}

async function readBig(mnt: string, ctx: Ctx): Promise<StepResult> {
  const r = await run('dd', [`if=${join(mnt, ctx.data.lowers().big.path)}`, 'of=/dev/null', 'bs=1M']);
  return { seconds: seconds(r), check: `${/^(\d+) bytes/m.exec(r.stderr)?.[1] ?? '?'} bytes` };
}

const bigBytes = (ctx: Ctx): number => ctx.data.lowers().big.bytes;

export const mountReadWorkloads: Workload[] = [
  mountWorkload({
    id: 'walk-cold',
    title: 'walk, cold (find -type f after drop_caches)',
    group: 'mount-read',
    mode: 'cold',
    lowers,
    step: walk,
  }),
  mountWorkload({
    id: 'walk-warm',
    title: 'walk, warm (find -type f again)',
    group: 'mount-read',
    mode: 'shared',
    lowers,
    warmup: walk,
    step: walk,
  }),
  mountWorkload({
    id: 'stat-all',
    title: 'stat every entry (find -printf, fresh mount)',
    group: 'mount-read',
    mode: 'fresh',
    lowers,
    async step(mnt) {
      const r = await run('find', [mnt, '-printf', '%s %m %U %T@\n'], { countLines: true });
      return { seconds: seconds(r), check: `${r.lines} entries` };
    },
  }),
  mountWorkload({
    id: 'read-small',
    title: 'read all small files, warm (xargs cat)',
    group: 'mount-read',
    mode: 'shared',
    lowers,
    warmup: catSmall,
    step: catSmall,
  }),
  mountWorkload({
    id: 'read-big-cold',
    title: 'read the 512 MiB file, cold (dd bs=1M)',
    group: 'mount-read',
    mode: 'cold',
    lowers,
    bytes: bigBytes,
    step: readBig,
  }),
  mountWorkload({
    id: 'read-big-warm',
    title: 'read the 512 MiB file, warm (dd bs=1M)',
    group: 'mount-read',
    mode: 'shared',
    lowers,
    bytes: bigBytes,
    warmup: readBig,
    step: readBig,
  }),
];
