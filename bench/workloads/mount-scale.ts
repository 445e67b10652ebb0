/** Mount latency, a 128-layer mount, and the FUSE server's memory during a 100k-file walk. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MountImpl } from '../mounts.js';
import { nowUs, run } from '../proc.js';
import type { Ctx, ProfileTarget, Workload } from '../types.js';
import { MOUNT_SUBJECTS, mountWorkload, seconds, withMount } from './mount-kit.js';

/** Spawn-to-live time of fresh mounts over `lowers`. */
function mountTime(id: string, title: string, lowers: (ctx: Ctx) => readonly string[]): Workload {
  return {
    id,
    title,
    group: 'mount-scale',
    unit: 's',
    costly: false,
    subjects: MOUNT_SUBJECTS,
    async measure(subject, ctx, runs, profile) {
      const samples: number[] = [];
      for (let i = 0; i < runs; i++) {
        const start = nowUs();
        const ms = await withMount(subject as MountImpl, lowers(ctx), join(ctx.scratch, id, subject, String(i)), profile, async (m) => {
          profile?.windows.push([start, start + m.mountMs * 1000]);
          return m.mountMs;
        });
        samples.push(ms / 1000);
      }
      return { samples };
    },
  };
}

/** Kilobytes from a /proc/PID/status line such as "VmHWM:   123456 kB". */
function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
    return line ? Number(line.split(/\s+/)[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Peak resident memory (MiB) of the FUSE server while `find` stats all 100k files. */
async function rssDuringWalk(impl: MountImpl, ctx: Ctx, dir: string, profile?: ProfileTarget): Promise<{ mib: number; check: string }> {
  return withMount(impl, ctx.data.walk100k().lowers, dir, profile, async (m) => {
    const pid = m.pid;
    if (pid === undefined) throw new Error(`no process found serving ${m.mountpoint}`);
    let maxKiB = statusKiB(pid, 'VmRSS') ?? 0;
    const timer = setInterval(() => (maxKiB = Math.max(maxKiB, statusKiB(pid, 'VmRSS') ?? 0)), 50);
    try {
      const start = nowUs();
      const r = await run('find', [m.mountpoint, '-printf', '%s\n'], { countLines: true });
      profile?.windows.push([start, nowUs()]);
      // VmHWM is the kernel's own high-water mark, so a peak between two samples is not missed.
      maxKiB = Math.max(maxKiB, statusKiB(pid, 'VmHWM') ?? 0);
      return { mib: maxKiB / 1024, check: `${r.lines} entries walked in ${seconds(r).toFixed(1)} s` };
    } finally {
      clearInterval(timer);
    }
  });
}

export const mountScaleWorkloads: Workload[] = [
  mountTime('mount-latency', 'mount latency (spawn to live), 5 layers', (ctx) => ctx.data.lowers().lowers),
  mountTime('mount-128', 'mount latency, 128 layers', (ctx) => ctx.data.layers128().lowers),
  mountWorkload({
    id: 'walk-128',
    title: 'walk 128 layers (find -type f, fresh mount)',
    group: 'mount-scale',
    mode: 'fresh',
    lowers: (ctx) => ctx.data.layers128().lowers,
    async step(mnt) {
      const r = await run('find', [mnt, '-type', 'f'], { countLines: true });
      return { seconds: seconds(r), check: `${r.lines} files` };
    },
  }),
  {
    id: 'rss-100k',
    title: 'peak RSS of the FUSE server, stat walk of 100k files',
    group: 'mount-scale',
    unit: 'MiB',
    costly: true,
    subjects: ['strata-fuse', 'fuse-overlayfs'],
    note: 'the kernel overlay has no server process',
    async measure(subject, ctx, runs, profile) {
      const samples: number[] = [];
      let check: string | undefined;
      for (let i = 0; i < runs; i++) {
        const r = await rssDuringWalk(subject as MountImpl, ctx, join(ctx.scratch, 'rss-100k', subject, String(i)), profile);
        samples.push(r.mib);
        check = r.check.replace(/ in .*/, '');
      }
      return { samples, check };
    },
  },
];
