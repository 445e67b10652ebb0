/** Where the harness reads and writes, relative to the repository it lives in. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const BENCH_DIR = join(REPO_ROOT, 'bench');
export const DEFAULT_DATA_DIR = join(BENCH_DIR, '.data');
export const DEFAULT_RESULTS_DIR = join(BENCH_DIR, 'results');
export const DEFAULT_DOCS_FILE = join(REPO_ROOT, 'docs', 'benchmarks.md');
