import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { detectCompression, ingestDiff } from '../../src/store/digest.js';
import { ErrCompressionUnsupported } from '../../src/store/errors.js';
import { TarIDObserver } from '../../src/store/tar-ids.js';
import { Compression } from '../../src/store/types.js';
import { is } from '../../src/errors.js';

interface Entry {
  name: string;
  uid: number;
  gid: number;
  body?: string;
  type?: 'file' | 'directory';
  pax?: Record<string, string>;
}

async function makeTar(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const e of entries) {
    pack.entry({ name: e.name, uid: e.uid, gid: e.gid, type: e.type ?? 'file', mode: 0o644, pax: e.pax }, e.body ?? '');
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A stream that yields `data` in small pieces, to cross every header and block boundary. */
function trickle(data: Buffer, size = 7): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts);
}

describe('tar ID observer', () => {
  it('collects owners of entries, skipping whiteouts, through PAX and long names', async () => {
    const long = `${'d'.repeat(120)}/file`;
    const data = await makeTar([
      { name: 'etc', uid: 0, gid: 0, type: 'directory' },
      { name: 'etc/motd', uid: 1000, gid: 1001, body: 'hi\n' },
      { name: 'etc/.wh.gone', uid: 4242, gid: 4243 },
      // Too big for the octal field: the real owner travels in a PAX header.
      { name: long, uid: 7, gid: 70, body: 'x'.repeat(700), pax: { uid: '3000000' } },
    ]);
    const obs = new TarIDObserver();
    for await (const c of trickle(data, 13)) obs.write(c as Buffer);
    expect(obs.sortedUIDs()).toEqual([0, 1000, 3_000_000]);
    expect(obs.sortedGIDs()).toEqual([0, 70, 1001]);
  });
});

describe('ingestDiff', () => {
  it('records the digests and sizes of a gzip blob and of its tar, and its owners', async () => {
    const plain = await makeTar([{ name: 'a', uid: 5, gid: 6, body: 'hello' }]);
    const gz = gzipSync(plain);
    let seen = Buffer.alloc(0);
    const { result, summary } = await ingestDiff(trickle(gz), async (tarStream) => {
      for await (const c of tarStream) seen = Buffer.concat([seen, c as Buffer]);
      return 'applied';
    });
    expect(result).toBe('applied');
    expect(seen.equals(plain)).toBe(true);
    expect(summary).toEqual({
      compressedDigest: sha(gz),
      compressedSize: gz.length,
      uncompressedDigest: sha(plain),
      uncompressedSize: plain.length,
      compression: Compression.Gzip,
      uidSet: [5],
      gidSet: [6],
    });
  });

  it('still digests the whole blob when the consumer stops reading early', async () => {
    const plain = await makeTar([{ name: 'a', uid: 0, gid: 0, body: 'x'.repeat(200_000) }]);
    const { summary } = await ingestDiff(Readable.from([plain]), async (tarStream) => {
      // Read one chunk only, as a tar reader that stops at the end-of-archive blocks would.
      for await (const _ of tarStream) break;
      return 0;
    });
    expect(summary.uncompressedDigest).toBe(sha(plain));
    expect(summary.compressedDigest).toBe(sha(plain));
    expect(summary.compression).toBe(Compression.Uncompressed);
  });

  it('fails the whole when the consumer fails, and when the blob cannot be decompressed', async () => {
    const plain = await makeTar([{ name: 'a', uid: 0, gid: 0, body: 'x' }]);
    await expect(
      ingestDiff(Readable.from([plain]), async () => {
        throw new Error('driver said no');
      }),
    ).rejects.toThrow('driver said no');
    const corrupt = Buffer.concat([gzipSync(plain).subarray(0, 30), Buffer.alloc(100, 7)]);
    await expect(
      ingestDiff(Readable.from([corrupt]), async (s) => {
        for await (const _ of s) void _;
        return 0;
      }),
    ).rejects.toThrow();
    const xz = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]);
    const err = await ingestDiff(Readable.from([xz]), async () => 0).catch((e: unknown) => e);
    expect(is(err, ErrCompressionUnsupported)).toBe(true);
  });

  it('detects compressions by their magic numbers', () => {
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0]))).toBe(Compression.Zstd);
    expect(detectCompression(Buffer.from('BZh9'))).toBe(Compression.Bzip2);
    expect(detectCompression(Buffer.from('plain'))).toBe(Compression.Uncompressed);
  });
});
