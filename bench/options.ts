/** Command-line flags of `npm run bench`, each with an environment variable for CI and scripts. */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR, DEFAULT_DOCS_FILE, DEFAULT_RESULTS_DIR } from './paths.js';

export interface BenchOptions {
  /** Multiplies every dataset size and file count (1 = the documented sizes). */
  scale: number;
  /** Repetitions of warm workloads; the median is reported. */
  runs: number;
  /** Repetitions of cold workloads (each drops caches and remounts) and of heavy ones. */
  coldRuns: number;
  /** Workload ids or group names to run; empty means all. */
  only: string[];
  skip: string[];
  dataDir: string;
  resultsDir: string;
  /** The markdown report; its charts go to `<dir>/bench/`. */
  docsFile: string;
  /** GiB of guest memory to touch before measuring (see prewarmMemory); 0 skips it. */
  prewarmGiB: number;
  /** Rerun workloads that miss a target under `node --cpu-prof`. */
  profile: boolean;
  list: boolean;
  /** Rewrite the markdown and charts from the last latest.json without measuring. */
  reportOnly: boolean;
}

export const USAGE = `usage: npm run bench -- [options]
  --scale N        dataset sizes × N (default 1; env BENCH_SCALE)
  --runs N         repetitions of warm workloads (default 5; env BENCH_RUNS)
  --cold-runs N    repetitions of cold and heavy workloads (default min(3, runs); env BENCH_COLD_RUNS)
  --only A,B       only these workload ids or groups (env BENCH_ONLY)
  --skip A,B       all but these (env BENCH_SKIP)
  --data-dir D     dataset cache (default bench/.data; env BENCH_DATA_DIR)
  --results-dir D  latest.json and prof/ (default bench/results; env BENCH_RESULTS_DIR)
  --docs FILE      markdown report (default docs/benchmarks.md; env BENCH_DOCS)
  --prewarm-gib N  touch N GiB of memory first so no subject pays first-touch costs
                   (default 6 × scale, at most 6; env BENCH_PREWARM_GIB)
  --no-profile     do not profile workloads that miss a target (env BENCH_PROFILE=0)
  --list           print the workloads and exit
  --report-only    rewrite the markdown and charts from the last latest.json`;

function list(text: string | undefined): string[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${text}"`);
  return n;
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      scale: { type: 'string' },
      runs: { type: 'string' },
      'cold-runs': { type: 'string' },
      only: { type: 'string' },
      skip: { type: 'string' },
      'data-dir': { type: 'string' },
      'results-dir': { type: 'string' },
      docs: { type: 'string' },
      'prewarm-gib': { type: 'string' },
      'no-profile': { type: 'boolean' },
      list: { type: 'boolean' },
      'report-only': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const scale = positive('--scale', values.scale ?? env.BENCH_SCALE, 1);
  const prewarm = values['prewarm-gib'] ?? env.BENCH_PREWARM_GIB;
  const runs = Math.round(positive('--runs', values.runs ?? env.BENCH_RUNS, 5));
  return {
    scale,
    runs,
    coldRuns: Math.round(positive('--cold-runs', values['cold-runs'] ?? env.BENCH_COLD_RUNS, Math.min(3, runs))),
    only: list(values.only ?? env.BENCH_ONLY),
    skip: list(values.skip ?? env.BENCH_SKIP),
    dataDir: resolve(values['data-dir'] ?? env.BENCH_DATA_DIR ?? DEFAULT_DATA_DIR),
    resultsDir: resolve(values['results-dir'] ?? env.BENCH_RESULTS_DIR ?? DEFAULT_RESULTS_DIR),
    docsFile: resolve(values.docs ?? env.BENCH_DOCS ?? DEFAULT_DOCS_FILE),
    prewarmGiB: prewarm === '0' ? 0 : positive('--prewarm-gib', prewarm, Math.min(6, 6 * scale)),
    profile: !values['no-profile'] && env.BENCH_PROFILE !== '0',
    list: values.list ?? false,
    reportOnly: values['report-only'] ?? false,
  };
}
