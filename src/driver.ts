/**
 * The graph driver contract, split by role as in containers/storage: a ProtoDriver keeps
 * layers and mounts them; a DiffDriver turns layers into tars and back. `naiveDiff` (naive-diff.ts)
 * completes any ProtoDriver into a Driver by comparing mounted trees.
 */
import type { Readable } from 'node:stream';

/** One contiguous ID range: container IDs [containerID, containerID+size) map to host IDs [hostID, …). */
export interface IDMap {
  containerID: number;
  hostID: number;
  size: number;
}

export interface IDMappings {
  uidMap: IDMap[];
  gidMap: IDMap[];
}

export interface CreateOpts {
  mountLabel?: string;
  storageOpt?: Record<string, string>;
  idMappings?: IDMappings;
  ignoreChownErrors?: boolean;
}

export interface MountOpts {
  mountLabel?: string;
  uidMaps?: IDMap[];
  gidMaps?: IDMap[];
  /** Mount options; `ro` asks for a read-only view. */
  options?: string[];
  volatile?: boolean;
}

export interface ApplyDiffOpts {
  /** An uncompressed or compressed layer tar. */
  diff: Readable;
  mappings?: IDMappings;
  mountLabel?: string;
  ignoreChownErrors?: boolean;
  /** Permission bits forced on every entry; real owner/mode kept in user.containers.override_stat. */
  forceMask?: number;
}

export type ChangeKind = 'modify' | 'add' | 'delete';

/** One path changed between a layer and its parent, as archive.Change in containers/storage. */
export interface Change {
  /** Absolute path inside the layer, e.g. `/etc/passwd`. */
  path: string;
  kind: ChangeKind;
}

export interface DiskUsage {
  size: number;
  inodeCount: number;
}

/** Status is an ordered list of key/value pairs, as the Go driver's [][2]string. */
export type DriverStatus = Array<[string, string]>;

export interface ProtoDriver {
  /** The registered name, e.g. `vfs`. */
  readonly name: string;
  /** The driver's home directory, `<root>/<name>`. */
  readonly home: string;
  create(id: string, parent: string, opts?: CreateOpts): Promise<void>;
  createReadWrite(id: string, parent: string, opts?: CreateOpts): Promise<void>;
  createFromTemplate(
    id: string,
    template: string,
    parent: string,
    opts?: CreateOpts,
    readWrite?: boolean,
  ): Promise<void>;
  remove(id: string): Promise<void>;
  /** Returns the path of the layer's mounted filesystem. */
  get(id: string, options?: MountOpts): Promise<string>;
  put(id: string): Promise<void>;
  exists(id: string): Promise<boolean>;
  listLayers(): Promise<string[]>;
  status(): Promise<DriverStatus>;
  metadata(id: string): Promise<Record<string, string>>;
  readWriteDiskUsage(id: string): Promise<DiskUsage>;
  cleanup(): Promise<void>;
  /**
   * Whether get() can show a layer with these mappings applied at mount time (uidMaps/gidMaps of
   * MountOpts), so a container with its own mappings needs no copy of the image with its owners
   * changed (containers/storage's SupportsShifting). Absent: no.
   */
  supportsShifting?(uidMap: readonly IDMap[], gidMap: readonly IDMap[]): boolean;
  /**
   * Re-owns layer `id`, just created from its parent, from the parent's mappings to its own
   * (containers/storage's UpdateLayerIDMap). Absent: the layer keeps its parent's owners.
   */
  updateLayerIDMap?(id: string, from: IDMappings | undefined, to: IDMappings | undefined): Promise<void>;
}

export interface DiffDriver {
  /** A tar of the changes between `id` and `parent` (`''` for all of `id`). */
  diff(id: string, parent: string, mappings?: IDMappings): Promise<Readable>;
  changes(id: string, parent: string, mappings?: IDMappings): Promise<Change[]>;
  /** Applies a layer tar to `id` and returns the applied size in bytes. */
  applyDiff(id: string, parent: string, options: ApplyDiffOpts): Promise<number>;
  diffSize(id: string, parent: string, mappings?: IDMappings): Promise<number>;
}

export interface Driver extends ProtoDriver, DiffDriver {}

/** Options given to every driver's init, as graphdriver.Options. */
export interface DriverOptions {
  /** The graph root; each driver's home is `<root>/<name>`. */
  root: string;
  runRoot?: string;
  imageStore?: string;
  /** Overrides the default priority list when non-empty. */
  driverPriority?: string[];
  /** `key=value` strings, e.g. `vfs.ignore_chown_errors=true`. */
  driverOptions?: string[];
}

export type InitFunc = (home: string, options: DriverOptions) => Promise<Driver>;
