/** Child processes for the harness: run a command, time it, and fail with the command's own words. */
import { spawn, spawnSync } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed. */
  input?: string | Buffer;
  /** Kill the child and fail after this long (default 30 min: only a hung mount gets there). */
  timeoutMs?: number;
  /** Count stdout lines instead of keeping the text (walks print 100k paths). */
  countLines?: boolean;
}

export interface RunResult {
  ms: number;
  stdout: string;
  /** The first 64 KiB of stderr (dd reports its byte count there). */
  stderr: string;
  lines: number;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (${code === null ? 'killed' : `exit ${code}`}): ${stderr.trim().slice(0, 600)}`);
    this.name = 'CommandError';
  }
}

function describe(cmd: string, args: readonly string[]): string {
  const text = [cmd, ...args].join(' ');
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Runs a command to completion; the wall time covers spawn to exit, as a shell user would see it. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let lines = 0;
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      if (opts.countLines) {
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      } else {
        out.push(chunk);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      if (err.length < 64 * 1024) err += chunk.toString();
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30 * 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CommandError(describe(cmd, args), null, e.message));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) {
        reject(new CommandError(describe(cmd, args), code, err));
        return;
      }
      const stdout = Buffer.concat(out).toString();
      resolvePromise({ ms, stdout, stderr: err, lines: opts.countLines ? lines : stdout.split('\n').length - 1 });
    });
  });
}

/** A bash snippet; positional arguments arrive as $1, $2… so paths never need quoting. */
export function sh(script: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<RunResult> {
  return run('bash', ['-euo', 'pipefail', '-c', script, 'bench', ...args], opts);
}

/** First line of a command's output, or undefined when it is missing or fails (for version probes). */
export function probe(cmd: string, args: readonly string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return undefined;
  return `${r.stdout}${r.stderr}`.trim() || undefined;
}

/** Empties the page, dentry and inode caches so the next read comes from disk ("cold"). */
export async function dropCaches(): Promise<void> {
  await sh('sync; echo 3 > /proc/sys/vm/drop_caches');
}

/**
 * Starts a run that creates many files from the same kernel state every time. On this VM,
 * extracting the same 20k-file tar again and again (rm -rf and sync in between) gets slower run
 * after run, all of it system time (GNU tar: 6.5, 11.7, 15.6 s), while dropping the caches
 * first keeps it flat. Inputs the run should find cached are then read back, untimed.
 */
export async function settle(warm: readonly string[] = []): Promise<void> {
  await dropCaches();
  if (warm.length > 0) await sh('find "$@" -type f -print0 | xargs -0r cat > /dev/null', warm);
}

/**
 * Touches `gib` GiB of guest memory once (a tmpfs file, written then removed). On this VM the
 * first write to a never-used page costs about 3.6 s/GiB against 0.7 s/GiB later, so without this
 * whichever subject runs first pays for the others' page cache (seq-write swung 2.7× on it).
 * Returns the seconds it took, which tell how cold the machine was.
 */
export async function prewarmMemory(gib: number): Promise<number> {
  if (gib <= 0) return 0;
  const mib = Math.round(gib * 1024);
  const r = await sh('f=$(mktemp /dev/shm/strata-bench-prewarm.XXXXXX); trap \'rm -f "$f"\' EXIT; dd if=/dev/zero of="$f" bs=1M count="$1" status=none', [String(mib)]);
  return r.ms / 1000;
}

/** CLOCK_MONOTONIC in µs, the clock V8 stamps profile samples with (comparable across processes). */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
