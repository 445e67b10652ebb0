/**
 * Metadata files written atomically (temp file in the same directory, fsync, rename, fsync of the
 * directory), so a reader or a crash sees the old file or the new one, never half of either.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { hasCode, wrap } from '../errors.js';
import { ErrCorruptStore } from './errors.js';

/** Writes `data` to `path` so that it replaces the old content in one step. */
export async function atomicWriteFile(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await atomicWrite(path, mode, (fh) => fh.writeFile(data));
}

/** Temp file beside `path`, filled by `fill`, fsynced, renamed over `path`, then the directory fsynced. */
async function atomicWrite(path: string, mode: number, fill: (fh: FileHandle) => Promise<void>): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fill(fh);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw wrap(err, `writing ${path}`);
  }
  await syncDir(dir);
}

/** Makes a rename durable: the directory entry itself must reach the disk. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
    if (!hasCode(err, 'EINVAL') && !hasCode(err, 'EBADF')) throw err;
  } finally {
    await fh.close();
  }
}

/** The content of a file, or undefined when it does not exist. */
export async function readOptionalFile(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return undefined;
    throw wrap(err, `reading ${path}`);
  }
}

/** A JSON array file's entries; a missing or empty file is an empty list, as in containers/storage. */
export async function readJSONArray(path: string): Promise<unknown[]> {
  const data = await readOptionalFile(path);
  if (data === undefined || data.length === 0) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new ErrCorruptStore(`${path}: ${(err as Error).message}`, { cause: err });
  }
  if (parsed === null) return [];
  if (!Array.isArray(parsed)) throw new ErrCorruptStore(`${path}: want a JSON array`);
  return parsed;
}

/**
 * What identifies one version of a file: an atomic rewrite gives a new inode, and a hand edit
 * changes the size or the times. Used alongside the lock's write token, not instead of it.
 */
export async function fileSignature(path: string): Promise<string> {
  try {
    const st = await stat(path, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return 'missing';
    throw wrap(err, `stat ${path}`);
  }
}

/** Streams `data` into `path` with the same all-or-nothing replacement as atomicWriteFile. */
export async function atomicWriteStream(path: string, data: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, mode = 0o600): Promise<void> {
  await atomicWrite(path, mode, async (fh) => {
    for await (const chunk of data) await fh.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  });
}
