/**
 * The life cycle shared by mount workloads: a fresh upper and mount point, the mount, optional
 * cache dropping, the timed step, and an unmount that always runs. Three shapes:
 * - shared: one mount, an untimed warm-up, then `runs` timed steps on the warm mount;
 * - fresh: a new mount and empty upper for every run (steps that change the tree);
 * - cold: like fresh, plus the page/dentry/inode caches dropped before each step.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { mount, type MountImpl, type Mounted } from '../mounts.js';
import { dropCaches, nowUs, type RunResult } from '../proc.js';
import type { Ctx, GroupId, ProfileTarget, Unit, Workload } from '../types.js';

export const MOUNT_SUBJECTS: readonly MountImpl[] = ['strata-fuse', 'fuse-overlayfs', 'kernel'];

export interface StepResult {
  seconds: number;
  check?: string;
}

export interface MountWorkloadDef {
  id: string;
  title: string;
  group: GroupId;
  mode: 'shared' | 'fresh' | 'cold';
  note?: string;
  unit?: Unit;
  /** Heavy enough to use the smaller run count even when warm. */
  costly?: boolean;
  subjects?: readonly MountImpl[];
  /** Lower layers, top first. */
  lowers(ctx: Ctx): readonly string[];
  bytes?(ctx: Ctx): number;
  /** Untimed, on the shared mount before the first timed step. */
  warmup?(mnt: string, ctx: Ctx): Promise<unknown>;
  step(mnt: string, ctx: Ctx): Promise<StepResult>;
}

export function seconds(r: RunResult): number {
  return r.ms / 1000;
}

/** Mounts `impl` over `lowers` with an empty upper in a new scratch dir, runs `body`, always unmounts. */
export async function withMount<T>(
  impl: MountImpl,
  lowers: readonly string[],
  dir: string,
  profile: ProfileTarget | undefined,
  body: (m: Mounted) => Promise<T>,
): Promise<T> {
  rmSync(dir, { recursive: true, force: true });
  const m = await mount(impl, { lowers, upper: join(dir, 'upper'), work: join(dir, 'work'), mountpoint: join(dir, 'mnt') }, impl === 'strata-fuse' ? profile : undefined);
  try {
    return await body(m);
  } finally {
    await m.unmount();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Checks must agree across runs; a changing answer means the overlay is not deterministic. */
function sameCheck(prev: string | undefined, next: string | undefined, id: string): string | undefined {
  if (prev !== undefined && next !== undefined && prev !== next) throw new Error(`${id}: runs disagree (${prev} vs ${next})`);
  return next ?? prev;
}

/** Runs the step, noting when it ran for a profiled rerun. */
async function timedStep(def: MountWorkloadDef, mnt: string, ctx: Ctx, profile: ProfileTarget | undefined): Promise<StepResult> {
  const start = nowUs();
  const r = await def.step(mnt, ctx);
  profile?.windows.push([start, nowUs()]);
  return r;
}

export function mountWorkload(def: MountWorkloadDef): Workload {
  return {
    id: def.id,
    title: def.title,
    group: def.group,
    unit: def.unit ?? 's',
    costly: def.mode === 'cold' || (def.costly ?? false),
    subjects: def.subjects ?? MOUNT_SUBJECTS,
    note: def.note,
    bytes: def.bytes,
    async measure(subject, ctx, runs, profile) {
      const impl = subject as MountImpl;
      const lowers = def.lowers(ctx);
      const base = join(ctx.scratch, def.id, impl);
      const samples: number[] = [];
      let check: string | undefined;
      if (def.mode === 'shared') {
        await withMount(impl, lowers, base, profile, async (m) => {
          await def.warmup?.(m.mountpoint, ctx);
          for (let i = 0; i < runs; i++) {
            const r = await timedStep(def, m.mountpoint, ctx, profile);
            samples.push(r.seconds);
            check = sameCheck(check, r.check, def.id);
          }
        });
        return { samples, check };
      }
      for (let i = 0; i < runs; i++) {
        await withMount(impl, lowers, join(base, String(i)), profile, async (m) => {
          if (def.mode === 'cold') await dropCaches();
          const r = await timedStep(def, m.mountpoint, ctx, profile);
          samples.push(r.seconds);
          check = sameCheck(check, r.check, def.id);
        });
      }
      return { samples, check };
    },
  };
}
