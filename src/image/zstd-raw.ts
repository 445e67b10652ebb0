/**
 * A zstd frame that stores its content uncompressed ("raw" blocks), so tests and the demo can
 * produce zstd layers without a zstd compressor (Node 20 has none; fzstd only decompresses).
 * Any zstd decoder reads it: it is a valid frame, just not a smaller one.
 */

const MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
/** Single segment (no window descriptor) with an 8-byte content size. */
const FRAME_HEADER_DESCRIPTOR = (3 << 6) | (1 << 5);
/** The largest block zstd allows. */
const MAX_BLOCK = 128 * 1024;
const RAW_BLOCK = 0;

export function zstdRawFrame(content: Buffer): Buffer {
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(content.length));
  const parts: Buffer[] = [MAGIC, Buffer.from([FRAME_HEADER_DESCRIPTOR]), size];
  let offset = 0;
  do {
    const n = Math.min(MAX_BLOCK, content.length - offset);
    const last = offset + n >= content.length ? 1 : 0;
    const header = last | (RAW_BLOCK << 1) | (n << 3);
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]), content.subarray(offset, offset + n));
    offset += n;
  } while (offset < content.length);
  return Buffer.concat(parts);
}
