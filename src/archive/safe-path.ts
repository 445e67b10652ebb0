/**
 * Keeping every write of a layer inside its target directory.
 *
 * Entry names are cleaned and checked lexically (no absolute names, no `..`, PATH_MAX), and
 * parent directories are resolved one component at a time without trusting the host's path
 * walk: a symlink met on the way is followed as it would be inside a chroot of the target
 * (absolute targets restart at the target root), and one that climbs above the root through
 * `..` is refused. The final component is never followed; callers replace it.
 */
import { lstatSync, mkdirSync, readlinkSync, chmodSync, chownSync } from 'node:fs';
import { ErrInvalidArchive } from '../errors.js';

/** Linux PATH_MAX counts the terminating NUL. */
export const PATH_MAX = 4096;
export const NAME_MAX = 255;
/** Symlinks followed while resolving one path, as the kernel's MAXSYMLINKS. */
const MAX_SYMLINKS = 40;

/** A cleaned, relative entry path: `''` for the root, else `a/b/c` without `.` or `..`. */
export type RelPath = string;

/**
 * Cleans a tar entry name (`./a//b/` → `a/b`) and rejects names that could leave the root.
 * `what` names the field in errors ("entry", "hardlink target").
 */
export function cleanEntryName(name: string, what = 'entry'): RelPath {
  if (name.startsWith('/')) {
    throw new ErrInvalidArchive(`invalid layer archive: ${what} "${name}" is an absolute path`);
  }
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      throw new ErrInvalidArchive(`invalid layer archive: ${what} "${name}" has a ".." component`);
    }
    if (Buffer.byteLength(part) > NAME_MAX) {
      throw new ErrInvalidArchive(`invalid layer archive: ${what} "${name}" has a component over NAME_MAX (${NAME_MAX} bytes)`);
    }
    parts.push(part);
  }
  const rel = parts.join('/');
  if (Buffer.byteLength(rel) >= PATH_MAX) {
    throw new ErrInvalidArchive(`invalid layer archive: ${what} "${name.slice(0, 64)}…" is longer than PATH_MAX (${PATH_MAX} bytes)`);
  }
  return rel;
}

export function dirOf(rel: RelPath): RelPath {
  const i = rel.lastIndexOf('/');
  return i === -1 ? '' : rel.slice(0, i);
}

export function baseOf(rel: RelPath): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

/** Joins root-relative segments, treating `..` above the root as the root (chroot semantics). */
function normalizeInRoot(segments: string[]): { parts: string[]; escaped: boolean } {
  const parts: string[] = [];
  let escaped = false;
  for (const s of segments) {
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (parts.length === 0) escaped = true;
      else parts.pop();
    } else parts.push(s);
  }
  return { parts, escaped };
}

export type ParentResult = { kind: 'dir'; path: string } | { kind: 'missing' } | { kind: 'notdir'; at: RelPath };

export interface MkdirOwner {
  uid: number;
  gid: number;
}

/**
 * Resolves directories of one target root, caching answers; the cache must be cleared
 * whenever a directory or symlink inside the root is removed or replaced.
 */
export class RootResolver {
  private readonly cache = new Map<RelPath, string>();

  constructor(
    readonly root: string,
    /** Owner for directories created implicitly (the root pair of the ID mappings). */
    private readonly owner?: MkdirOwner,
  ) {}

  invalidate(): void {
    this.cache.clear();
  }

  /**
   * The host path of directory `rel`. With `create`, missing directories are made (0755),
   * so entries whose parents the archive omits still land where they belong.
   */
  resolveDir(rel: RelPath, create: boolean, entry: string): ParentResult {
    if (rel === '') return { kind: 'dir', path: this.root };
    const hit = this.cache.get(rel);
    if (hit !== undefined) return { kind: 'dir', path: hit };
    let pending = rel.split('/');
    let host = this.root;
    let done: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      const next = `${host}/${part}`;
      const st = lstatSync(next, { throwIfNoEntry: false });
      if (st === undefined) {
        if (!create) return { kind: 'missing' };
        this.mkdir(next);
        host = next;
        done.push(part);
        continue;
      }
      if (st.isDirectory()) {
        host = next;
        done.push(part);
        continue;
      }
      if (!st.isSymbolicLink()) return { kind: 'notdir', at: [...done, part].join('/') };
      if (++links > MAX_SYMLINKS) {
        throw new ErrInvalidArchive(`invalid layer archive: entry "${entry}": too many levels of symlinks below "${rel}"`);
      }
      const target = readlinkSync(next);
      const absolute = target.startsWith('/');
      const { parts, escaped } = normalizeInRoot([...(absolute ? [] : done), ...target.split('/')]);
      // Inside a chroot `/..` is `/`; a relative link climbing above the root is an escape attempt.
      if (escaped && !absolute) {
        throw new ErrInvalidArchive(
          `invalid layer archive: entry "${entry}": symlink "${[...done, part].join('/')}" -> "${target}" leads outside the target directory`,
        );
      }
      // Restart from the root along the link's target, then the components still pending.
      pending = [...parts, ...pending];
      host = this.root;
      done = [];
    }
    this.cache.set(rel, host);
    return { kind: 'dir', path: host };
  }

  private mkdir(path: string): void {
    mkdirSync(path);
    chmodSync(path, 0o755);
    const owner = this.owner;
    if (owner !== undefined && (owner.uid !== process.geteuid?.() || owner.gid !== process.getegid?.())) {
      try {
        chownSync(path, owner.uid, owner.gid);
      } catch {
        // Implicit directories keep the caller's ownership when it may not chown (rootless).
      }
    }
  }
}

/** True when a symlink at `rel` pointing to `target` stays inside the root (containers/storage's breakout rule). */
export function symlinkStaysInRoot(rel: RelPath, target: string): boolean {
  if (target.startsWith('/')) return true;
  return !normalizeInRoot([...dirOf(rel).split('/'), ...target.split('/')]).escaped;
}
