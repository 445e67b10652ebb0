/** Starts the strata archive worker for one request and returns its reply. */
import { join } from 'node:path';
import { BENCH_DIR, REPO_ROOT } from '../paths.js';
import { run } from '../proc.js';
import type { ProfileTarget } from '../types.js';
import type { WorkerReply, WorkerRequest } from './strata-archive.js';

const WORKER = join(BENCH_DIR, 'workers', 'strata-archive.ts');

export async function runWorker(req: WorkerRequest, profile?: ProfileTarget): Promise<WorkerReply> {
  const prof = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile.dir}`] : [];
  const r = await run(process.execPath, [...prof, '--import', 'tsx', WORKER, JSON.stringify(req)], { cwd: REPO_ROOT });
  const reply = JSON.parse(r.stdout.trim().split('\n').pop()!) as WorkerReply;
  if (profile && reply.window) profile.windows.push(reply.window);
  return reply;
}

/** Why strata's archive module cannot be benchmarked, or undefined when it can. */
export async function strataArchiveUnavailable(): Promise<string | undefined> {
  try {
    await runWorker({ op: 'probe' });
    return undefined;
  } catch (err) {
    const text = (err as Error).message;
    if (/Cannot find module|ERR_MODULE_NOT_FOUND/.test(text) && text.includes('archive')) return 'src/archive/index.ts does not exist yet';
    return text.split('\n').slice(0, 2).join(' ').slice(0, 300);
  }
}
