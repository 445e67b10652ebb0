/**
 * Feeding a layer diff to a driver while recording what containers/storage records about it:
 * sha256 and length of the bytes as given (the compressed digest), the detected compression,
 * sha256 and length after decompression (the DiffID), and the UIDs/GIDs of its entries.
 *
 * The driver reads an uncompressed tar from its own stream; whatever it leaves unread (tar
 * padding, or everything after a failure) is still drained here so the digests cover the blob.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { ErrCompressionUnsupported } from './errors.js';
import { TarIDObserver } from './tar-ids.js';
import { Compression } from './types.js';

export interface DiffSummary {
  compressedDigest: string;
  compressedSize: number;
  uncompressedDigest: string;
  uncompressedSize: number;
  compression: Compression;
  uidSet: number[];
  gidSet: number[];
}

const magics: ReadonlyArray<[Compression, number[]]> = [
  [Compression.Bzip2, [0x42, 0x5a, 0x68]],
  [Compression.Gzip, [0x1f, 0x8b, 0x08]],
  [Compression.Xz, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  [Compression.Zstd, [0x28, 0xb5, 0x2f, 0xfd]],
];
const SNIFF_BYTES = 6;

export function detectCompression(head: Uint8Array): Compression {
  for (const [c, magic] of magics) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return c;
  }
  return Compression.Uncompressed;
}

export const compressionName: Record<Compression, string> = {
  [Compression.Uncompressed]: 'uncompressed',
  [Compression.Bzip2]: 'bzip2',
  [Compression.Gzip]: 'gzip',
  [Compression.Xz]: 'xz',
  [Compression.Zstd]: 'zstd',
};

async function* zstdChunks(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const out: Buffer[] = [];
  const d = new Decompress((data) => void out.push(Buffer.from(data)));
  for await (const chunk of src) {
    d.push(chunk);
    yield* out.splice(0);
  }
  d.push(new Uint8Array(0), true);
  yield* out.splice(0);
}

/** The decompressed form of `raw` (whose first bytes are `head`, already read). */
function decompressed(raw: AsyncIterable<Buffer>, compression: Compression): AsyncIterable<Buffer> {
  switch (compression) {
    case Compression.Uncompressed:
      return raw;
    case Compression.Gzip: {
      const gunzip = createGunzip();
      pipeline(Readable.from(raw), gunzip, () => undefined);
      return gunzip;
    }
    case Compression.Zstd:
      return zstdChunks(raw);
    default:
      throw new ErrCompressionUnsupported(`layer diff is ${compressionName[compression]}-compressed`);
  }
}

/**
 * Runs `consume` on the uncompressed tar of `source` and returns its result with the summary.
 * A failure of either side fails the whole; the source is always read to its end or destroyed.
 */
export async function ingestDiff<T>(
  source: Readable,
  consume: (tar: Readable) => Promise<T>,
): Promise<{ result: T; summary: DiffSummary }> {
  const rawHash = createHash('sha256');
  const tarHash = createHash('sha256');
  const ids = new TarIDObserver();
  let rawSize = 0;
  let tarSize = 0;
  let compression = Compression.Uncompressed;

  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      rawHash.update(b);
      rawSize += b.length;
      yield b;
    }
  }
  async function* sniffed(raw: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
    const head: Buffer[] = [];
    let headLen = 0;
    let next = await raw.next();
    while (!next.done && headLen < SNIFF_BYTES) {
      head.push(next.value);
      headLen += next.value.length;
      if (headLen < SNIFF_BYTES) next = await raw.next();
    }
    const first = Buffer.concat(head);
    compression = detectCompression(first);
    async function* replay(): AsyncGenerator<Buffer> {
      if (first.length > 0) yield first;
      if (headLen >= SNIFF_BYTES) yield* raw;
    }
    for await (const chunk of decompressed(replay(), compression)) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      tarHash.update(b);
      tarSize += b.length;
      ids.write(b);
      yield b;
    }
  }

  const toDriver = new PassThrough();
  // The consumer sees a failure through its own reads; a consumer already done must not crash us.
  toDriver.on('error', () => undefined);
  const pump = (async () => {
    try {
      for await (const chunk of sniffed(counted())) {
        // Once the driver stops reading, keep hashing but stop handing it data.
        if (toDriver.destroyed || toDriver.writableEnded) continue;
        if (!toDriver.write(chunk)) await drainOrClose(toDriver);
      }
      if (!toDriver.destroyed) toDriver.end();
    } catch (err) {
      toDriver.destroy(err as Error);
      throw err;
    }
  })();
  pump.catch(() => undefined);

  let result: T;
  try {
    result = await consume(toDriver);
  } catch (err) {
    source.destroy();
    await pump.catch(() => undefined);
    throw err;
  }
  // Tar padding past the end-of-archive blocks belongs to the blob and to its digests.
  if (!toDriver.destroyed) toDriver.resume();
  await pump;
  return {
    result,
    summary: {
      compressedDigest: `sha256:${rawHash.digest('hex')}`,
      compressedSize: rawSize,
      uncompressedDigest: `sha256:${tarHash.digest('hex')}`,
      uncompressedSize: tarSize,
      compression,
      uidSet: ids.sortedUIDs(),
      gidSet: ids.sortedGIDs(),
    },
  };
}

function drainOrClose(s: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}
