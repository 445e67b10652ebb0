/**
 * One JSON array file of records (layers.json, images.json, containers.json) with its ID, name
 * and prefix lookups. Callers hold the file set's lock around every use; `reloadIfChanged` then
 * picks up what other processes saved since this object last looked.
 */
import type { Codec, Extras } from './codec.js';
import { ErrCorruptStore, ErrDuplicateName, ErrStoreLocked } from './errors.js';
import { goJSON } from './go-json.js';
import { byUniquePrefix } from './ids.js';
import { atomicWriteFile, fileSignature, readJSONArray } from './json-file.js';
import type { Held, StoreLock } from './lock.js';
import { warn } from './log.js';
import { without } from './names.js';
import type { RecordKind } from './types.js';

/** proper-lockfile's lock directories sit beside the records' data directories; GC must spare them. */
export function isLockDir(name: string): boolean {
  return name.endsWith('.lock');
}

export interface Keyed {
  id: string;
  names: string[];
}

export class RecordFile<T extends Keyed> {
  records: T[] = [];
  readonly extras: Extras = new Map();
  #byId = new Map<string, T>();
  #byName = new Map<string, T>();
  #signature: string | undefined;

  constructor(
    readonly kind: RecordKind,
    readonly file: string,
    readonly lock: StoreLock,
    readonly codec: Codec<T>,
  ) {}

  /** Whether another writer touched the lock token or the file changed by hand since we looked. */
  async changed(): Promise<boolean> {
    return (await this.lock.modified()) || (await fileSignature(this.file)) !== this.#signature;
  }

  /**
   * Reads the file. A name found on two records stays with the later one, as containers/storage
   * repairs it; returns whether such a repair needs saving.
   */
  async load(): Promise<boolean> {
    const signature = await fileSignature(this.file);
    const raw = await readJSONArray(this.file);
    const records: T[] = [];
    const byId = new Map<string, T>();
    const byName = new Map<string, T>();
    this.extras.clear();
    let repaired = false;
    raw.forEach((entry, i) => {
      const { rec, extra } = this.codec.decode(entry, this.file, i);
      if (byId.has(rec.id)) throw new ErrCorruptStore(`${this.file}: ${this.kind} ID ${rec.id} appears twice`);
      for (const name of rec.names) {
        const holder = byName.get(name);
        if (holder !== undefined) {
          warn(`${this.file}: name "${name}" was on ${this.kind}s ${holder.id} and ${rec.id}; keeping it on ${rec.id}`);
          holder.names = without(holder.names, name);
          repaired = true;
        }
        byName.set(name, rec);
      }
      records.push(rec);
      byId.set(rec.id, rec);
      if (Object.keys(extra).length > 0) this.extras.set(rec.id, extra);
    });
    this.records = records;
    this.#byId = byId;
    this.#byName = byName;
    this.#signature = signature;
    await this.lock.markSeen();
    return repaired;
  }

  /** Writes every record; `held` is checked so a holder that lost its lock never overwrites. */
  async save(held: Held): Promise<void> {
    if (held.compromised !== undefined) {
      throw new ErrStoreLocked(`lost the lock on ${this.lock.path} before saving ${this.file}`, {
        cause: held.compromised,
      });
    }
    const json = goJSON(this.records.map((r) => this.codec.encode(r, this.extras.get(r.id))));
    await atomicWriteFile(this.file, json);
    await this.lock.touch();
    this.#signature = await fileSignature(this.file);
  }

  /** By full ID, then by name, then by a unique ID prefix. */
  lookup(idOrName: string): T | undefined {
    const direct = this.#byId.get(idOrName) ?? this.#byName.get(idOrName);
    if (direct !== undefined) return direct;
    const id = byUniquePrefix(this.#byId.keys(), idOrName);
    return id === undefined ? undefined : this.#byId.get(id);
  }

  byId(id: string): T | undefined {
    return this.#byId.get(id);
  }

  /** The record holding `name`, if any. */
  holderOf(name: string): T | undefined {
    return this.#byName.get(name);
  }

  hasID(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Throws naming the first name already held by another record of this kind. */
  checkNamesFree(names: readonly string[]): void {
    for (const name of names) {
      const holder = this.#byName.get(name);
      if (holder !== undefined) {
        throw new ErrDuplicateName(`${this.kind} name "${name}" is already associated with ${this.kind} "${holder.id}"`);
      }
    }
  }

  add(rec: T): void {
    this.records.push(rec);
    this.#byId.set(rec.id, rec);
    for (const name of rec.names) this.#byName.set(name, rec);
  }

  remove(rec: T): void {
    this.records = this.records.filter((r) => r !== rec);
    this.#byId.delete(rec.id);
    this.extras.delete(rec.id);
    for (const name of rec.names) if (this.#byName.get(name) === rec) this.#byName.delete(name);
  }

  /** Gives `rec` exactly `names`; a name held by another record moves to `rec`, as in Go. */
  setNames(rec: T, names: string[]): void {
    for (const name of rec.names) if (this.#byName.get(name) === rec) this.#byName.delete(name);
    for (const name of names) {
      const other = this.#byName.get(name);
      if (other !== undefined && other !== rec) other.names = without(other.names, name);
      this.#byName.set(name, rec);
    }
    rec.names = names;
  }
}
