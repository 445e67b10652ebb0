/**
 * NaiveDiffDriver by composition, as in containers/storage drivers/fsdiff.go: any ProtoDriver
 * becomes a Driver by mounting a layer (and its parent) and comparing the trees. Slow but
 * correct for every driver, so a driver only needs its own differ when it can do better.
 */
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { applyLayer, changesDirs, changesSize, exportChanges, tarDirectory } from './archive/index.js';
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
  ProtoDriver,
} from './driver.js';

export interface NaiveDiffOptions {
  /** Applied to every applyDiff, as a driver-wide option (vfs.ignore_chown_errors). */
  ignoreChownErrors?: boolean;
}

/** Reads only: a driver may then hand out a view it need not keep writable. */
const readOnly: MountOpts = { options: ['ro'] };

class NaiveDiffDriver implements Driver {
  constructor(
    readonly proto: ProtoDriver,
    readonly opts: NaiveDiffOptions,
  ) {}

  get name(): string {
    return this.proto.name;
  }
  get home(): string {
    return this.proto.home;
  }

  create(id: string, parent: string, opts?: CreateOpts): Promise<void> {
    return this.proto.create(id, parent, opts);
  }
  createReadWrite(id: string, parent: string, opts?: CreateOpts): Promise<void> {
    return this.proto.createReadWrite(id, parent, opts);
  }
  createFromTemplate(
    id: string,
    template: string,
    parent: string,
    opts?: CreateOpts,
    readWrite?: boolean,
  ): Promise<void> {
    return this.proto.createFromTemplate(id, template, parent, opts, readWrite);
  }
  remove(id: string): Promise<void> {
    return this.proto.remove(id);
  }
  supportsShifting(uidMap: readonly IDMap[], gidMap: readonly IDMap[]): boolean {
    return this.proto.supportsShifting?.(uidMap, gidMap) ?? false;
  }
  get updateLayerIDMap(): ProtoDriver['updateLayerIDMap'] {
    return this.proto.updateLayerIDMap?.bind(this.proto);
  }
  get(id: string, options?: MountOpts): Promise<string> {
    return this.proto.get(id, options);
  }
  put(id: string): Promise<void> {
    return this.proto.put(id);
  }
  exists(id: string): Promise<boolean> {
    return this.proto.exists(id);
  }
  listLayers(): Promise<string[]> {
    return this.proto.listLayers();
  }
  status(): Promise<DriverStatus> {
    return this.proto.status();
  }
  metadata(id: string): Promise<Record<string, string>> {
    return this.proto.metadata(id);
  }
  readWriteDiskUsage(id: string): Promise<DiskUsage> {
    return this.proto.readWriteDiskUsage(id);
  }
  cleanup(): Promise<void> {
    return this.proto.cleanup();
  }

  /** A tar of `id` against `parent`; the layers stay mounted until the stream ends or fails. */
  async diff(id: string, parent: string, mappings?: IDMappings): Promise<Readable> {
    const held: string[] = [];
    const release = once(async () => {
      const errors: unknown[] = [];
      for (const layer of held.reverse()) await this.proto.put(layer).catch((e: unknown) => errors.push(e));
      if (errors.length > 0) throw errors[0];
    });
    try {
      const layerFs = await this.proto.get(id, readOnly);
      held.push(id);
      let tar: Readable;
      if (parent === '') {
        tar = tarDirectory(layerFs, { idMappings: mappings });
      } else {
        const parentFs = await this.proto.get(parent, readOnly);
        held.push(parent);
        const changes = await changesDirs(layerFs, parentFs);
        tar = exportChanges(layerFs, changes, { idMappings: mappings });
      }
      return releaseWhenDone(tar, release);
    } catch (err) {
      await release().catch(() => undefined);
      throw err;
    }
  }

  async changes(id: string, parent: string): Promise<Change[]> {
    const layerFs = await this.proto.get(id, readOnly);
    try {
      if (parent === '') return await changesDirs(layerFs, '');
      const parentFs = await this.proto.get(parent, readOnly);
      try {
        return await changesDirs(layerFs, parentFs);
      } finally {
        await this.proto.put(parent);
      }
    } finally {
      await this.proto.put(id);
    }
  }

  async applyDiff(id: string, _parent: string, options: ApplyDiffOpts): Promise<number> {
    const layerFs = await this.proto.get(id);
    try {
      // 'naive': the target is a plain directory, so whiteouts become deletions.
      return await applyLayer(layerFs, options.diff, {
        whiteoutFormat: 'naive',
        idMappings: options.mappings,
        ignoreChownErrors: (options.ignoreChownErrors ?? false) || (this.opts.ignoreChownErrors ?? false),
        forceMask: options.forceMask,
      });
    } finally {
      await this.proto.put(id);
    }
  }

  async diffSize(id: string, parent: string): Promise<number> {
    const changes = await this.changes(id, parent);
    const layerFs = await this.proto.get(id, readOnly);
    try {
      return await changesSize(layerFs, changes);
    } finally {
      await this.proto.put(id);
    }
  }
}

/** Completes `proto` into a Driver whose diffs compare mounted trees. */
export function naiveDiff(proto: ProtoDriver, opts: NaiveDiffOptions = {}): Driver {
  return new NaiveDiffDriver(proto, opts);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= fn());
}

/**
 * Passes `tar` through and releases the layers after its last byte (a release failure then
 * fails the stream) or as soon as it errors or the reader gives up.
 */
function releaseWhenDone(tar: Readable, release: () => Promise<void>): Readable {
  const out = new PassThrough({
    flush(callback) {
      release().then(() => callback(), (err: unknown) => callback(err as Error));
    },
  });
  pipeline(tar, out, (err) => {
    if (err) void release().catch(() => undefined);
  });
  return out;
}
