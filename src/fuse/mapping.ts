/**
 * uid/gid mapping between ids on disk and ids shown through the mount, as fuse-overlayfs's
 * `uidmapping=DISK:SHOWN:COUNT[:DISK:SHOWN:COUNT…]` does: a layer stored with container ids can be
 * shown with a user namespace's host ids without chowning a single file.
 */
import { overflowID } from '../archive/idmap.js';
import { ErrInvalidOption } from '../errors.js';

export interface IdMapping {
  /** First id as stored on disk. */
  disk: number;
  /** First id as shown through the mount. */
  shown: number;
  size: number;
}

/** Parses `c:h:s[:c:h:s…]`; a leading `:` (as containers/storage writes it) is tolerated. */
export function parseIdMappings(spec: string): IdMapping[] {
  const parts = spec.split(':').filter((p) => p !== '');
  if (parts.length === 0 || parts.length % 3 !== 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new ErrInvalidOption(`strata-fuse: invalid id mapping "${spec}" (expected DISK:SHOWN:COUNT[:…])`);
  }
  const out: IdMapping[] = [];
  for (let i = 0; i < parts.length; i += 3) {
    out.push({ disk: Number(parts[i]), shown: Number(parts[i + 1]), size: Number(parts[i + 2]) });
  }
  return out;
}

/** Translates one kind of id (uids or gids) in both directions, with squashing on the way out. */
export class IdMapper {
  readonly #mappings: IdMapping[];
  readonly #squash: number | undefined;
  readonly #overflow: number;

  /** `squash`: every id is shown as this one (squash_to_uid/gid, or 0 for squash_to_root). */
  constructor(mappings: IdMapping[], squash: number | undefined, overflow: number) {
    this.#mappings = mappings;
    this.#squash = squash;
    this.#overflow = overflow;
  }

  /** The rules as data, for the C side's copy of them (fast ops). */
  describe(): { ranges: IdMapping[]; squash?: number; overflow: number } {
    return { ranges: this.#mappings.map((m) => ({ ...m })), squash: this.#squash, overflow: this.#overflow };
  }

  /** Disk id → the id the mount shows; ids outside every range show as the overflow id. */
  toShown(id: number): number {
    if (this.#squash !== undefined) return this.#squash;
    if (this.#mappings.length === 0) return id;
    for (const m of this.#mappings) {
      if (id >= m.disk && id - m.disk < m.size) return m.shown + (id - m.disk);
    }
    return this.#overflow;
  }

  /** Shown id (from a caller or chown) → the id stored on disk. */
  toDisk(id: number): number {
    if (this.#mappings.length === 0) return id;
    for (const m of this.#mappings) {
      if (id >= m.shown && id - m.shown < m.size) return m.disk + (id - m.shown);
    }
    return this.#overflow;
  }
}

export interface Mappers {
  uid: IdMapper;
  gid: IdMapper;
}

export function mappersFor(cfg: {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
  squashToRoot: boolean;
  squashToUid?: number;
  squashToGid?: number;
}): Mappers {
  // squash_to_uid/gid win over squash_to_root, as in fuse-overlayfs.
  const squashUid = cfg.squashToUid ?? (cfg.squashToRoot ? 0 : undefined);
  const squashGid = cfg.squashToGid ?? (cfg.squashToRoot ? 0 : undefined);
  return {
    uid: new IdMapper(cfg.uidMappings, squashUid, overflowID('uid')),
    gid: new IdMapper(cfg.gidMappings, squashGid, overflowID('gid')),
  };
}
