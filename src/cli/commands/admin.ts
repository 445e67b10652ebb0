/** status, version, wipe, shutdown and gc. */
import { goList } from '../../store/go-json.js';
import { flag, jsonFlag, type CommandSpec, type Ctx, type Options } from '../spec.js';

async function status(ctx: Ctx, _args: string[], opts: Options): Promise<number> {
  let lines;
  try {
    lines = await ctx.store.status();
  } catch (err) {
    return ctx.fail(err, 'status: ');
  }
  const all: Array<[string, string]> = [
    ['Root', ctx.store.graphRoot],
    ['Run Root', ctx.store.runRoot],
    ['Driver Name', ctx.store.driverName],
    ['Driver Options', goList(ctx.store.graphOptions)],
    ...lines,
  ];
  // containers-storage prints the plain form on stderr.
  if (flag(opts, 'json')) ctx.json(all);
  else for (const [k, v] of all) ctx.err(`${k}: ${v}\n`);
  return 0;
}

async function version(ctx: Ctx, _args: string[], opts: Options): Promise<number> {
  const lines = await ctx.store.version();
  if (flag(opts, 'json')) ctx.json(lines);
  else for (const [k, v] of lines) ctx.err(`${k}: ${v}\n`);
  return 0;
}

/** wipe, shutdown and gc print nothing on success; `--json` prints "" or the error text. */
function quietAction(run: (ctx: Ctx, opts: Options) => Promise<unknown>) {
  return async (ctx: Ctx, _args: string[], opts: Options): Promise<number> => {
    try {
      await run(ctx, opts);
      if (flag(opts, 'json')) ctx.json('');
      return 0;
    } catch (err) {
      if (flag(opts, 'json')) {
        ctx.json({});
        return 1;
      }
      return ctx.fail(err, `${ctx.cmd}: `);
    }
  };
}

const simple = (names: string[], usage: string, action: CommandSpec['action'], extra: CommandSpec['flags'] = []): CommandSpec => ({
  names,
  usage,
  optionsHelp: '',
  minArgs: 0,
  maxArgs: 0,
  flags: [jsonFlag, ...extra],
  action,
});

export const shutdownCommand = simple(
  ['shutdown'],
  'Shut down layer storage',
  quietAction((ctx, opts) => ctx.store.shutdown(flag(opts, 'force'))),
  [{ long: ['force'], short: 'f', kind: 'bool', help: 'Unmount mounted layers first' }],
);
export const statusCommand = simple(['status'], 'Check on graph driver status', status);
export const versionCommand = simple(['version'], 'Return containers-storage version information', version);
export const wipeCommand = simple(['wipe'], 'Wipe all layers, images, and containers', quietAction((ctx) => ctx.store.wipe()));
export const gcCommand = simple(['gc'], 'Remove data no layer, image or container refers to', quietAction((ctx) => ctx.store.garbageCollect()));
