/**
 * What the `overlay` and `fuse-overlay` drivers share: the layout, reference-counted mounts, and
 * diffs straight from the upper dir when the parent is the real parent (else the naive differ).
 * They differ only in how a mount is made (a Mounter) and in what their probes decide at init.
 */
import { constants as fsConstants, existsSync } from 'node:fs';
import { access, chmod, chown, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  applyLayer,
  overlayChanges,
  tarDirectory,
  type WhiteoutFormat,
} from '../../src/archive/index.js';
import type {
  ApplyDiffOpts,
  Change,
  CreateOpts,
  DiskUsage,
  Driver,
  DriverStatus,
  IDMap,
  IDMappings,
  MountOpts,
} from '../../src/driver.js';
import { isContiguous, rootPair } from '../../src/archive/idmap.js';
import { ErrInvalidOption, hasCode } from '../../src/errors.js';
import { chownByMaps } from '../../src/fs/chown-by-maps.js';
import { copyTree, diskUsage } from '../../src/fs/copy-tree.js';
import { naiveDiff } from '../../src/naive-diff.js';
import { diffDirName, emptyDirName, mergedDirName, workDirName, type OverlayLayout } from './layout.js';
import { planMount, type Mounter } from './mount-spec.js';
import type { OverlayOptions } from './options.js';
import { RefCounter } from './refcount.js';

export interface OverlayDriverConfig {
  name: string;
  layout: OverlayLayout;
  options: OverlayOptions;
  mounter: Mounter;
  /** How applyDiff writes deletes and opaque dirs into a diff dir. */
  whiteoutFormat: WhiteoutFormat;
  /** Opaque and other overlay xattrs live in user.overlay.* (user namespaces, FUSE without root). */
  userXattr: boolean;
  /** False when the native-diff probe found the upper dir cannot be trusted as the layer's diff. */
  nativeDiff: boolean;
  /** Status lines from the driver's probes (backing filesystem, d_type…). */
  status: DriverStatus;
  /** Owner of new layer directories (the mapped root). */
  owner: { uid: number; gid: number };
  /** The mounter applies get()'s uidMaps/gidMaps to what the mount shows (a FUSE mount program does). */
  shifting: boolean;
  /** Runs at the end of cleanup(), after every mount this driver made is gone. */
  release?: () => void;
}

/** Mount options a caller may pass to get() that the drivers understand themselves. */
const READ_ONLY = 'ro';

export class OverlayFamilyDriver implements Driver {
  readonly name: string;
  readonly home: string;
  readonly #cfg: OverlayDriverConfig;
  readonly #refs: RefCounter;
  readonly #naive: Driver;
  /** Serialises get/put per layer so a concurrent get never sees a half-made mount. */
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(cfg: OverlayDriverConfig) {
    this.#cfg = cfg;
    this.name = cfg.name;
    this.home = cfg.layout.home;
    this.#refs = new RefCounter((p) => cfg.mounter.isMounted(p));
    this.#naive = naiveDiff(this);
  }

  get layout(): OverlayLayout {
    return this.#cfg.layout;
  }

  /**
   * Re-owns the layer through a mount of it (each entry copied up with its new owner), then
   * keeps that copy below the layer's diff as `diff1`, so the diff holds only the layer's own
   * changes again (containers/storage's UpdateLayerIDMap). Only mounts of this layer see the
   * stacked copy: a child layer stacks its parent's diff alone, as with containers/storage.
   */
  async updateLayerIDMap(id: string, from: IDMappings | undefined, to: IDMappings | undefined): Promise<void> {
    const merged = await this.get(id);
    try {
      chownByMaps(merged, from, to);
    } finally {
      await this.put(id);
    }
    await this.#cfg.layout.rotateDiff(id, rootPair(to));
  }

  /** As containers/storage's overlay with a mount_program: contiguous mappings only, unless disabled. */
  supportsShifting(uidMap: readonly IDMap[], gidMap: readonly IDMap[]): boolean {
    if (process.env._CONTAINERS_OVERLAY_DISABLE_IDMAP === 'yes') return false;
    return this.#cfg.shifting && isContiguous(uidMap) && isContiguous(gidMap);
  }

  async create(id: string, parent: string, opts?: CreateOpts): Promise<void> {
    rejectStorageOpts(opts);
    await this.#cfg.layout.create(id, parent, this.#cfg.owner);
    // As containers/storage: under force_mask the layer root carries the mask too, so an
    // unprivileged owner can fill it (the real mode is in the override xattr).
    const mask = this.#cfg.options.forceMask;
    if (mask !== undefined) await chmod(this.#cfg.layout.diffDir(id), mask);
  }

  async createReadWrite(id: string, parent: string, opts?: CreateOpts): Promise<void> {
    await this.create(id, parent, opts);
  }

  async createFromTemplate(id: string, template: string, parent: string, opts?: CreateOpts): Promise<void> {
    const from = this.#cfg.layout.mustExist(template);
    await this.create(id, parent, opts);
    try {
      await copyTree(join(from, diffDirName), this.#cfg.layout.diffDir(id), {
        ignoreChownErrors: this.#cfg.options.ignoreChownErrors,
      });
    } catch (err) {
      await this.remove(id);
      throw err;
    }
  }

  async remove(id: string): Promise<void> {
    await this.#withLock(id, async () => {
      const merged = join(this.#cfg.layout.dir(id), mergedDirName);
      // Never delete through a live mount: that would delete from the lowers.
      if (this.#cfg.mounter.isMounted(merged)) await this.#cfg.mounter.unmount(merged);
      await this.#cfg.layout.remove(id);
    });
  }

  async get(id: string, options: MountOpts = {}): Promise<string> {
    return this.#withLock(id, async () => {
      const dir = this.#cfg.layout.mustExist(id);
      const mountOptions = [...(options.options ?? [])];
      for (const o of mountOptions) {
        if (o !== READ_ONLY && !/^[a-z_]+(=.*)?$/.test(o)) throw new ErrInvalidOption(`${this.name}: invalid mount option ${JSON.stringify(o)}`);
      }
      const readOnly = mountOptions.includes(READ_ONLY);
      const merged = join(dir, mergedDirName);
      if (this.#refs.increment(merged) > 1) return merged;
      try {
        const spec = planMount(this.#cfg.layout, id, this.name, {
          readOnly,
          options: [...mountOptions.filter((o) => o !== READ_ONLY), ...splitOpts(this.#cfg.options.mountOptions)],
          uidMaps: options.uidMaps,
          gidMaps: options.gidMaps,
        });
        const empty = join(dir, emptyDirName);
        if (spec.lowers.includes(empty)) await this.#ensureDir(empty);
        // containers/storage removes the mount point when it unmounts; make it again.
        await this.#ensureDir(merged);
        await this.#cfg.mounter.mount(spec);
        return merged;
      } catch (err) {
        this.#refs.decrement(merged);
        throw err;
      }
    });
  }

  async put(id: string): Promise<void> {
    await this.#withLock(id, async () => {
      const merged = join(this.#cfg.layout.mustExist(id), mergedDirName);
      if (this.#refs.decrement(merged) > 0) return;
      if (this.#cfg.mounter.isMounted(merged)) await this.#cfg.mounter.unmount(merged);
    });
  }

  async exists(id: string): Promise<boolean> {
    return this.#cfg.layout.exists(id);
  }

  async listLayers(): Promise<string[]> {
    return this.#cfg.layout.listLayers();
  }

  async status(): Promise<DriverStatus> {
    return [...this.#cfg.status, ['Native Overlay Diff', String(this.#cfg.nativeDiff)], ['Layers', String(this.#cfg.layout.listLayers().length)]];
  }

  async metadata(id: string): Promise<Record<string, string>> {
    const dir = this.#cfg.layout.mustExist(id);
    const md: Record<string, string> = {
      WorkDir: join(dir, workDirName),
      MergedDir: join(dir, mergedDirName),
      UpperDir: join(dir, diffDirName),
    };
    const lowers = this.#cfg.layout.lowerDirs(id);
    if (lowers.length > 0) md.LowerDir = lowers.join(':');
    return md;
  }

  async readWriteDiskUsage(id: string): Promise<DiskUsage> {
    return diskUsage(this.#cfg.layout.diffDir(id));
  }

  async cleanup(): Promise<void> {
    for (const merged of this.#refs.paths()) {
      if (this.#cfg.mounter.isMounted(merged)) await this.#cfg.mounter.unmount(merged);
    }
    this.#cfg.release?.();
  }

  /** The upper dir is the layer's diff only against its real parent, and only when the probe trusts it. */
  #fastPath(id: string, parent: string): boolean {
    this.#cfg.layout.mustExist(id);
    return this.#cfg.nativeDiff && this.#cfg.layout.isParent(id, parent);
  }

  async diff(id: string, parent: string, mappings?: IDMappings): Promise<Readable> {
    if (!this.#fastPath(id, parent)) return this.#naive.diff(id, parent, mappings);
    return tarDirectory(this.#cfg.layout.diffDir(id), {
      overlay: true,
      lowerDirs: this.#cfg.layout.lowerDirs(id),
      idMappings: mappings,
    });
  }

  async changes(id: string, parent: string, mappings?: IDMappings): Promise<Change[]> {
    if (!this.#fastPath(id, parent)) return this.#naive.changes(id, parent, mappings);
    // containers/storage semantics (parents of changes are modifies), so its tools and graphtest agree with ours.
    return overlayChanges(this.#cfg.layout.diffDir(id), this.#cfg.layout.lowerDirs(id), {
      userXattr: this.#cfg.userXattr,
      reportParents: true,
    });
  }

  async applyDiff(id: string, parent: string, options: ApplyDiffOpts): Promise<number> {
    this.#cfg.layout.mustExist(id);
    if (!this.#cfg.layout.isParent(id, parent)) return this.#naive.applyDiff(id, parent, options);
    const diff = this.#cfg.layout.diffDir(id);
    await withWritableRoot(diff, () =>
      applyLayer(diff, options.diff, {
        whiteoutFormat: this.#cfg.whiteoutFormat,
        userXattr: this.#cfg.userXattr,
        idMappings: options.mappings,
        ignoreChownErrors: options.ignoreChownErrors ?? this.#cfg.options.ignoreChownErrors,
        forceMask: options.forceMask ?? this.#cfg.options.forceMask,
      }),
    );
    // As containers/storage: the size of a layer applied in place is the size of its diff dir.
    return (await diskUsage(diff)).size;
  }

  async diffSize(id: string, parent: string, mappings?: IDMappings): Promise<number> {
    if (!this.#fastPath(id, parent)) return this.#naive.diffSize(id, parent, mappings);
    return (await diskUsage(this.#cfg.layout.diffDir(id))).size;
  }

  /** Makes a layer's internal dir (mount point, empty lower) if it is missing, owned as the layer dirs are. */
  async #ensureDir(path: string): Promise<void> {
    if (existsSync(path)) return;
    await mkdir(path, { mode: 0o700 });
    await chown(path, this.#cfg.owner.uid, this.#cfg.owner.gid);
  }

  async #withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.#locks.set(id, settled);
    try {
      return await run;
    } finally {
      if (this.#locks.get(id) === settled) this.#locks.delete(id);
    }
  }
}

/**
 * A layer root is 0555; root writes into it anyway, but an unprivileged owner (fuse-overlay
 * without a user namespace) must open it for the apply. Overlay applies leave the root's mode
 * alone, so the old one goes back afterwards.
 */
async function withWritableRoot<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  if (await writable(dir)) return fn();
  const { mode } = await stat(dir);
  await chmod(dir, (mode & 0o7777) | 0o700);
  try {
    return await fn();
  } finally {
    await chmod(dir, mode & 0o7777);
  }
}

async function writable(dir: string): Promise<boolean> {
  try {
    await access(dir, fsConstants.W_OK);
    return true;
  } catch (err) {
    if (hasCode(err, 'EACCES')) return false;
    throw err;
  }
}

function splitOpts(s: string): string[] {
  return s.split(',').map((o) => o.trim()).filter((o) => o !== '');
}

function rejectStorageOpts(opts?: CreateOpts): void {
  const keys = Object.keys(opts?.storageOpt ?? {});
  if (keys.length > 0) throw new ErrInvalidOption(`overlay: unsupported storage option ${keys[0]} (quotas need xfs project quota)`);
}

