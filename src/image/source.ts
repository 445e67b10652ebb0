/**
 * An image archive as a set of named members, whether it is a directory (an OCI layout) or a
 * tar (`docker save`, `podman save`, an OCI layout archive), possibly gzip- or zstd-compressed
 * as a whole. Members are read by name; nothing is unpacked except a compressed outer tar,
 * which is decompressed once into a temporary file.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, realpath, rm, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decompress, detectCompression } from '../archive/compress.js';
import { hasCode } from '../errors.js';
import { ErrBlobUnknown, ErrImageFormat } from './errors.js';
import { indexTar, memberKey, type MemberLocation } from './tar-index.js';

/** Manifests, indexes and configs are small; a huge one is a broken or hostile archive. */
const MAX_METADATA_SIZE = 32 << 20;

export interface ArchiveSource {
  /** The path given, for messages. */
  readonly path: string;
  has(member: string): Promise<boolean>;
  size(member: string): Promise<number>;
  /** A small member (JSON), whole. */
  read(member: string): Promise<Buffer>;
  stream(member: string): Readable;
  close(): Promise<void>;
}

/** Member names may not leave the archive: no absolute paths, no `..`. */
function checkMember(path: string, member: string): string {
  const key = memberKey(member);
  if (key === '' || key === '..' || key.startsWith('../') || member.startsWith('/')) {
    throw new ErrImageFormat(`${path}: member name ${JSON.stringify(member)} points outside the archive`);
  }
  return key;
}

class DirSource implements ArchiveSource {
  constructor(
    readonly path: string,
    private readonly root: string,
  ) {}

  #file(member: string): string {
    return join(this.root, ...checkMember(this.path, member).split('/'));
  }

  async has(member: string): Promise<boolean> {
    try {
      return (await stat(this.#file(member))).isFile();
    } catch (err) {
      if (hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR')) return false;
      throw err;
    }
  }

  async size(member: string): Promise<number> {
    await this.#mustHave(member);
    return (await stat(this.#file(member))).size;
  }

  async read(member: string): Promise<Buffer> {
    const size = await this.size(member);
    if (size > MAX_METADATA_SIZE) throw new ErrImageFormat(`${this.path}: ${member} is ${size} bytes, too large for metadata`);
    const fh = await open(this.#file(member), 'r');
    try {
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  stream(member: string): Readable {
    return createReadStream(this.#file(member));
  }

  async close(): Promise<void> {}

  async #mustHave(member: string): Promise<void> {
    if (!(await this.has(member))) throw new ErrBlobUnknown(`${this.path}: ${member}`);
  }
}

class TarSource implements ArchiveSource {
  constructor(
    readonly path: string,
    private readonly file: string,
    private readonly fh: FileHandle,
    private readonly members: Map<string, MemberLocation>,
    private readonly tempDir: string | undefined,
  ) {}

  #get(member: string): MemberLocation {
    const loc = this.members.get(checkMember(this.path, member));
    if (loc === undefined) throw new ErrBlobUnknown(`${this.path}: ${member}`);
    return loc;
  }

  async has(member: string): Promise<boolean> {
    return this.members.has(checkMember(this.path, member));
  }

  async size(member: string): Promise<number> {
    return this.#get(member).size;
  }

  async read(member: string): Promise<Buffer> {
    const { offset, size } = this.#get(member);
    if (size > MAX_METADATA_SIZE) throw new ErrImageFormat(`${this.path}: ${member} is ${size} bytes, too large for metadata`);
    const buf = Buffer.alloc(size);
    for (let done = 0; done < size; ) {
      const { bytesRead } = await this.fh.read(buf, done, size - done, offset + done);
      if (bytesRead === 0) throw new ErrImageFormat(`${this.path}: ${member} is cut short`);
      done += bytesRead;
    }
    return buf;
  }

  stream(member: string): Readable {
    const { offset, size } = this.#get(member);
    if (size === 0) return Readable.from([]);
    return createReadStream(this.file, { start: offset, end: offset + size - 1 });
  }

  async close(): Promise<void> {
    await this.fh.close();
    if (this.tempDir !== undefined) await rm(this.tempDir, { recursive: true, force: true });
  }
}

/** Opens a directory or a (compressed) tar as an archive source. */
export async function openSource(path: string): Promise<ArchiveSource> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new ErrImageFormat(`${path}: cannot read the image archive (${(err as Error).message})`, { cause: err });
  }
  if (info.isDirectory()) return new DirSource(path, await realpath(path));
  let file = path;
  let tempDir: string | undefined;
  const head = Buffer.alloc(6);
  const probe = await open(path, 'r');
  try {
    await probe.read(head, 0, head.length, 0);
  } finally {
    await probe.close();
  }
  if (detectCompression(head) !== 'none') {
    tempDir = await mkdtemp(join(tmpdir(), `strata-import-`));
    file = join(tempDir, 'archive.tar');
    try {
      await pipeline(Readable.from(decompress(createReadStream(path))), createWriteStream(file, { mode: 0o600 }));
    } catch (err) {
      await rm(tempDir, { recursive: true, force: true });
      throw new ErrImageFormat(`${path}: cannot decompress the image archive (${(err as Error).message})`, { cause: err });
    }
  }
  const fh = await open(file, 'r');
  try {
    return new TarSource(path, file, fh, await indexTar(fh, path), tempDir);
  } catch (err) {
    await fh.close();
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
    throw err;
  }
}

/** `blobs/sha256/<hex>`, the member holding a blob in an OCI layout. */
export function blobMember(digest: string): string {
  const [alg, hex] = digest.split(':') as [string, string];
  return `blobs/${alg}/${hex}`;
}
