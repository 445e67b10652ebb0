/** changes, diffsize, diff and applydiff. */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { ErrCompressionUnsupported } from '../../store/errors.js';
import { goQuote } from '../../store/go-json.js';
import { Compression } from '../../store/types.js';
import { flag, jsonFlag, text, type CommandSpec, type Ctx, type Options } from '../spec.js';

const KIND_NUMBER = { modify: 0, add: 1, delete: 2 } as const;
const KIND_WORD = { modify: 'Modify', add: 'Add', delete: 'Delete' } as const;

async function changes(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  try {
    const list = await ctx.store.changes(args[1] ?? '', args[0] as string);
    if (flag(opts, 'json')) ctx.json(list.map((c) => ({ Path: c.path, Kind: KIND_NUMBER[c.kind] })));
    else for (const c of list) ctx.out(`${KIND_WORD[c.kind]} ${goQuote(c.path)}\n`);
    return 0;
  } catch (err) {
    return ctx.fail(err);
  }
}

async function diffSize(ctx: Ctx, args: string[]): Promise<number> {
  try {
    ctx.out(`${await ctx.store.diffSize(args[1] ?? '', args[0] as string)}\n`);
    return 0;
  } catch (err) {
    return ctx.fail(err);
  }
}

function chosenCompression(opts: Options): Compression | undefined {
  if (flag(opts, 'xz')) throw new ErrCompressionUnsupported('xz (--xz)');
  if (flag(opts, 'bzip2')) throw new ErrCompressionUnsupported('bzip2 (--bzip2)');
  if (flag(opts, 'gzip')) return Compression.Gzip;
  if (flag(opts, 'uncompressed')) return Compression.Uncompressed;
  return undefined;
}

async function diff(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  try {
    const compression = chosenCompression(opts);
    const stream = await ctx.store.diff(args[1] ?? '', args[0] as string, { compression });
    const file = text(opts, 'file');
    if (file !== '') await pipeline(stream, createWriteStream(file));
    else await pipeline(stream, ctx.io.stdout, { end: false });
    return 0;
  } catch (err) {
    return ctx.fail(err);
  }
}

async function applyDiff(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  try {
    const file = text(opts, 'file');
    await ctx.store.applyDiff(args[0] as string, file !== '' ? createReadStream(file) : ctx.io.stdin);
    return 0;
  } catch (err) {
    return ctx.fail(err);
  }
}

const pair = '[options [...]] layerNameOrID [referenceLayerNameOrID]';

export const diffCommands: CommandSpec[] = [
  { names: ['changes'], usage: 'Compare two layers', optionsHelp: pair, minArgs: 1, maxArgs: 2, flags: [jsonFlag], action: changes },
  { names: ['diffsize', 'diff-size'], usage: 'Compare two layers', optionsHelp: pair, minArgs: 1, maxArgs: 2, flags: [], action: diffSize },
  {
    names: ['diff'],
    usage: 'Compare two layers',
    optionsHelp: pair,
    minArgs: 1,
    maxArgs: 2,
    flags: [
      { long: ['file'], short: 'f', kind: 'string', help: 'Write to file instead of stdout' },
      { long: ['uncompressed'], short: 'u', kind: 'bool', help: 'Use no compression' },
      { long: ['gzip'], short: 'c', kind: 'bool', help: 'Compress using gzip' },
      { long: ['bzip2', 'bz2'], short: 'b', kind: 'bool', help: 'Compress using bzip2 (not currently supported)' },
      { long: ['xz'], short: 'x', kind: 'bool', help: 'Compress using xz (not currently supported)' },
    ],
    action: diff,
  },
  {
    names: ['applydiff', 'apply-diff'],
    usage: 'Apply a diff to a layer',
    optionsHelp: '[options [...]] layerNameOrID [referenceLayerNameOrID]',
    minArgs: 1,
    maxArgs: 1,
    flags: [{ long: ['file'], short: 'f', kind: 'string', help: 'Read from file instead of stdin' }],
    action: applyDiff,
  },
];
