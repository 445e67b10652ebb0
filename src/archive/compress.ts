/**
 * Decompression of layer streams chosen by magic bytes, as containers/storage's
 * DecompressStream: gzip through node:zlib, zstd through fzstd, anything else passes through.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { ErrInvalidArchive, ErrNotSupported } from '../errors.js';

export type Compression = 'none' | 'gzip' | 'zstd' | 'bzip2' | 'xz';

const MAGIC: Array<[Compression, number[]]> = [
  ['gzip', [0x1f, 0x8b, 0x08]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
];

/** The compression a stream starting with `head` uses. */
export function detectCompression(head: Uint8Array): Compression {
  for (const [kind, magic] of MAGIC) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return kind;
  }
  return 'none';
}

/** The uncompressed bytes of `input`, whichever supported compression it uses. */
export async function* decompress(input: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLength = 0;
  let done = false;
  while (headLength < 6 && !done) {
    const r = await it.next();
    if (r.done) done = true;
    else if (r.value.length > 0) {
      head.push(toBuffer(r.value));
      headLength += r.value.length;
    }
  }
  const rest = async function* (): AsyncGenerator<Buffer> {
    yield* head;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield toBuffer(r.value);
  };
  const kind = detectCompression(Buffer.concat(head, Math.min(headLength, 6)));
  switch (kind) {
    case 'none':
      yield* rest();
      return;
    case 'gzip':
      yield* gunzip(rest());
      return;
    case 'zstd':
      yield* unzstd(rest());
      return;
    default:
      throw new ErrNotSupported(`layer is ${kind}-compressed; strata reads uncompressed, gzip and zstd layers`);
  }
}

async function* gunzip(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const gz = createGunzip();
  const feeder = Readable.from(source, { objectMode: false });
  feeder.on('error', (err) => gz.destroy(err));
  feeder.pipe(gz);
  try {
    for await (const chunk of gz) yield chunk as Buffer;
  } catch (err) {
    throw asArchiveError('gzip', err);
  } finally {
    feeder.destroy();
  }
}

async function* unzstd(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const out: Buffer[] = [];
  const d = new Decompress((data) => {
    if (data.length > 0) out.push(toBuffer(data));
  });
  try {
    for await (const chunk of source) {
      d.push(chunk);
      yield* out.splice(0);
    }
    d.push(new Uint8Array(0), true);
  } catch (err) {
    throw asArchiveError('zstd', err);
  }
  yield* out.splice(0);
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Decoder failures mean a corrupt layer; errors from the input stream itself pass through. */
function asArchiveError(kind: string, err: unknown): unknown {
  const code = (err as { code?: unknown }).code;
  const isDecoder = typeof code === 'number' || (typeof code === 'string' && code.startsWith('Z_'));
  if (!isDecoder) return err;
  return new ErrInvalidArchive(`invalid layer archive: ${kind} stream: ${(err as Error).message}`, { cause: err });
}
