/** strata's image commands beyond containers-storage's: import-image, export-layer and commit. */
import { createWriteStream } from 'node:fs';
import { commitContainer } from '../../image/commit.js';
import { exportLayer } from '../../image/export-layer.js';
import { importImage } from '../../image/import.js';
import { progressBar, type ProgressStream } from '../../progress.js';
import { imageJSON } from '../../store/codec.js';
import type { Image } from '../../store/types.js';
import { flag, jsonFlag, list, text, type CommandSpec, type Ctx, type Options } from '../spec.js';

function printImages(ctx: Ctx, images: Image[], opts: Options): void {
  if (flag(opts, 'json')) return ctx.json(images.map(imageJSON));
  for (const image of images) {
    ctx.out(`${image.id}\n`);
    for (const name of image.names) ctx.out(`\t${name}\n`);
  }
}

async function importCmd(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  try {
    const names = list(opts, 'name');
    const imported = await importImage(ctx.store, args[0] as string, {
      names: names.length > 0 ? names : undefined,
      progress: progressBar(ctx.io.stderr as ProgressStream),
    });
    printImages(ctx, imported.map((i) => i.image), opts);
    return 0;
  } catch (err) {
    return ctx.fail(err);
  }
}

async function exportLayerCmd(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  try {
    const file = text(opts, 'file');
    const out = file !== '' ? createWriteStream(file) : ctx.io.stdout;
    await exportLayer(ctx.store, args[0] as string, out, {
      compress: flag(opts, 'compress'),
      end: file !== '',
      progress: progressBar(ctx.io.stderr as ProgressStream),
    });
    return 0;
  } catch (err) {
    return ctx.fail(err);
  }
}

async function commitCmd(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  try {
    const comment = text(opts, 'comment');
    const { image } = await commitContainer(ctx.store, args[0] as string, {
      names: list(opts, 'name'),
      comment: comment !== '' ? comment : undefined,
      progress: progressBar(ctx.io.stderr as ProgressStream),
    });
    printImages(ctx, [image], opts);
    return 0;
  } catch (err) {
    return ctx.fail(err);
  }
}

export const imageIOCommands: CommandSpec[] = [
  {
    names: ['import-image'],
    usage: 'Import the images of a docker-archive (docker save) or an OCI image layout (directory or tar)',
    optionsHelp: '[options [...]] FILE|DIR',
    minArgs: 1,
    maxArgs: 1,
    flags: [{ long: ['name'], short: 'n', kind: 'list', help: 'Image name, instead of the archive\'s (one-image archives only)' }, jsonFlag],
    action: importCmd,
  },
  {
    names: ['export-layer'],
    usage: "Write a container's (or a layer's) changes as a layer tar to --file or stdout, gzip with --compress",
    optionsHelp: '[options [...]] containerOrLayerNameOrID',
    minArgs: 1,
    maxArgs: 1,
    flags: [
      { long: ['file'], short: 'f', kind: 'string', help: 'Write to FILE instead of stdout' },
      { long: ['compress'], short: 'c', kind: 'bool', help: 'Compress using gzip' },
    ],
    action: exportLayerCmd,
  },
  {
    names: ['commit'],
    usage: "Save a container's changes as a new layer and a new image on top of the container's image",
    optionsHelp: '[options [...]] containerNameOrID',
    minArgs: 1,
    maxArgs: 1,
    flags: [
      { long: ['name'], short: 'n', kind: 'list', help: 'Name for the new image' },
      { long: ['comment'], short: 'm', kind: 'string', help: 'Comment for the history entry' },
      jsonFlag,
    ],
    action: commitCmd,
  },
];
