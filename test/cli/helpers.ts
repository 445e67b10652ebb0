/** Runs the strata command line in this process, with captured output and a given stdin. */
import { PassThrough, Readable } from 'node:stream';
import '../../src/drivers.js';
import { run } from '../../src/cli/program.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function strata(argv: string[], opts: { stdin?: Buffer | string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await run(argv, {
    stdout,
    stderr,
    stdin: Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]),
    env: opts.env ?? { PATH: process.env.PATH },
  });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** strata with -g/-R/-s vfs on a store under `dir`. */
export function storeCli(dir: string): (...argv: string[]) => Promise<CliResult> {
  return (...argv) => strata(['-g', `${dir}/g`, '-R', `${dir}/r`, '-s', 'vfs', ...argv]);
}
