/** The shapes shared by workloads, the runner, the targets and the report (and latest.json). */
import type { DataStore } from './data.js';
import type { BenchOptions } from './options.js';

export type GroupId = 'mount-read' | 'mount-write' | 'mount-scale' | 'archive';

export const GROUP_TITLES: Record<GroupId, string> = {
  'mount-read': 'Mount: reads and walks',
  'mount-write': 'Mount: writes and namespace changes',
  'mount-scale': 'Mount: latency, many layers, memory',
  archive: 'Archive: apply, diff, changes',
};

/** Every measured value is lower-is-better: seconds, or MiB of memory. */
export type Unit = 's' | 'MiB';

export type Outcome =
  | {
      status: 'ok';
      samples: number[];
      median: number;
      /** What the workload saw (file count, bytes…), compared across subjects as a sanity check. */
      check?: string;
    }
  | { status: 'not available' | 'failed' | 'n/a'; reason: string };

export interface WorkloadResult {
  id: string;
  title: string;
  group: GroupId;
  unit: Unit;
  /** Bytes moved per run, when a throughput (MiB/s) is worth showing next to the time. */
  bytes?: number;
  /** The strata subject first, then its peers. */
  subjects: string[];
  outcomes: Record<string, Outcome>;
  /** strata ÷ peer for each peer with a result: below 1 means strata is better. */
  ratios: Record<string, number>;
  note?: string;
}

/** One profiled rerun of a workload, summarised. */
export interface ProfileSummary {
  workload: string;
  file: string;
  /** CPU time covered: the samples inside the timed steps (or all, when windows were unknown). */
  totalMs: number;
  /** Whether the summary is limited to the timed steps. */
  windowed: boolean;
  /** Wall time of the timed steps, for comparison with totalMs (the rest is outside this process's JS). */
  stepsMs: number;
  /** Share of samples where the process was idle, waiting on the kernel. */
  idlePct: number;
  top: { fn: string; where: string; selfMs: number; pct: number }[];
  error?: string;
}

export interface TargetCheck {
  target: string;
  /**
   * Where the target comes from: an issue's text, or 'further' for goals of ours beyond what any
   * issue asks (workloads the issues do not name, or a stricter reading of their words).
   */
  from: 'issue #3' | 'issue #4' | 'further';
  measured: string;
  met: boolean | 'unknown';
  /** Workloads responsible (profiled when the target is missed). */
  workloads: string[];
}

export interface Ctx {
  opts: BenchOptions;
  data: DataStore;
  /** Per-run scratch (uppers, workdirs, mount points); emptied between runs. */
  scratch: string;
  /** Why a subject cannot run here, or undefined when it can. */
  unavailable: Record<string, string | undefined>;
  log(msg: string): void;
}

/** Profiling request for one rerun: where the .cpuprofile goes and how strata-fuse is started. */
export interface ProfileTarget {
  dir: string;
  mode: 'daemon' | 'foreground';
  /**
   * When the timed steps ran, in CLOCK_MONOTONIC µs (the clock of V8's profile timestamps), filled
   * in by the workload so the summary leaves out start-up and set-up.
   */
  windows: [number, number][];
}

export interface Workload {
  id: string;
  title: string;
  group: GroupId;
  unit: Unit;
  /** Cold workloads (caches dropped every run) and heavy ones use the smaller run count, --cold-runs. */
  costly: boolean;
  subjects: readonly string[];
  note?: string;
  /** Bytes per run for a throughput column (may need the dataset, so it is computed lazily). */
  bytes?(ctx: Ctx): number;
  /** Runs the workload `runs` times on one subject and returns the samples and a check value. */
  measure(subject: string, ctx: Ctx, runs: number, profile?: ProfileTarget): Promise<{ samples: number[]; check?: string }>;
}
