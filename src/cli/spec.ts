/**
 * How a command is declared: names (the first is shown, the rest are aliases), the usage line,
 * argument counts and flags, as containers-storage's command table has them.
 */
import type { Readable, Writable } from 'node:stream';
import type { Store } from '../store/store.js';

export type FlagKind = 'bool' | 'string' | 'list';

export interface FlagSpec {
  /** Long names without dashes; the first is the canonical key in parsed options. */
  long: string[];
  short?: string;
  kind: FlagKind;
  help: string;
}

export type Options = Record<string, string | boolean | string[] | undefined>;

export interface CliIO {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  env: Record<string, string | undefined>;
}

export interface Ctx {
  store: Store;
  io: CliIO;
  /** The command name as typed (an alias stays an alias, as in Go's messages). */
  cmd: string;
  out(text: string): void;
  err(text: string): void;
  /** One JSON value and a newline, as Go's json.Encoder writes it. */
  json(value: unknown): void;
  /** Prints the error as one line on stderr (with its stack under --debug) and returns exit code 1. */
  fail(err: unknown, prefix?: string): number;
}

export interface CommandSpec {
  names: string[];
  usage: string;
  optionsHelp: string;
  /** 0 means no limit, as in Go's table. */
  minArgs: number;
  maxArgs: number;
  flags: FlagSpec[];
  action(ctx: Ctx, args: string[], opts: Options): Promise<number>;
}

export const jsonFlag: FlagSpec = { long: ['json'], short: 'j', kind: 'bool', help: 'Prefer JSON output' };

/** Reads a boolean flag from parsed options. */
export const flag = (opts: Options, name: string): boolean => opts[name] === true;
/** Reads a string flag ('' when absent). */
export const text = (opts: Options, name: string): string => (typeof opts[name] === 'string' ? (opts[name] as string) : '');
/** Reads a repeatable flag. */
export const list = (opts: Options, name: string): string[] => (Array.isArray(opts[name]) ? (opts[name] as string[]) : []);
