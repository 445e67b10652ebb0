/**
 * The `strata` command line: containers-storage's commands, flags, outputs and exit codes,
 * parsed with commander. As with Go's flag package, options stop at the first argument
 * (`layer a --json` looks up a layer called "--json"), `--flag=false` turns a switch off, a
 * bad flag exits 125, and errors are one line on stderr unless `--debug` asks for the stack.
 */
import { Command, CommanderError, Option } from 'commander';
import { goJSONLine } from '../store/go-json.js';
import { setDebug, debug } from '../store/log.js';
import { Store } from '../store/store.js';
import { commands } from './commands/index.js';
import { flag, type CliIO, type CommandSpec, type Ctx, type FlagSpec, type Options } from './spec.js';
import { storeOptions } from './store-options.js';
import { commandUsage, flagDefaults, globalFlags, optionKey, PROGRAM, programUsage } from './usage.js';

const BOOL_WORDS = new Map([
  ...['1', 't', 'T', 'true', 'TRUE', 'True'].map((s): [string, boolean] => [s, true]),
  ...['0', 'f', 'F', 'false', 'FALSE', 'False'].map((s): [string, boolean] => [s, false]),
]);

/** Exit code of Go's flag package for a flag it cannot parse. */
const EXIT_BAD_FLAG = 125;

class UsageExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function findFlag(flags: FlagSpec[], token: string): FlagSpec | undefined {
  const name = token.replace(/^--?/, '');
  return flags.find((f) => (token.startsWith('--') ? f.long.includes(name) : f.short === name));
}

/**
 * Rewrites what Go's flag package accepts and commander does not: `--bool=false` (dropped),
 * `--bool=true` and `-b=1` (plain switch), `-s=value` (split). Stops at the first argument.
 */
function normalise(tokens: string[], flags: FlagSpec[], dropDashDash = false): { out: string[]; rest: string[] } {
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    // Before the command, `--` only ends the global flags; after it, commander handles it.
    if (t === '--') return { out, rest: tokens.slice(dropDashDash ? i + 1 : i) };
    if (!t.startsWith('-') || t === '-') return { out, rest: tokens.slice(i) };
    const eq = t.indexOf('=');
    const spec = findFlag(flags, eq < 0 ? t : t.slice(0, eq));
    if (spec !== undefined && eq >= 0) {
      const value = t.slice(eq + 1);
      if (spec.kind === 'bool') {
        const b = BOOL_WORDS.get(value);
        if (b === undefined) throw new FlagError(`invalid boolean value "${value}" for flag ${t.slice(0, eq)}`);
        if (b) out.push(t.slice(0, eq));
        continue;
      }
      out.push(t.slice(0, eq), value);
      continue;
    }
    out.push(t);
    if (spec !== undefined && spec.kind !== 'bool' && eq < 0 && i + 1 < tokens.length) out.push(tokens[++i] as string);
  }
  return { out, rest: [] };
}

class FlagError extends Error {}

function addFlags(cmd: Command, flags: FlagSpec[]): void {
  for (const f of flags) {
    const names = [...(f.short !== undefined ? [`-${f.short}`] : []), `--${f.long[0]}`].join(', ');
    const opt = new Option(f.kind === 'bool' ? names : `${names} <value>`, f.help);
    if (f.kind === 'list') opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    cmd.addOption(opt);
    // Further long spellings (--bz2 for --bzip2) set the same key.
    for (const alias of f.long.slice(1)) {
      const a = new Option(f.kind === 'bool' ? `--${alias}` : `--${alias} <value>`).hideHelp();
      a.attributeName = () => optionKey(f);
      cmd.addOption(a);
    }
  }
  cmd.addOption(new Option('-h, --help').hideHelp());
}

function mergeOptions(global: Options, local: Options): Options {
  const merged: Options = { ...global };
  for (const [k, v] of Object.entries(local)) {
    if (v === undefined) continue;
    const g = merged[k];
    merged[k] = Array.isArray(v) && Array.isArray(g) ? [...g, ...v] : v;
  }
  return merged;
}

interface Parsed {
  name: string;
  spec: CommandSpec;
  args: string[];
  opts: Options;
}

/** Parses argv; prints usage and throws UsageExit for the cases Go handles before any command runs. */
async function parse(argv: string[], io: CliIO): Promise<Parsed> {
  const out = (s: string): void => void io.stdout.write(s);
  const errOut = (s: string): void => void io.stderr.write(s);
  let tokens: string[];
  let commandAt = -1;
  let commandName = '';
  try {
    const head = normalise(argv, globalFlags, true);
    const [name, ...after] = head.rest;
    const spec = commands.find((c) => name !== undefined && c.names.includes(name));
    const tail = spec === undefined ? { out: after, rest: [] } : normalise(after, [...globalFlags, ...spec.flags]);
    tokens = [...head.out, ...(name === undefined ? [] : [name]), ...tail.out, ...tail.rest];
    if (spec !== undefined) {
      commandAt = head.out.length;
      commandName = name as string;
    }
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    errOut(`${err.message}\n`);
    throw new UsageExit(EXIT_BAD_FLAG);
  }

  let parsed: Parsed | undefined;
  const program = new Command(PROGRAM)
    .exitOverride()
    .enablePositionalOptions()
    .helpOption(false)
    .showSuggestionAfterError(false)
    .configureOutput({ writeOut: out, writeErr: errOut, outputError: () => undefined })
    .argument('[command]')
    .allowExcessArguments(true);
  addFlags(program, globalFlags);
  program.action((name: string | undefined, opts: Options) => {
    if (flag(opts, 'help') || name === undefined) {
      out(programUsage(commands));
      errOut(flagDefaults(globalFlags));
      throw new UsageExit(flag(opts, 'help') ? 0 : 1);
    }
    out(`${name}: unrecognized command.\n`);
    throw new UsageExit(1);
  });
  for (const spec of commands) {
    const sub = program
      .command(spec.names[0] as string)
      .aliases(spec.names.slice(1))
      .passThroughOptions()
      .helpOption(false)
      .argument('[args...]')
      .allowExcessArguments(true);
    addFlags(sub, [...globalFlags, ...spec.flags]);
    sub.action((args: string[], opts: Options) => {
      parsed = { name: commandName, spec, args, opts: mergeOptions(program.opts(), opts) };
    });
  }
  try {
    await program.parseAsync(tokens, { from: 'user' });
  } catch (err) {
    if (err instanceof UsageExit || !(err instanceof CommanderError)) throw err;
    const bad = /'([^']+)'/.exec(err.message)?.[1] ?? '';
    const badAt = tokens.findIndex((t) => t === bad || t.startsWith(`${bad}=`));
    const global = commandAt < 0 || (badAt >= 0 && badAt < commandAt);
    const where = global ? PROGRAM : `${PROGRAM} ${commandName}`;
    if (err.code === 'commander.unknownOption' && global) {
      // Before the command, Go's first parse reports it on both streams and shows the usage.
      errOut(`flag provided but not defined: ${bad}\nSee '${PROGRAM} --help'.\n`);
      out(`flag provided but not defined: ${bad} while parsing arguments (1)\n${programUsage(commands)}`);
      errOut(flagDefaults(globalFlags));
      throw new UsageExit(1);
    }
    if (err.code === 'commander.unknownOption') errOut(`flag provided but not defined: ${bad}\n`);
    else if (err.code === 'commander.optionMissingArgument') {
      const typed = [...tokens].reverse().find((t) => t.startsWith('-')) ?? bad;
      errOut(`flag needs an argument: ${typed}\n`);
    } else errOut(`${err.message.replace(/^error: /, '')}\n`);
    errOut(`See '${where} --help'.\n`);
    throw new UsageExit(EXIT_BAD_FLAG);
  }
  if (parsed === undefined) throw new UsageExit(1);
  return parsed;
}

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s*\n\s*/g, ' ');
}

/** Runs one command line; returns the exit code. Never throws. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  let debugOn = false;
  setDebug(io.env.STRATA_DEBUG !== undefined && io.env.STRATA_DEBUG !== '');
  try {
    const { name, spec, args, opts } = await parse(argv, io);
    debugOn = flag(opts, 'debug');
    if (debugOn) setDebug(true);
    const printUsage = (): void => {
      io.stdout.write(commandUsage(name, spec));
      io.stderr.write(flagDefaults([...globalFlags, ...spec.flags], opts));
    };
    if (flag(opts, 'help')) {
      printUsage();
      return EXIT_BAD_FLAG;
    }
    if (spec.minArgs !== 0 && args.length < spec.minArgs) {
      io.stdout.write(`${name}: more arguments required.\n`);
      printUsage();
      return 1;
    }
    if (spec.maxArgs !== 0 && args.length > spec.maxArgs) {
      io.stdout.write(`${name}: too many arguments (${args.join(' ')}).\n`);
      printUsage();
      return 1;
    }
    const options = storeOptions(opts, io.env);
    debug(`Root: ${options.graphRoot}`);
    debug(`Run Root: ${options.runRoot}`);
    debug(`Driver Name: ${options.driver ?? ''}`);
    debug(`Driver Options: [${(options.driverOptions ?? []).join(' ')}]`);
    let store: Store;
    try {
      store = await Store.open(options);
    } catch (err) {
      io.stdout.write(`error initializing: ${oneLine(err)}\n`);
      if (debugOn && err instanceof Error) io.stderr.write(`${err.stack ?? ''}\n`);
      return 1;
    }
    const ctx: Ctx = {
      store,
      io,
      cmd: name,
      out: (s) => void io.stdout.write(s),
      err: (s) => void io.stderr.write(s),
      json: (v) => void io.stdout.write(goJSONLine(v)),
      fail: (err, prefix = '') => {
        io.stderr.write(`${prefix}${oneLine(err)}\n`);
        if (debugOn && err instanceof Error) io.stderr.write(`${err.stack ?? ''}\n`);
        return 1;
      },
    };
    return await spec.action(ctx, args, opts);
  } catch (err) {
    if (err instanceof UsageExit) return err.code;
    io.stderr.write(`${oneLine(err)}\n`);
    if (debugOn && err instanceof Error) io.stderr.write(`${err.stack ?? ''}\n`);
    return 1;
  }
}
