/**
 * The vfs driver: every layer is a full copy of its parent under `<home>/dir/<id>`. No mounts,
 * no copy-on-write; it works anywhere, which makes it the fallback and the reference driver.
 */
import { chmod, lchown, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  CreateOpts,
  DiskUsage,
  Driver,
  DriverOptions,
  DriverStatus,
  IDMap,
  IDMappings,
  MountOpts,
  ProtoDriver,
} from '../../src/driver.js';
import { ErrDuplicateID, ErrInvalidOption, ErrLayerUnknown, hasCode, wrap } from '../../src/errors.js';
import { backingFsName } from '../../src/fs/backing-fs.js';
import { chownByMaps } from '../../src/fs/chown-by-maps.js';
import { copyTree } from '../../src/fs/copy-tree.js';
import { diskUsage } from '../../src/fs/disk-usage.js';
import { removeTree } from '../../src/fs/remove-tree.js';
import { naiveDiff } from '../../src/naive-diff.js';
import { parseVfsOptions, type VfsOptions } from './options.js';

/** Layers live in `<home>/dir/<id>`, the layout of the Go driver, so homes stay interchangeable. */
const LAYERS_DIR = 'dir';
/** A new empty layer's root: readable and searchable by all, written only through the driver's owner. */
const DEFAULT_PERMS = 0o555;

export class VfsDriver implements ProtoDriver {
  readonly name = 'vfs';

  constructor(
    readonly home: string,
    readonly options: VfsOptions,
  ) {}

  create(id: string, parent: string, opts?: CreateOpts): Promise<void> {
    return this.#create(id, parent, opts);
  }

  createReadWrite(id: string, parent: string, opts?: CreateOpts): Promise<void> {
    return this.#create(id, parent, opts);
  }

  /** A copy of `template`, which already holds its parent's files; `parent` adds nothing. */
  createFromTemplate(id: string, template: string, _parent: string, opts?: CreateOpts): Promise<void> {
    return this.#create(id, template, opts);
  }

  async remove(id: string): Promise<void> {
    const dir = await this.#existing(id);
    await removeTree(dir);
  }

  /** The layer is a plain copy of its parent: its files are re-owned in place. */
  async updateLayerIDMap(id: string, from: IDMappings | undefined, to: IDMappings | undefined): Promise<void> {
    chownByMaps(await this.#existing(id), from, to);
  }

  async get(id: string, options: MountOpts = {}): Promise<string> {
    for (const opt of options.options ?? []) {
      // Nothing is mounted, so a read-only view is just the directory.
      if (opt !== 'ro') throw new ErrInvalidOption(`vfs: driver does not support mount option "${opt}"`);
    }
    return this.#existing(id);
  }

  async put(_id: string): Promise<void> {
    // Nothing was mounted.
  }

  async exists(id: string): Promise<boolean> {
    if (invalidIdReason(id) !== undefined) return false;
    try {
      return (await stat(this.#dir(id))).isDirectory();
    } catch {
      return false;
    }
  }

  async listLayers(): Promise<string[]> {
    const entries = await readdir(join(this.home, LAYERS_DIR), { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  }

  async status(): Promise<DriverStatus> {
    return [['Backing Filesystem', backingFsName(this.home)]];
  }

  async metadata(id: string): Promise<Record<string, string>> {
    await this.#existing(id);
    return {};
  }

  async readWriteDiskUsage(id: string): Promise<DiskUsage> {
    return diskUsage(await this.#existing(id));
  }

  async cleanup(): Promise<void> {
    // No mounts or helpers to stop.
  }

  #dir(id: string): string {
    const why = invalidIdReason(id);
    if (why !== undefined) throw new ErrInvalidOption(`vfs: invalid layer ID "${id}": ${why}`);
    return join(this.home, LAYERS_DIR, id);
  }

  /** The directory of a layer that must exist. */
  async #existing(id: string): Promise<string> {
    const dir = this.#dir(id);
    try {
      if ((await stat(dir)).isDirectory()) return dir;
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw wrap(err, `vfs: layer ${id}`);
    }
    throw new ErrLayerUnknown(`vfs: unknown layer ${id} (no directory ${dir})`);
  }

  async #create(id: string, parent: string, opts: CreateOpts = {}): Promise<void> {
    const storageOpts = Object.keys(opts.storageOpt ?? {});
    if (storageOpts.length > 0) {
      throw new ErrInvalidOption(`vfs: --storage-opt is not supported (got ${storageOpts.join(', ')})`);
    }
    const dir = this.#dir(id);
    const parentDir = parent === '' ? undefined : await this.#existing(parent);
    const root = mappedRoot(opts.idMappings);
    const ignoreChownErrors = this.options.ignoreChownErrors || (opts.ignoreChownErrors ?? false);

    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (err) {
      if (hasCode(err, 'EEXIST')) throw new ErrDuplicateID(`vfs: layer ${id} already exists (${dir})`);
      throw wrap(err, `vfs: create layer ${id}`);
    }
    try {
      if (parentDir !== undefined) {
        // Without root, device nodes cannot be made; skip them as the Go driver does in a user namespace.
        await copyTree(parentDir, dir, { ignoreChownErrors, ignoreDeviceErrors: process.geteuid?.() !== 0 });
      } else {
        await chownRoot(dir, root, ignoreChownErrors);
        await chmod(dir, DEFAULT_PERMS);
      }
    } catch (err) {
      await removeTree(dir).catch(() => undefined);
      throw wrap(err, `vfs: create layer ${id}${parent === '' ? '' : ` from ${parent}`}`);
    }
  }
}

/** Why `id` cannot name a directory under `dir/`, or undefined when it can. */
export function invalidIdReason(id: string): string | undefined {
  if (id === '') return 'empty';
  if (id === '.' || id === '..') return 'a relative path component';
  if (id.includes('/')) return 'contains "/"';
  if (id.includes('\0')) return 'contains a NUL byte';
  return undefined;
}

/** The host IDs that container root maps to; 0:0 without mappings. */
function mappedRoot(mappings: IDMappings | undefined): { uid: number; gid: number } {
  if (mappings === undefined) return { uid: 0, gid: 0 };
  return { uid: toHost(mappings.uidMap, 0, 'UID'), gid: toHost(mappings.gidMap, 0, 'GID') };
}

function toHost(maps: IDMap[], id: number, kind: string): number {
  if (maps.length === 0) return id;
  const m = maps.find((r) => id >= r.containerID && id < r.containerID + r.size);
  if (m === undefined) throw new ErrInvalidOption(`vfs: container ${kind} ${id} is not mapped to a host ${kind}`);
  return m.hostID + (id - m.containerID);
}

async function chownRoot(dir: string, root: { uid: number; gid: number }, ignoreErrors: boolean): Promise<void> {
  try {
    await lchown(dir, root.uid, root.gid);
  } catch (err) {
    if (ignoreErrors && (hasCode(err, 'EPERM') || hasCode(err, 'EINVAL'))) return;
    throw wrap(err, `chown ${dir} to ${root.uid}:${root.gid} (vfs.ignore_chown_errors=true keeps the caller as owner)`);
  }
}

/** The vfs InitFunc: parses options, makes `<home>/dir` (0700) and wraps the driver in naiveDiff. */
export async function initVfs(home: string, options: DriverOptions): Promise<Driver> {
  const opts = parseVfsOptions(options.driverOptions ?? []);
  await mkdir(join(home, LAYERS_DIR), { recursive: true, mode: 0o700 });
  return naiveDiff(new VfsDriver(home, opts), { ignoreChownErrors: opts.ignoreChownErrors });
}
