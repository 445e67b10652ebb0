/**
 * Container records (`<graphroot>/<driver>-containers/containers.json`): a read-write layer on
 * an image, plus metadata and big data. The caller holds the containers lock and has called `refresh`.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hasCode } from '../errors.js';
import { bigDataPath, sha256Digest } from './bigdata.js';
import { containerCodec } from './codec.js';
import {
  ErrBigDataUnknown,
  ErrContainerUnknown,
  ErrDigestUnknown,
  ErrDuplicateName,
  ErrSizeUnknown,
  ErrStoreDuplicateID,
} from './errors.js';
import { nowTime } from './go-json.js';
import { generateID } from './ids.js';
import { checkNoOverlap } from './idmap.js';
import { atomicWriteFile } from './json-file.js';
import type { Held, StoreLock } from './lock.js';
import { dedupeNames } from './names.js';
import { isLockDir, RecordFile } from './record-file.js';
import type { Container, Flags, IDMap } from './types.js';

export const VOLATILE_FLAG = 'Volatile';
export const MOUNT_LABEL_FLAG = 'MountLabel';
export const PROCESS_LABEL_FLAG = 'ProcessLabel';
export const MOUNT_OPTS_FLAG = 'MountOpts';

export interface NewContainer {
  id?: string;
  names?: string[];
  imageID: string;
  layerID: string;
  metadata?: string;
  uidMap?: IDMap[];
  gidMap?: IDMap[];
  flags?: Flags;
}

export class ContainerStore {
  readonly records: RecordFile<Container>;

  constructor(
    readonly dir: string,
    lock: StoreLock,
  ) {
    this.records = new RecordFile('container', join(dir, 'containers.json'), lock, containerCodec);
  }

  async refresh(held: Held): Promise<void> {
    if (!(await this.records.changed())) return;
    if (await this.records.load()) await this.records.save(held);
  }

  lookup(idOrName: string): Container | undefined {
    return this.records.lookup(idOrName);
  }

  get(idOrName: string): Container {
    const c = this.lookup(idOrName);
    if (c === undefined) throw new ErrContainerUnknown(`container "${idOrName}"`);
    return c;
  }

  byLayer(layerID: string): Container | undefined {
    return this.records.records.find((c) => c.layerID === layerID);
  }

  /** Checks a new container's ID and names before its layer is made, so a refusal costs nothing. */
  precheck(id: string | undefined, names: readonly string[], uidMap: IDMap[], gidMap: IDMap[]): void {
    if (id !== undefined && id !== '' && this.records.hasID(id)) throw new ErrStoreDuplicateID(`container ID "${id}"`);
    for (const name of dedupeNames(names)) {
      const holder = this.records.holderOf(name);
      if (holder === undefined) continue;
      throw new ErrDuplicateName(
        `the container name "${name}" is already in use by ${holder.id}. ` +
          'You have to remove that container to be able to reuse that name',
      );
    }
    checkNoOverlap(uidMap, 'UID');
    checkNoOverlap(gidMap, 'GID');
  }

  async create(held: Held, spec: NewContainer): Promise<Container> {
    const id = spec.id !== undefined && spec.id !== '' ? spec.id : generateID((x) => this.records.hasID(x));
    const names = dedupeNames(spec.names ?? []);
    this.precheck(id, names, spec.uidMap ?? [], spec.gidMap ?? []);
    const container: Container = {
      id,
      names,
      imageID: spec.imageID,
      layerID: spec.layerID,
      metadata: spec.metadata ?? '',
      bigDataNames: [],
      bigDataSizes: {},
      bigDataDigests: {},
      created: nowTime(),
      uidMap: [...(spec.uidMap ?? [])],
      gidMap: [...(spec.gidMap ?? [])],
      flags: { ...(spec.flags ?? {}) },
    };
    this.records.add(container);
    await this.records.save(held);
    return container;
  }

  async delete(held: Held, container: Container): Promise<void> {
    this.records.remove(container);
    await this.records.save(held);
    await rm(join(this.dir, container.id), { recursive: true, force: true });
  }

  async wipe(held: Held): Promise<void> {
    for (const c of [...this.records.records]) await this.delete(held, c);
  }

  setNames(held: Held, container: Container, names: string[]): Promise<void> {
    this.records.setNames(container, names);
    return this.records.save(held);
  }

  setMetadata(held: Held, container: Container, metadata: string): Promise<void> {
    container.metadata = metadata;
    return this.records.save(held);
  }

  setFlag(held: Held, container: Container, flag: string, value: unknown): Promise<void> {
    container.flags[flag] = value;
    return this.records.save(held);
  }

  clearFlag(held: Held, container: Container, flag: string): Promise<void> {
    delete container.flags[flag];
    return this.records.save(held);
  }

  async setBigData(held: Held, container: Container, key: string, data: Buffer): Promise<void> {
    const path = bigDataPath(this.dir, container.id, key, 'container');
    const digest = sha256Digest(data);
    await atomicWriteFile(path, data);
    const changed =
      container.bigDataSizes[key] !== data.length ||
      container.bigDataDigests[key] !== digest ||
      !container.bigDataNames.includes(key);
    container.bigDataSizes[key] = data.length;
    container.bigDataDigests[key] = digest;
    if (!container.bigDataNames.includes(key)) container.bigDataNames.push(key);
    if (changed) await this.records.save(held);
  }

  async bigData(container: Container, key: string): Promise<Buffer> {
    const path = bigDataPath(this.dir, container.id, key, 'container');
    try {
      return await readFile(path);
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw err;
      throw new ErrBigDataUnknown(`locating item named "${key}" for container with ID "${container.id}"`);
    }
  }

  async bigDataSize(container: Container, key: string): Promise<number> {
    const known = container.bigDataSizes[key];
    if (known !== undefined) return known;
    try {
      return (await stat(bigDataPath(this.dir, container.id, key, 'container'))).size;
    } catch {
      throw new ErrSizeUnknown(`container ${container.id} big data item "${key}"`);
    }
  }

  async bigDataDigest(container: Container, key: string): Promise<string> {
    const known = container.bigDataDigests[key];
    if (known !== undefined) return known;
    try {
      return sha256Digest(await readFile(bigDataPath(this.dir, container.id, key, 'container')));
    } catch {
      throw new ErrDigestUnknown(`container ${container.id} big data item "${key}"`);
    }
  }

  /** Removes data directories (in the graph and run roots) of containers that no longer exist. */
  async garbageCollect(runDir: string): Promise<void> {
    for (const dir of [this.dir, runDir]) {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (hasCode(err, 'ENOENT')) continue;
        throw err;
      }
      for (const e of entries) {
        if (e.isDirectory() && !isLockDir(e.name) && !this.records.hasID(e.name)) await rm(join(dir, e.name), { recursive: true, force: true });
      }
    }
  }
}
