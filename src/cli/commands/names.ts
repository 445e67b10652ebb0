/** get-names, add-names, set-names and remove-names. */
import type { NameOperation } from '../../store/names.js';
import { flag, jsonFlag, list, type CommandSpec, type Ctx, type Options } from '../spec.js';

async function getNames(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  try {
    const names = await ctx.store.names(await ctx.store.lookup(args[0] as string));
    if (flag(opts, 'json')) ctx.json(names);
    else for (const n of names) ctx.out(`${n}\n`);
    return 0;
  } catch (err) {
    return ctx.fail(err);
  }
}

function update(op: NameOperation) {
  return async (ctx: Ctx, args: string[], opts: Options): Promise<number> => {
    try {
      const id = await ctx.store.lookup(args[0] as string);
      const given = list(opts, 'name');
      if (op === 'set') await ctx.store.setNames(id, given);
      // containers-storage 1.43's add-names appends the new names after the old ones.
      else if (op === 'add') await ctx.store.setNames(id, [...(await ctx.store.names(id)), ...given]);
      else await ctx.store.removeNames(id, given);
      const names = await ctx.store.names(id);
      // Go encodes a nil list as null.
      if (flag(opts, 'json')) ctx.json(names.length > 0 ? names : null);
      return 0;
    } catch (err) {
      return ctx.fail(err);
    }
  };
}

const nameFlag = { long: ['name'], short: 'n', kind: 'list', help: 'New name' } as const;

const spec = (names: string[], usage: string, action: CommandSpec['action'], withNames = true): CommandSpec => ({
  names,
  usage,
  optionsHelp: '[options [...]] imageOrContainerNameOrID',
  minArgs: 1,
  maxArgs: 0,
  flags: withNames ? [{ ...nameFlag, long: [...nameFlag.long] }, jsonFlag] : [jsonFlag],
  action,
});

export const nameCommands: CommandSpec[] = [
  spec(['get-names', 'getnames'], 'Get layer, image, or container name or names', getNames, false),
  spec(['add-names', 'addnames'], 'Add layer, image, or container name or names', update('add')),
  spec(['set-names', 'setnames'], 'Set layer, image, or container name or names', update('set')),
  spec(['remove-names', 'removenames'], 'Remove layer, image, or container name or names', update('remove')),
];
