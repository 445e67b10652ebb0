/** Layer commands: create-layer, import-layer, layers, layer, layer-parent-owners, layer data. */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { layerJSON } from '../../store/codec.js';
import type { Container, Image, Layer } from '../../store/types.js';
import { flag, jsonFlag, list, text, type CommandSpec, type Ctx, type FlagSpec, type Options } from '../spec.js';
import { idMappingFlags, idMappingOptions } from './id-flags.js';
import { printTree, type TreeNode } from '../tree.js';

const createFlags: FlagSpec[] = [
  { long: ['label'], short: 'l', kind: 'string', help: 'Mount Label' },
  { long: ['name'], short: 'n', kind: 'list', help: 'Layer name' },
  { long: ['id'], short: 'i', kind: 'string', help: 'Layer ID' },
  { long: ['readonly'], short: 'r', kind: 'bool', help: 'Mark as read-only' },
  jsonFlag,
];

function printCreated(ctx: Ctx, layer: Layer, json: boolean): void {
  if (json) return ctx.json(layerJSON(layer));
  ctx.out(`${layer.id}\n`);
  for (const name of layer.names) ctx.out(`\t${name}\n`);
}

async function createOrImport(ctx: Ctx, args: string[], opts: Options, diff: boolean): Promise<number> {
  let layer: Layer;
  try {
    const create = {
      id: text(opts, 'id'),
      parent: args[0] ?? '',
      names: list(opts, 'name'),
      mountLabel: text(opts, 'label'),
      writeable: !flag(opts, 'readonly'),
      ...idMappingOptions(opts),
    };
    if (!diff) layer = await ctx.store.createLayer(create);
    else {
      const file = text(opts, 'file');
      const input = file !== '' ? createReadStream(file) : ctx.io.stdin;
      layer = (await ctx.store.putLayer(create, input)).layer;
    }
  } catch (err) {
    return ctx.fail(err);
  }
  printCreated(ctx, layer, flag(opts, 'json'));
  return 0;
}

/** Which images and container sit on each layer, for the listings. */
function users(images: Image[], containers: Container[]): {
  images: Map<string, Image[]>;
  containers: Map<string, Container>;
} {
  const byLayer = new Map<string, Image[]>();
  for (const image of images) {
    for (const id of [image.topLayer, ...image.mappedTopLayers]) byLayer.set(id, [...(byLayer.get(id) ?? []), image]);
  }
  return { images: byLayer, containers: new Map(containers.map((c) => [c.layerID, c])) };
}

async function listLayers(ctx: Ctx, _args: string[], opts: Options): Promise<number> {
  let layers: Layer[];
  try {
    layers = await ctx.store.layers();
  } catch (err) {
    return ctx.fail(err);
  }
  if (flag(opts, 'json')) {
    ctx.json(layers.map(layerJSON));
    return 0;
  }
  const u = users(
    await ctx.store.images().catch(() => []),
    await ctx.store.containers().catch(() => []),
  );
  const nodes: TreeNode[] = [];
  for (const layer of layers) {
    const images = u.images.get(layer.id) ?? [];
    const container = u.containers.get(layer.id);
    if (flag(opts, 'tree')) {
      const notes = layer.names.map((n) => `name: ${n}`);
      if (layer.mountPoint !== '') notes.push(`mount: ${layer.mountPoint}`);
      for (const image of images) notes.push(`image: ${image.id}`, ...image.names.map((n) => `image name: ${n}`));
      if (container !== undefined) {
        notes.push(`container: ${container.id}`, ...container.names.map((n) => `container name: ${n}`));
      }
      nodes.push({ left: layer.parent === '' ? '(base)' : layer.parent, right: layer.id, notes });
      continue;
    }
    ctx.out(`${layer.id}\n`);
    for (const name of layer.names) ctx.out(`\tname: ${name}\n`);
    for (const image of images) {
      ctx.out(`\timage: ${image.id}\n`);
      for (const name of image.names) ctx.out(`\t\tname: ${name}\n`);
    }
    if (container !== undefined) {
      ctx.out(`\tcontainer: ${container.id}\n`);
      for (const name of container.names) ctx.out(`\t\tname: ${name}\n`);
    }
  }
  if (flag(opts, 'tree')) ctx.out(printTree(nodes));
  return 0;
}

async function matching(ctx: Ctx, args: string[]): Promise<Layer[]> {
  const found: Layer[] = [];
  for (const arg of args) {
    const layer = await ctx.store.layer(arg).catch(() => undefined);
    if (layer !== undefined) found.push(layer);
  }
  return found;
}

async function showLayer(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  const matched = await matching(ctx, args);
  if (flag(opts, 'json')) ctx.json(matched.map(layerJSON));
  else {
    for (const layer of matched) {
      ctx.out(`ID: ${layer.id}\n`);
      for (const m of layer.uidMap) ctx.out(`UID mapping: (container=${m.containerID}, host=${m.hostID}, size=${m.size})\n`);
      for (const m of layer.gidMap) ctx.out(`GID mapping: (container=${m.containerID}, host=${m.hostID}, size=${m.size})\n`);
      if (layer.parent !== '') ctx.out(`Parent: ${layer.parent}\n`);
      for (const name of layer.names) ctx.out(`Name: ${name}\n`);
      if (layer.readOnly) ctx.out('Read Only: true\n');
    }
  }
  return matched.length === args.length ? 0 : 1;
}

async function parentOwners(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  const matched = await matching(ctx, args);
  for (const layer of matched) {
    let owners: { uids: number[]; gids: number[] };
    try {
      owners = await ctx.store.layerParentOwners(layer.id);
    } catch (err) {
      return ctx.fail(err, 'LayerParentOwner: ');
    }
    if (flag(opts, 'json')) ctx.json({ ID: layer.id, UIDs: owners.uids.length > 0 ? owners.uids : null, GIDs: owners.gids.length > 0 ? owners.gids : null });
    else {
      ctx.out(`ID: ${layer.id}\n`);
      if (owners.uids.length > 0) ctx.out(`UIDs: [${owners.uids.join(' ')}]\n`);
      if (owners.gids.length > 0) ctx.out(`GIDs: [${owners.gids.join(' ')}]\n`);
    }
  }
  return matched.length === args.length ? 0 : 1;
}

async function listData(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  try {
    const layer = await ctx.store.layer(args[0] as string);
    const names = await ctx.store.listLayerBigData(layer.id);
    if (flag(opts, 'json')) ctx.json(names);
    else for (const n of names) ctx.out(`${n}\n`);
    return 0;
  } catch (err) {
    return ctx.fail(err);
  }
}

async function getData(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  try {
    const layer = await ctx.store.layer(args[0] as string);
    const file = text(opts, 'file');
    const data = await ctx.store.layerBigData(layer.id, args[1] as string);
    if (file !== '') await pipeline(data, createWriteStream(file));
    else await pipeline(data, ctx.io.stdout, { end: false });
    return 0;
  } catch (err) {
    return ctx.fail(err);
  }
}

async function setData(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  try {
    const layer = await ctx.store.layer(args[0] as string);
    const file = text(opts, 'file');
    const data = file !== '' ? await readFile(file) : ctx.io.stdin;
    await ctx.store.setLayerBigData(layer.id, args[1] as string, data);
    return 0;
  } catch (err) {
    return ctx.fail(err);
  }
}

const fileFlag = (help: string): FlagSpec => ({ long: ['file'], short: 'f', kind: 'string', help });

export const layerCommands: CommandSpec[] = [
  {
    names: ['create-layer', 'createlayer'],
    optionsHelp: '[options [...]] [parentLayerNameOrID]',
    usage: 'Create a new layer',
    minArgs: 0,
    maxArgs: 1,
    flags: [...createFlags, ...idMappingFlags],
    action: (ctx, args, opts) => createOrImport(ctx, args, opts, false),
  },
  {
    names: ['import-layer', 'importlayer'],
    optionsHelp: '[options [...]] [parentLayerNameOrID]',
    usage: 'Import a new layer',
    minArgs: 0,
    maxArgs: 1,
    flags: [...createFlags, fileFlag('Read from file instead of stdin'), ...idMappingFlags],
    action: (ctx, args, opts) => createOrImport(ctx, args, opts, true),
  },
  {
    names: ['layer'],
    optionsHelp: '[options [...]] layerNameOrID [...]',
    usage: 'Examine a layer',
    minArgs: 1,
    maxArgs: 0,
    flags: [jsonFlag],
    action: showLayer,
  },
  {
    names: ['layer-parent-owners'],
    optionsHelp: '[options [...]] layerNameOrID [...]',
    usage: 'Compute the set of unmapped parent UIDs and GIDs of the layer',
    minArgs: 1,
    maxArgs: 0,
    flags: [jsonFlag],
    action: parentOwners,
  },
  {
    names: ['list-layer-data', 'listlayerdata'],
    optionsHelp: '[options [...]] layerNameOrID',
    usage: 'List data items that are attached to a layer',
    minArgs: 1,
    maxArgs: 1,
    flags: [jsonFlag],
    action: listData,
  },
  {
    names: ['get-layer-data', 'getlayerdata'],
    optionsHelp: '[options [...]] layerID dataName',
    usage: 'Get data that is attached to a layer',
    minArgs: 2,
    maxArgs: 0,
    flags: [fileFlag('Write data to file')],
    action: getData,
  },
  {
    names: ['set-layer-data', 'setlayerdata'],
    optionsHelp: '[options [...]] layerID dataName',
    usage: 'Set data that is attached to a layer',
    minArgs: 2,
    maxArgs: 0,
    flags: [fileFlag('Read data from file')],
    action: setData,
  },
  {
    names: ['layers'],
    optionsHelp: '[options [...]]',
    usage: 'List layers',
    minArgs: 0,
    maxArgs: 0,
    flags: [{ long: ['tree'], short: 't', kind: 'bool', help: 'Use a tree' }, jsonFlag],
    action: listLayers,
  },
];
