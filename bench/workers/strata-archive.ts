/**
 * Runs one strata archive operation in its own process and prints {"ms":…,"check":…}: the harness's
 * heap and JIT state stay out of the measurement, and `node --cpu-prof` can profile just this.
 * Usage: node --import tsx bench/workers/strata-archive.ts '<json request>'
 */
import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export type WorkerRequest =
  | { op: 'probe' }
  | { op: 'apply'; tar: string; dest: string }
  | { op: 'diff'; dir: string; lowers: string[]; out: string }
  | { op: 'changes'; upper: string; lowers: string[] };

export interface WorkerReply {
  ms: number;
  check?: string;
  /** When the operation ran, in CLOCK_MONOTONIC µs (for profile windows). */
  window?: [number, number];
}

/** The parts of src/archive this worker uses, typed here because the module may not exist yet. */
interface ArchiveModule {
  applyLayer(dest: string, input: Readable, opts: { whiteoutFormat: 'overlay' }): Promise<unknown>;
  tarDirectory(dir: string, opts: { overlay: boolean; lowerDirs: string[] }): Readable | Promise<Readable>;
  overlayChanges(upper: string, lowers: string[]): Promise<unknown[]> | unknown[];
}

const ARCHIVE_MODULE = new URL('../../src/archive/index.js', import.meta.url).href;

async function load(): Promise<ArchiveModule> {
  const mod = (await import(ARCHIVE_MODULE)) as Partial<ArchiveModule>;
  const missing = (['applyLayer', 'tarDirectory', 'overlayChanges'] as const).filter((k) => typeof mod[k] !== 'function');
  if (missing.length > 0) throw new Error(`src/archive/index.ts does not export ${missing.join(', ')}`);
  return mod as ArchiveModule;
}

async function timed(body: () => Promise<string | undefined>): Promise<WorkerReply> {
  const start = process.hrtime.bigint();
  const check = await body();
  const end = process.hrtime.bigint();
  return { ms: Number(end - start) / 1e6, check, window: [Number(start / 1000n), Number(end / 1000n)] };
}

async function serve(req: WorkerRequest): Promise<WorkerReply> {
  const archive = await load();
  switch (req.op) {
    case 'probe':
      return { ms: 0 };
    case 'apply':
      return timed(async () => {
        const size = await archive.applyLayer(req.dest, createReadStream(req.tar), { whiteoutFormat: 'overlay' });
        return typeof size === 'number' ? `${size} bytes` : undefined;
      });
    case 'diff':
      return timed(async () => {
        await pipeline(await archive.tarDirectory(req.dir, { overlay: true, lowerDirs: req.lowers }), createWriteStream(req.out));
        return undefined;
      });
    case 'changes':
      return timed(async () => `${(await archive.overlayChanges(req.upper, req.lowers)).length} changes`);
  }
}

const raw = process.argv[2];
if (!raw) {
  process.stderr.write('usage: strata-archive.ts <json request>\n');
  process.exit(2);
}
serve(JSON.parse(raw) as WorkerRequest).then(
  (reply) => process.stdout.write(`${JSON.stringify(reply)}\n`),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
