/** delete, delete-layer, delete-image, delete-container: per-argument results, as containers-storage prints them. */
import { messageAbout, sortedMap } from '../io.js';
import { flag, jsonFlag, type CommandSpec, type Ctx, type Options } from '../spec.js';

/** Runs `remove` on every argument; prints errors (or a JSON map of them) and fails if any failed. */
function deleteEach(remove: (ctx: Ctx, what: string) => Promise<void>) {
  return async (ctx: Ctx, args: string[], opts: Options): Promise<number> => {
    const results = new Map<string, string>();
    for (const what of args) {
      try {
        await remove(ctx, what);
        results.set(what, '');
      } catch (err) {
        results.set(what, messageAbout(err, what));
      }
    }
    if (flag(opts, 'json')) ctx.json(sortedMap(results));
    else for (const [what, err] of results) if (err !== '') ctx.err(`${what}: ${err}\n`);
    return [...results.values()].some((e) => e !== '') ? 1 : 0;
  };
}

async function deleteImages(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  const results = new Map<string, { 'deleted-layers'?: string[]; error?: string }>();
  for (const what of args) {
    try {
      const layers = await ctx.store.deleteImage(what, !flag(opts, 'test'));
      results.set(what, layers.length > 0 ? { 'deleted-layers': layers } : {});
    } catch (err) {
      results.set(what, { error: messageAbout(err, what) });
    }
  }
  if (flag(opts, 'json')) ctx.json(sortedMap(results));
  else {
    for (const [what, r] of results) {
      if (r.error !== undefined) ctx.err(`${what}: ${r.error}\n`);
      else for (const layer of r['deleted-layers'] ?? []) ctx.err(`${what}: ${layer}\n`);
    }
  }
  return [...results.values()].some((r) => r.error !== undefined) ? 1 : 0;
}

const spec = (names: string[], optionsHelp: string, usage: string, action: CommandSpec['action']): CommandSpec => ({
  names,
  optionsHelp,
  usage,
  minArgs: 1,
  maxArgs: 0,
  flags: [jsonFlag],
  action,
});

export const deleteCommands: CommandSpec[] = [
  spec(
    ['delete'],
    '[LayerOrImageOrContainerNameOrID [...]]',
    'Delete a layer or image or container, with no safety checks',
    deleteEach((ctx, what) => ctx.store.delete(what)),
  ),
  spec(
    ['delete-layer', 'deletelayer'],
    '[LayerNameOrID [...]]',
    'Delete a layer, with safety checks',
    deleteEach((ctx, what) => ctx.store.deleteLayer(what)),
  ),
  {
    ...spec(['delete-image', 'deleteimage'], '[ImageNameOrID [...]]', 'Delete an image, with safety checks', deleteImages),
    flags: [{ long: ['test'], short: 't', kind: 'bool', help: 'Only test removal' }, jsonFlag],
  },
  spec(
    ['delete-container', 'deletecontainer'],
    '[ContainerNameOrID [...]]',
    'Delete a container, with safety checks',
    deleteEach((ctx, what) => ctx.store.deleteContainer(what)),
  ),
];
