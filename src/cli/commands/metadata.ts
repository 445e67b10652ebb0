/** metadata, set-metadata and exists. */
import { ErrInvalidOption } from '../../errors.js';
import { sortedMap } from '../io.js';
import { flag, jsonFlag, type CommandSpec, type Ctx, type Options } from '../spec.js';
import { metadataFlags, metadataParam } from './images.js';

async function metadata(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  const found = new Map<string, string>();
  let missing = false;
  for (const what of args) {
    try {
      found.set(what, (await ctx.store.metadata(what)).replace(/\n$/, ''));
    } catch {
      missing = true;
    }
  }
  if (flag(opts, 'json')) ctx.json(sortedMap(found));
  else for (const what of args) ctx.out(flag(opts, 'quiet') ? `${found.get(what) ?? ''}\n` : `${what}: ${found.get(what) ?? ''}\n`);
  return missing ? 1 : 0;
}

async function setMetadata(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  try {
    const value = await metadataParam(opts);
    if (value === '' && opts.metadataFile === undefined) throw new ErrInvalidOption('no new metadata provided');
    await ctx.store.setMetadata(args[0] as string, value);
    return 0;
  } catch (err) {
    return ctx.fail(err);
  }
}

async function exists(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  const found = new Map<string, boolean>();
  let anyMissing = false;
  for (const what of args) {
    let present = await ctx.store.exists(what);
    found.set(what, present);
    // The kind switches narrow the exit code only, as in containers-storage.
    if (flag(opts, 'container') && !(await ctx.store.container(what).then(() => true, () => false))) present = false;
    if (flag(opts, 'image') && !(await ctx.store.image(what).then(() => true, () => false))) present = false;
    if (flag(opts, 'layer') && !(await ctx.store.layer(what).then(() => true, () => false))) present = false;
    if (!present) anyMissing = true;
  }
  if (flag(opts, 'json')) ctx.json(sortedMap(found));
  else if (!flag(opts, 'quiet')) for (const [what, present] of found) ctx.out(`${what}: ${present}\n`);
  return anyMissing ? 1 : 0;
}

export const metadataCommands: CommandSpec[] = [
  {
    names: ['exists'],
    optionsHelp: '[LayerOrImageOrContainerNameOrID [...]]',
    usage: 'Check if a layer or image or container exists',
    minArgs: 1,
    maxArgs: 0,
    flags: [
      { long: ['quiet'], short: 'q', kind: 'bool', help: "Don't print names" },
      { long: ['layer'], short: 'l', kind: 'bool', help: 'Only succeed if the match is a layer' },
      { long: ['image'], short: 'i', kind: 'bool', help: 'Only succeed if the match is an image' },
      { long: ['container'], short: 'c', kind: 'bool', help: 'Only succeed if the match is a container' },
      jsonFlag,
    ],
    action: exists,
  },
  {
    names: ['metadata'],
    optionsHelp: '[LayerOrImageOrContainerNameOrID [...]]',
    usage: 'Retrieve layer, image, or container metadata',
    minArgs: 1,
    maxArgs: 0,
    flags: [{ long: ['quiet'], short: 'q', kind: 'bool', help: 'Omit names and IDs' }, jsonFlag],
    action: metadata,
  },
  {
    names: ['set-metadata', 'setmetadata'],
    optionsHelp: '[options [...]] layerOrImageOrContainerNameOrID',
    usage: 'Set layer, image, or container metadata',
    minArgs: 1,
    maxArgs: 1,
    flags: metadataFlags,
    action: setMetadata,
  },
];
