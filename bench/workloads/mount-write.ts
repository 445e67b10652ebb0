/** Write-side mount workloads: copy-up, creates, deletes of lower files, a directory rename, streaming writes. */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { run, sh } from '../proc.js';
import { scaled } from '../data/tree.js';
import type { Ctx, Workload } from '../types.js';
import { mountWorkload, seconds } from './mount-kit.js';

const lowers = (ctx: Ctx): readonly string[] => ctx.data.lowers().lowers;

/** 1 GiB at scale 1; never under 8 MiB so the rate is not all open/close. */
const seqMiB = (ctx: Ctx): number => scaled(1024, ctx.opts.scale, 8);

export const mountWriteWorkloads: Workload[] = [
  mountWorkload({
    id: 'copy-up-big',
    title: 'copy-up: append 1 byte to the 512 MiB lower file',
    group: 'mount-write',
    mode: 'fresh',
    costly: true,
    lowers,
    bytes: (ctx) => ctx.data.lowers().big.bytes,
    async step(mnt, ctx) {
      const path = join(mnt, ctx.data.lowers().big.path);
      const r = await sh('printf x >> "$1"', [path]);
      return { seconds: seconds(r), check: `${statSync(path).size} bytes after` };
    },
  }),
  mountWorkload({
    id: 'create-files',
    title: 'create 5000 small files in 50 lower directories',
    group: 'mount-write',
    mode: 'fresh',
    costly: true,
    lowers,
    async step(mnt, ctx) {
      const m = ctx.data.lowers();
      const script = 'cd "$1"; n=$2; shift 2; for d; do for ((i = 0; i < n; i++)); do echo "bench $i" > "$d/new$i"; done; done';
      const r = await sh(script, [mnt, String(m.createPerDir), ...m.createDirs]);
      return { seconds: seconds(r), check: `${m.createDirs.length * m.createPerDir} files` };
    },
  }),
  mountWorkload({
    id: 'rm-lower',
    title: 'rm 2000 lower files (whiteouts)',
    group: 'mount-write',
    mode: 'fresh',
    costly: true,
    lowers,
    async step(mnt, ctx) {
      const list = ctx.data.lowers().rmList;
      const r = await sh('cd "$1" && xargs -0 rm -f --', [mnt], { input: list.join('\0') });
      const left = await sh('cd "$1" && (xargs -0 ls -d -- 2>/dev/null || true) | wc -l', [mnt], { input: list.join('\0') });
      return { seconds: seconds(r), check: `${list.length} removed, ${left.stdout.trim()} still visible` };
    },
  }),
  mountWorkload({
    id: 'rename-dir',
    title: 'mv a lower directory spread over two layers',
    group: 'mount-write',
    mode: 'fresh',
    lowers,
    note: 'without redirect_dir the kernel answers EXDEV and mv falls back to copy and delete',
    async step(mnt, ctx) {
      const dir = join(mnt, ctx.data.lowers().renameDir);
      const r = await run('mv', [dir, `${dir}.old`]);
      const seen = await run('find', [`${dir}.old`, '-type', 'f'], { countLines: true });
      return { seconds: seconds(r), check: `${seen.lines} files moved` };
    },
  }),
  mountWorkload({
    id: 'seq-write',
    title: 'sequential write, 1 GiB (dd bs=1M, no fsync)',
    group: 'mount-write',
    mode: 'fresh',
    costly: true,
    lowers,
    bytes: (ctx) => seqMiB(ctx) * 1024 * 1024,
    async step(mnt, ctx) {
      const r = await run('dd', ['if=/dev/zero', `of=${join(mnt, 'seq.bin')}`, 'bs=1M', `count=${seqMiB(ctx)}`]);
      return { seconds: seconds(r), check: `${statSync(join(mnt, 'seq.bin')).size} bytes` };
    },
  }),
];
