/**
 * The on-disk layout shared by the `overlay` and `fuse-overlay` drivers, identical to
 * containers/storage's overlay driver so either tool can read the other's layers:
 *
 *   <home>/l/<LID>          symlink to ../<id>/diff; short names keep mount options small
 *   <home>/<id>/link        the layer's LID
 *   <home>/<id>/lower       `l/<parentLID>:` + the parent's lower (uppermost first); only with a parent
 *   <home>/<id>/diff        the layer's own files (the overlay upper dir)
 *   <home>/<id>/work        overlay's work dir; <home>/<id>/merged the mount point
 *   <home>/<id>/empty       an empty lower for parentless layers (overlay needs one lower)
 */
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readlinkSync, readdirSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rename, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { ErrLayerUnknown, hasCode, StrataError } from '../../src/errors.js';
import { removeTree } from '../../src/fs/remove-tree.js';

export const linkDir = 'l';
export const lowerFile = 'lower';
export const linkFile = 'link';
export const diffDirName = 'diff';
export const workDirName = 'work';
export const mergedDirName = 'merged';
export const emptyDirName = 'empty';
/**
 * Deepest supported chain. 500 LIDs of `l/` + 26 chars + `:` are ~14.5 KiB, over a 4 KiB page, so deep
 * chains mount with the new mount API (one `lowerdir+` per layer) instead of one option string.
 */
export const maxDepth = 500;
/** LID length: ((idLength + len(linkDir) + 1) * 128) <= pageSize - 512 keeps 128 layers in one page. */
export const idLength = 26;

/** A chain deeper than maxDepth: overlayfs stacks at most 500 lowers (OVL_MAX_STACK). */
export class ErrMaxDepth extends StrataError {
  static readonly code = 'ERR_MAX_DEPTH';
  constructor(message: string) {
    super(ErrMaxDepth.code, message);
  }
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const LID_RE = /^[A-Z2-7]{26}$/;

/** A random LID: 26 characters of base32 (A–Z, 2–7), as containers/storage generates. */
export function generateLinkID(): string {
  const bytes = randomBytes(idLength);
  let out = '';
  for (const b of bytes) out += BASE32[b & 31];
  return out;
}

/** Rejects IDs that could escape the home or collide with internal entries. */
export function validateLayerID(id: string): void {
  if (id === '' || id === '.' || id === '..' || id.includes('/') || id.includes('\0') || id === linkDir) {
    throw new ErrLayerUnknown(`invalid layer ID ${JSON.stringify(id)}`);
  }
}

/**
 * The homes to search inside additional image stores, which are graph roots as in storage.conf:
 * `<store>/<driver>`, and for fuse-overlay also `<store>/overlay`, the same layout as
 * containers/storage (and podman with fuse-overlayfs) writes it.
 */
export function imageStoreHomes(storeRoots: readonly string[], driverName: string): string[] {
  const names = driverName === 'overlay' ? ['overlay'] : [driverName, 'overlay'];
  return storeRoots.flatMap((root) => names.map((n) => join(root, n)));
}

export interface Owner {
  uid: number;
  gid: number;
}

export class OverlayLayout {
  constructor(
    readonly home: string,
    /** Read-only additional homes searched for layers not found in home. */
    readonly imageStores: string[] = [],
  ) {}

  /** The directory of a layer: in home, else in the first image store that has it. */
  dir(id: string): string {
    validateLayerID(id);
    const own = join(this.home, id);
    if (existsSync(own)) return own;
    for (const store of this.imageStores) {
      const other = join(store, id);
      if (existsSync(other)) return other;
    }
    return own;
  }

  diffDir(id: string): string {
    return join(this.dir(id), diffDirName);
  }

  /**
   * The layer's own earlier diffs, `diff1`, `diff2`… (uppermost first): what re-owning a layer
   * for other ID mappings copied up, kept below its diff so its diff stays its own changes
   * (containers/storage's UpdateLayerIDMap). Mounts stack them between the diff and the parents.
   */
  stackedDiffs(id: string): string[] {
    const out: string[] = [];
    for (let n = 1; existsSync(join(this.dir(id), `${diffDirName}${n}`)); n++) out.push(join(this.dir(id), `${diffDirName}${n}`));
    return out;
  }

  /**
   * Turns the layer's diff into its `diff1` (earlier ones move down one) and starts an empty diff
   * with the same mode owned by `owner`, and a fresh work dir (it may refer to the old upper).
   */
  async rotateDiff(id: string, owner: { uid: number; gid: number }): Promise<void> {
    const dir = this.dir(id);
    const stacked = this.stackedDiffs(id);
    for (let n = stacked.length; n >= 1; n--) await rename(join(dir, `${diffDirName}${n}`), join(dir, `${diffDirName}${n + 1}`));
    const diff = this.diffDir(id);
    const mode = (await stat(diff)).mode & 0o7777;
    await rename(diff, join(dir, `${diffDirName}1`));
    await mkdir(diff, { mode });
    await chown(diff, owner.uid, owner.gid);
    await chmod(diff, mode);
    const work = join(dir, workDirName);
    await removeTree(work);
    await mkdir(work, { mode: 0o700 });
    await chown(work, owner.uid, owner.gid);
  }

  exists(id: string): boolean {
    validateLayerID(id);
    return existsSync(this.dir(id));
  }

  /** Throws ErrLayerUnknown when the layer is absent. */
  mustExist(id: string): string {
    const dir = this.dir(id);
    if (!existsSync(dir)) throw new ErrLayerUnknown(`unknown layer ${id}`);
    return dir;
  }

  /** Creates the layer's directories and link; on any failure nothing of it is left behind. */
  async create(id: string, parent: string, owner: Owner): Promise<void> {
    validateLayerID(id);
    const dir = join(this.home, id);
    if (existsSync(dir)) throw new Error(`layer ${id} already exists in ${this.home}`);
    let lower = '';
    let diffMode = 0o555;
    let diffOwner = owner;
    if (parent !== '') {
      this.mustExist(parent);
      lower = this.lowerFor(parent);
      // A child's root looks like its parent's root until something changes it.
      const st = statSync(this.diffDir(parent));
      diffMode = st.mode & 0o7777;
      diffOwner = { uid: st.uid, gid: st.gid };
    }
    await mkdir(dir, { mode: 0o700 });
    try {
      await chown(dir, owner.uid, owner.gid);
      const diff = join(dir, diffDirName);
      await mkdir(diff);
      // mkdir's mode passes through the umask; the layer root must carry exactly the parent's bits.
      await chmod(diff, diffMode);
      await chown(diff, diffOwner.uid, diffOwner.gid);
      for (const sub of [workDirName, mergedDirName]) {
        await mkdir(join(dir, sub), { mode: 0o700 });
        await chown(join(dir, sub), owner.uid, owner.gid);
      }
      const lid = generateLinkID();
      await symlink(join('..', id, diffDirName), join(this.home, linkDir, lid));
      await writeFile(join(dir, linkFile), lid, { mode: 0o644 });
      if (parent === '') await mkdir(join(dir, emptyDirName), { mode: 0o700 });
      else await writeFile(join(dir, lowerFile), lower, { mode: 0o666 });
    } catch (err) {
      await this.remove(id).catch(() => undefined);
      throw err;
    }
  }

  /** The `lower` file content a child of `parent` gets. */
  lowerFor(parent: string): string {
    const parentDir = this.dir(parent);
    const link = readFileSync(join(parentDir, linkFile), 'utf8').trim();
    const lowers = [`${linkDir}/${link}`, ...this.lowerLinks(parent)];
    if (lowers.length > maxDepth) {
      throw new ErrMaxDepth(`max depth exceeded: a child of layer ${parent} would have ${lowers.length} lower layers (limit ${maxDepth})`);
    }
    return lowers.join(':');
  }

  /** The `l/<LID>` entries of a layer's lower file, uppermost first ([] for a parentless layer). */
  lowerLinks(id: string): string[] {
    try {
      const text = readFileSync(join(this.dir(id), lowerFile), 'utf8').trim();
      return text === '' ? [] : text.split(':').filter((s) => s !== '');
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return [];
      throw err;
    }
  }

  /**
   * The lowers as mount options name them, uppermost first: `l/<LID>` (short, relative to the home)
   * where the link lives in the home, the absolute diff dir for layers of an image store.
   */
  mountLowers(id: string): string[] {
    return this.lowerLinks(id).map((l) => (existsSync(join(this.home, l)) ? l : this.resolveLink(l)));
  }

  /** `path` relative to the home when it lies inside it, else unchanged (absolute). */
  homeRelative(path: string): string {
    const rel = relative(this.home, path);
    return rel === '' || rel === '..' || rel.startsWith('../') || isAbsolute(rel) ? path : rel;
  }

  /** Absolute diff dirs of a layer's lowers, uppermost first, resolved through home or image stores. */
  lowerDirs(id: string): string[] {
    return this.lowerLinks(id).map((l) => this.resolveLink(l));
  }

  /** `l/<LID>` → the absolute diff dir it names, looking in home then the image stores. */
  resolveLink(link: string): string {
    for (const base of [this.home, ...this.imageStores]) {
      const p = join(base, link);
      try {
        return resolve(base, linkDir, readlinkSync(p));
      } catch (err) {
        if (!hasCode(err, 'ENOENT')) throw err;
      }
    }
    throw new Error(`can't stat lower layer ${join(this.home, link)}: the link is missing`);
  }

  /** True when `parent` is the layer directly under `id` (or both have none). */
  isParent(id: string, parent: string): boolean {
    const lowers = this.lowerDirs(id);
    if (parent === '') return lowers.length === 0;
    return lowers.length > 0 && lowers[0] === this.diffDir(parent);
  }

  /** Removes a layer and its l/ link; a missing layer is not an error. */
  async remove(id: string): Promise<void> {
    validateLayerID(id);
    const dir = join(this.home, id);
    try {
      const lid = (await readFile(join(dir, linkFile), 'utf8')).trim();
      if (LID_RE.test(lid)) await unlink(join(this.home, linkDir, lid)).catch(() => undefined);
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw err;
    }
    // Without root, applied layers keep read-only directories: removeTree makes them writable first.
    await removeTree(dir);
  }

  /** Layer IDs in home: every directory that holds a link file (skips l/ and internal entries). */
  listLayers(): string[] {
    return readdirSync(this.home, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== linkDir && existsSync(join(this.home, e.name, linkFile)))
      .map((e) => e.name);
  }

  /** Recreates missing or wrong l/ links from each layer's link file, as containers/storage does on init. */
  async repairLinks(): Promise<number> {
    let repaired = 0;
    for (const id of this.listLayers()) {
      const dir = join(this.home, id);
      let lid: string;
      try {
        lid = readFileSync(join(dir, linkFile), 'utf8').trim();
      } catch {
        continue;
      }
      if (!LID_RE.test(lid)) continue;
      const linkPath = join(this.home, linkDir, lid);
      const want = join('..', id, diffDirName);
      let have: string | undefined;
      try {
        if (lstatSync(linkPath).isSymbolicLink()) have = readlinkSync(linkPath);
      } catch {
        have = undefined;
      }
      if (have === want) continue;
      await rm(linkPath, { force: true, recursive: true });
      await symlink(want, linkPath);
      repaired++;
    }
    return repaired;
  }
}
