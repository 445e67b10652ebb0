/** Container commands: create-container, containers, container, container data and directories. */
import { readFile, writeFile } from 'node:fs/promises';
import { containerJSON } from '../../store/codec.js';
import { digestError } from '../../store/bigdata.js';
import type { Container } from '../../store/types.js';
import { readAll } from '../io.js';
import { flag, jsonFlag, list, text, type CommandSpec, type Ctx, type FlagSpec, type Options } from '../spec.js';
import { idMappingFlags, idMappingOptions } from './id-flags.js';
import { metadataFlags, metadataParam } from './images.js';


async function createContainer(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  let container: Container;
  try {
    container = await ctx.store.createContainer({
      id: text(opts, 'id'),
      names: list(opts, 'name'),
      image: args[0] as string,
      metadata: await metadataParam(opts),
      volatile: flag(opts, 'volatile'),
      ...idMappingOptions(opts),
    });
  } catch (err) {
    return ctx.fail(err);
  }
  if (flag(opts, 'json')) ctx.json(containerJSON(container));
  else {
    // No newline after the names: containers-storage prints them so.
    ctx.out(`${container.id}\n`);
    for (const name of container.names) ctx.out(`\t${name}`);
  }
  return 0;
}

async function listContainers(ctx: Ctx, _args: string[], opts: Options): Promise<number> {
  let containers: Container[];
  try {
    containers = await ctx.store.containers();
  } catch (err) {
    return ctx.fail(err);
  }
  if (flag(opts, 'json')) ctx.json(containers.map(containerJSON));
  else {
    for (const c of containers) {
      ctx.out(`${c.id}\n`);
      for (const name of c.names) ctx.out(`\tname: ${name}\n`);
      for (const name of c.bigDataNames) ctx.out(`\tdata: ${name}\n`);
    }
  }
  return 0;
}

async function matching(ctx: Ctx, args: string[]): Promise<Container[]> {
  const found: Container[] = [];
  for (const arg of args) {
    const c = await ctx.store.container(arg).catch(() => undefined);
    if (c !== undefined) found.push(c);
  }
  return found;
}

async function showContainer(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  let images;
  try {
    images = await ctx.store.images();
  } catch (err) {
    return ctx.fail(err);
  }
  const matched = await matching(ctx, args);
  if (flag(opts, 'json')) ctx.json(matched.map(containerJSON));
  else {
    for (const c of matched) {
      ctx.out(`ID: ${c.id}\n`);
      for (const name of c.names) ctx.out(`Name: ${name}\n`);
      ctx.out(`Image: ${c.imageID}\n`);
      for (const name of images.find((i) => i.id === c.imageID)?.names ?? []) ctx.out(`Image name: ${name}\n`);
      try {
        ctx.out(`Size: ${await ctx.store.containerSize(c.id)}\n`);
      } catch (err) {
        ctx.out(`Size unknown: ${(err as Error).message}\n`);
      }
      ctx.out(`Layer: ${c.layerID}\n`);
      for (const name of c.bigDataNames) ctx.out(`Data: ${name}\n`);
    }
  }
  return matched.length === args.length ? 0 : 1;
}

async function parentOwners(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  const matched = await matching(ctx, args);
  for (const c of matched) {
    let owners: { uids: number[]; gids: number[] };
    try {
      owners = await ctx.store.containerParentOwners(c.id);
    } catch (err) {
      return ctx.fail(err, 'ContainerParentOwner: ');
    }
    if (flag(opts, 'json')) {
      ctx.json({ ID: c.id, UIDs: owners.uids.length > 0 ? owners.uids : null, GIDs: owners.gids.length > 0 ? owners.gids : null });
    } else {
      ctx.out(`ID: ${c.id}\nUIDs: [${owners.uids.join(' ')}]\nGIDs: [${owners.gids.join(' ')}]\n`);
    }
  }
  return matched.length === args.length ? 0 : 1;
}

function onContainer(fn: (ctx: Ctx, c: Container, args: string[], opts: Options) => Promise<void>) {
  return async (ctx: Ctx, args: string[], opts: Options): Promise<number> => {
    try {
      await fn(ctx, await ctx.store.container(args[0] as string), args, opts);
      return 0;
    } catch (err) {
      return ctx.fail(err);
    }
  };
}

const fileFlag = (help: string): FlagSpec => ({ long: ['file'], short: 'f', kind: 'string', help });

const data = (
  names: string[],
  usage: string,
  fn: (ctx: Ctx, c: Container, args: string[], opts: Options) => Promise<void>,
  flags: FlagSpec[] = [],
): CommandSpec => ({
  names,
  usage,
  optionsHelp: '[options [...]] containerNameOrID dataName',
  minArgs: 2,
  maxArgs: 0,
  flags,
  action: onContainer(fn),
});

const dir = (names: string[], usage: string, root: 'graph' | 'run'): CommandSpec => ({
  names,
  usage,
  optionsHelp: '[options [...]] containerNameOrID',
  minArgs: 1,
  maxArgs: 0,
  flags: [],
  action: async (ctx, args) => {
    try {
      const id = args[0] as string;
      ctx.out(`${root === 'graph' ? await ctx.store.containerDirectory(id) : await ctx.store.containerRunDirectory(id)}\n`);
      return 0;
    } catch (err) {
      return ctx.fail(err);
    }
  },
});

export const containerCommands: CommandSpec[] = [
  {
    names: ['container'],
    optionsHelp: '[options [...]] containerNameOrID [...]',
    usage: 'Examine a container',
    minArgs: 1,
    maxArgs: 0,
    flags: [jsonFlag],
    action: showContainer,
  },
  {
    names: ['list-container-data', 'listcontainerdata'],
    optionsHelp: '[options [...]] containerNameOrID',
    usage: 'List data items that are attached to an container',
    minArgs: 1,
    maxArgs: 1,
    flags: [jsonFlag],
    action: onContainer(async (ctx, c, _args, opts) => {
      const names = await ctx.store.listContainerBigData(c.id);
      if (flag(opts, 'json')) ctx.json(names);
      else for (const n of names) ctx.out(`${n}\n`);
    }),
  },
  data(
    ['get-container-data', 'getcontainerdata'],
    'Get data that is attached to an container',
    async (ctx, c, args, opts) => {
      const value = await ctx.store.containerBigData(c.id, args[1] as string);
      const file = text(opts, 'file');
      if (file !== '') await writeFile(file, value);
      else ctx.io.stdout.write(value);
    },
    [fileFlag('Write data to file')],
  ),
  data(['get-container-data-size', 'getcontainerdatasize'], 'Get size of data that is attached to an container', async (ctx, c, args) => {
    ctx.out(`${await ctx.store.containerBigDataSize(c.id, args[1] as string)}\n`);
  }),
  data(
    ['get-container-data-digest', 'getcontainerdatadigest'],
    'Get digest of data that is attached to an container',
    async (ctx, c, args) => {
      const d = await ctx.store.containerBigDataDigest(c.id, args[1] as string);
      const why = digestError(d);
      if (why !== undefined) throw new Error(why);
      ctx.out(`${d}\n`);
    },
  ),
  data(
    ['set-container-data', 'setcontainerdata'],
    'Set data that is attached to an container',
    async (ctx, c, args, opts) => {
      const file = text(opts, 'file');
      const value = file !== '' ? await readFile(file) : await readAll(ctx.io.stdin);
      await ctx.store.setContainerBigData(c.id, args[1] as string, value);
    },
    [fileFlag('Read data from file')],
  ),
  dir(['get-container-dir', 'getcontainerdir'], "Find the container's associated data directory", 'graph'),
  dir(['get-container-run-dir', 'getcontainerrundir'], "Find the container's associated runtime directory", 'run'),
  {
    names: ['container-parent-owners'],
    optionsHelp: '[options [...]] containerNameOrID [...]',
    usage: 'Compute the set of unmapped parent UIDs and GIDs of the container',
    minArgs: 1,
    maxArgs: 0,
    flags: [jsonFlag],
    action: parentOwners,
  },
  {
    names: ['containers'],
    optionsHelp: '[options [...]]',
    usage: 'List containers',
    minArgs: 0,
    maxArgs: 0,
    flags: [jsonFlag],
    action: listContainers,
  },
  {
    names: ['create-container', 'createcontainer'],
    optionsHelp: '[options [...]] parentImageNameOrID',
    usage: 'Create a new container from an image',
    minArgs: 1,
    maxArgs: 1,
    flags: [
      { long: ['name'], short: 'n', kind: 'list', help: 'Container name' },
      { long: ['volatile'], kind: 'bool', help: 'Mark as volatile' },
      { long: ['id'], short: 'i', kind: 'string', help: 'Container ID' },
      ...metadataFlags,
      jsonFlag,
      ...idMappingFlags,
    ],
    action: createContainer,
  },
];
