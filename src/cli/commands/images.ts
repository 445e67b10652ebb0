/** Image commands: create-image, images, images-by-digest, image, image data and directories. */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { digestError, sha256Digest } from '../../store/bigdata.js';
import { imageJSON } from '../../store/codec.js';
import type { Image } from '../../store/types.js';
import { readAll } from '../io.js';
import { flag, jsonFlag, list, text, type CommandSpec, type Ctx, type FlagSpec, type Options } from '../spec.js';


/** --metadata, or the content of --metadata-file when given. */
export async function metadataParam(opts: Options): Promise<string> {
  const file = text(opts, 'metadataFile');
  return file !== '' ? (await readFile(file)).toString('utf8') : text(opts, 'metadata');
}

export const metadataFlags: FlagSpec[] = [
  { long: ['metadata'], short: 'm', kind: 'string', help: 'Metadata' },
  { long: ['metadata-file'], short: 'f', kind: 'string', help: 'Metadata File' },
];

async function createImage(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  let image: Image;
  try {
    image = await ctx.store.createImage({
      id: text(opts, 'id'),
      names: list(opts, 'name'),
      layer: args[0] ?? '',
      metadata: await metadataParam(opts),
      digest: text(opts, 'digest'),
    });
  } catch (err) {
    return ctx.fail(err);
  }
  if (flag(opts, 'json')) ctx.json(imageJSON(image));
  else {
    ctx.out(`${image.id}\n`);
    for (const name of image.names) ctx.out(`\t${name}\n`);
  }
  return 0;
}

/** `nilWhenEmpty`: Go's Store.Images() returns a nil slice for no images, which encodes as null. */
function printImages(ctx: Ctx, images: Image[], opts: Options, nilWhenEmpty = false): void {
  if (flag(opts, 'json')) return ctx.json(images.length === 0 && nilWhenEmpty ? null : images.map(imageJSON));
  for (const image of images) {
    ctx.out(`${image.id}\n`);
    if (flag(opts, 'quiet')) continue;
    for (const name of image.names) ctx.out(`\tname: ${name}\n`);
    for (const d of image.digests) ctx.out(`\tdigest: ${d}\n`);
    for (const name of image.bigDataNames) ctx.out(`\tdata: ${name}\n`);
  }
}

async function listImages(ctx: Ctx, _args: string[], opts: Options): Promise<number> {
  try {
    printImages(ctx, await ctx.store.images(), opts, true);
    return 0;
  } catch (err) {
    return ctx.fail(err);
  }
}

async function byDigest(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  const found: Image[] = [];
  for (const arg of args) {
    const why = digestError(arg);
    if (why !== undefined) {
      ctx.err(`${arg}: ${why}\n`);
      return 1;
    }
    try {
      found.push(...(await ctx.store.imagesByDigest(arg)));
    } catch (err) {
      return ctx.fail(err);
    }
  }
  printImages(ctx, found, opts);
  return 0;
}

async function showImage(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  const matched: Image[] = [];
  for (const arg of args) {
    const image = await ctx.store.image(arg).catch(() => undefined);
    if (image !== undefined) matched.push(image);
  }
  if (flag(opts, 'json')) ctx.json(matched.map(imageJSON));
  else {
    for (const image of matched) {
      ctx.out(`ID: ${image.id}\n`);
      for (const name of image.names) ctx.out(`Name: ${name}\n`);
      ctx.out(`Top Layer: ${image.topLayer}\n`);
      for (const id of image.mappedTopLayers) ctx.out(`Top Layer: ${id}\n`);
      for (const d of image.digests) ctx.out(`Digest: ${d}\n`);
      for (const name of image.bigDataNames) ctx.out(`Data: ${name}\n`);
      try {
        ctx.out(`Size: ${await ctx.store.imageSize(image.id)}\n`);
      } catch (err) {
        ctx.out(`Size unknown: ${(err as Error).message}\n`);
      }
      if (image.readOnly) ctx.out('Read Only: true\n');
    }
  }
  return matched.length === args.length ? 0 : 1;
}

/** Runs `fn` on the image named by the first argument, printing any error as Go does. */
function onImage(fn: (ctx: Ctx, image: Image, args: string[], opts: Options) => Promise<void>) {
  return async (ctx: Ctx, args: string[], opts: Options): Promise<number> => {
    try {
      await fn(ctx, await ctx.store.image(args[0] as string), args, opts);
      return 0;
    } catch (err) {
      return ctx.fail(err);
    }
  };
}

const fileFlag = (help: string): FlagSpec => ({ long: ['file'], short: 'f', kind: 'string', help });

const image1 = (
  names: string[],
  usage: string,
  fn: (ctx: Ctx, image: Image, args: string[], opts: Options) => Promise<void>,
  extra: Partial<CommandSpec> = {},
): CommandSpec => ({
  names,
  usage,
  optionsHelp: '[options [...]] imageNameOrID dataName',
  minArgs: 2,
  maxArgs: 0,
  flags: [],
  action: onImage(fn),
  ...extra,
});

export const imageCommands: CommandSpec[] = [
  {
    names: ['create-image', 'createimage'],
    optionsHelp: '[options [...]] topLayerNameOrID',
    usage: 'Create a new image using layers',
    minArgs: 0,
    maxArgs: 1,
    flags: [
      { long: ['name'], short: 'n', kind: 'list', help: 'Image name' },
      { long: ['id'], short: 'i', kind: 'string', help: 'Image ID' },
      { long: ['digest'], short: 'd', kind: 'string', help: 'Image Digest' },
      ...metadataFlags,
      jsonFlag,
    ],
    action: createImage,
  },
  {
    names: ['image'],
    optionsHelp: '[options [...]] imageNameOrID [...]',
    usage: 'Examine an image',
    minArgs: 1,
    maxArgs: 0,
    flags: [jsonFlag],
    action: showImage,
  },
  {
    names: ['list-image-data', 'listimagedata'],
    optionsHelp: '[options [...]] imageNameOrID',
    usage: 'List data items that are attached to an image',
    minArgs: 1,
    maxArgs: 1,
    flags: [jsonFlag],
    action: onImage(async (ctx, image, _args, opts) => {
      const names = await ctx.store.listImageBigData(image.id);
      if (flag(opts, 'json')) ctx.json(names);
      else for (const n of names) ctx.out(`${n}\n`);
    }),
  },
  image1(
    ['get-image-data', 'getimagedata'],
    'Get data that is attached to an image',
    async (ctx, image, args, opts) => {
      const data = await ctx.store.imageBigData(image.id, args[1] as string);
      const file = text(opts, 'file');
      if (file !== '') await pipeline(Readable.from([data]), createWriteStream(file));
      else ctx.io.stdout.write(data);
    },
    { flags: [fileFlag('Write data to file')] },
  ),
  image1(['get-image-data-size', 'getimagedatasize'], 'Get size of data that is attached to an image', async (ctx, image, args) => {
    ctx.out(`${await ctx.store.imageBigDataSize(image.id, args[1] as string)}\n`);
  }),
  image1(
    ['get-image-data-digest', 'getimagedatadigest'],
    'Get digest of data that is attached to an image',
    async (ctx, image, args) => {
      const d = await ctx.store.imageBigDataDigest(image.id, args[1] as string);
      const why = digestError(d);
      if (why !== undefined) throw new Error(why);
      ctx.out(`${d}\n`);
    },
  ),
  image1(
    ['set-image-data', 'setimagedata'],
    'Set data that is attached to an image (with sometimes wrong digest)',
    async (ctx, image, args, opts) => {
      const file = text(opts, 'file');
      const data = file !== '' ? await readFile(file) : await readAll(ctx.io.stdin);
      // As containers-storage: a manifest's digest is taken as the plain sha256 of its bytes.
      await ctx.store.setImageBigData(image.id, args[1] as string, data, sha256Digest);
    },
    { flags: [fileFlag('Read data from file')] },
  ),
  {
    names: ['get-image-dir', 'getimagedir'],
    optionsHelp: '[options [...]] imageNameOrID',
    usage: "Find the image's associated data directory",
    minArgs: 1,
    maxArgs: 0,
    flags: [],
    action: onImage(async (ctx, image) => ctx.out(`${await ctx.store.imageDirectory(image.id)}\n`)),
  },
  {
    names: ['get-image-run-dir', 'getimagerundir'],
    optionsHelp: '[options [...]] imageNameOrID',
    usage: "Find the image's associated runtime directory",
    minArgs: 1,
    maxArgs: 0,
    flags: [],
    action: onImage(async (ctx, image) => ctx.out(`${await ctx.store.imageRunDirectory(image.id)}\n`)),
  },
  {
    names: ['images'],
    optionsHelp: '[options [...]]',
    usage: 'List images',
    minArgs: 0,
    maxArgs: 0,
    flags: [jsonFlag, { long: ['quiet'], short: 'q', kind: 'bool', help: 'Only print IDs' }],
    action: listImages,
  },
  {
    names: ['images-by-digest'],
    optionsHelp: '[options [...]] DIGEST',
    usage: 'List images by digest',
    minArgs: 1,
    maxArgs: 1,
    flags: [jsonFlag, { long: ['quiet'], short: 'q', kind: 'bool', help: 'Only print IDs' }],
    action: byDigest,
  },
];
