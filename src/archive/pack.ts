/**
 * Turning a sequence of headers (and the files holding their content) into a tar byte stream.
 * Small pieces are coalesced so a tree of small files does not become one push per header;
 * file content is read in large chunks and passed on without copying.
 */
import { closeSync, constants as fsConstants, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { entryError } from './fs-meta.js';
import type { TarHeader } from './tar/header.js';
import { encodeHeader, END_OF_ARCHIVE, paddingFor } from './tar/writer.js';

export interface PackItem {
  header: TarHeader;
  /** The file to copy `header.size` bytes of content from (regular files only). */
  source?: string;
}

const FLUSH_AT = 64 * 1024;
const READ_CHUNK = 1024 * 1024;

/** A tar stream of `items`, ended by the end-of-archive marker. */
export function packStream(items: AsyncIterable<PackItem> | Iterable<PackItem>): Readable {
  return Readable.from(packChunks(items), { objectMode: false, highWaterMark: READ_CHUNK });
}

async function* packChunks(items: AsyncIterable<PackItem> | Iterable<PackItem>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingSize = 0;
  const flush = (): Buffer => {
    const out = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingSize);
    pending = [];
    pendingSize = 0;
    return out;
  };
  const add = (b: Buffer): void => {
    pending.push(b);
    pendingSize += b.length;
  };
  for await (const item of items) {
    add(encodeHeader(item.header));
    const size = item.header.size;
    if (size > 0) {
      for (const chunk of readExactly(item.source!, size, item.header.name)) {
        if (chunk.length >= FLUSH_AT) {
          if (pendingSize > 0) yield flush();
          yield chunk;
        } else add(chunk);
      }
      add(paddingFor(size));
    }
    if (pendingSize >= FLUSH_AT) yield flush();
  }
  add(END_OF_ARCHIVE);
  yield flush();
}

/** Exactly `size` bytes of `path`; a file that shrank meanwhile would corrupt the tar. */
function* readExactly(path: string, size: number, name: string): Generator<Buffer> {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (err) {
    throw entryError(name, 'opening for the archive', err);
  }
  try {
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(left, READ_CHUNK));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) throw entryError(name, 'reading for the archive', new Error(`file shrank by ${left} bytes while being archived`));
      left -= n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}
