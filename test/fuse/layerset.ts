/**
 * Test layer sets: identical lower/upper trees built from a small spec, so the same layers can be
 * mounted by strata-fuse and by the kernel's overlay and the results compared.
 */
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { lsetxattr, mknod } from '../../src/native.js';

/** One entry of a layer: a path (a trailing `/` makes a directory) and what it holds. */
export type EntrySpec =
  | string // file content
  | { dir: true; mode?: number; opaque?: OpaqueForm }
  | { file: string; mode?: number; xattrs?: Record<string, string> }
  | { symlink: string }
  | { whiteout: 'device' | 'file' }
  | { fifo: true };

export type OpaqueForm = 'trusted' | 'user' | 'fuse' | 'marker';

export type LayerSpec = Record<string, EntrySpec>;

export interface LayerDirs {
  lowers: string[];
  upper: string;
  work: string;
}

const OPAQUE_XATTR: Record<Exclude<OpaqueForm, 'marker'>, string> = {
  trusted: 'trusted.overlay.opaque',
  user: 'user.overlay.opaque',
  fuse: 'user.fuseoverlayfs.opaque',
};

/** Writes one layer; parents are created as 0755 directories. */
export function writeLayer(root: string, spec: LayerSpec): void {
  mkdirSync(root, { recursive: true });
  for (const [rel, entry] of Object.entries(spec)) {
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof entry === 'string') {
      if (rel.endsWith('/')) mkdirSync(path, { recursive: true });
      else writeFileSync(path, entry);
    } else if ('dir' in entry) {
      mkdirSync(path, { recursive: true });
      chmodSync(path, entry.mode ?? 0o755);
      if (entry.opaque === 'marker') writeFileSync(join(path, '.wh..wh..opq'), '');
      else if (entry.opaque) lsetxattr(path, OPAQUE_XATTR[entry.opaque], 'y');
    } else if ('file' in entry) {
      writeFileSync(path, entry.file);
      chmodSync(path, entry.mode ?? 0o644);
      for (const [k, v] of Object.entries(entry.xattrs ?? {})) lsetxattr(path, k, v);
    } else if ('symlink' in entry) {
      symlinkSync(entry.symlink, path);
    } else if ('whiteout' in entry) {
      if (entry.whiteout === 'device') mknod(path, 0o020000, 0, 0);
      else writeFileSync(join(dirname(path), `.wh.${rel.split('/').pop()!}`), '');
    } else {
      mknod(path, 0o010644, 0, 0);
    }
  }
}

/** Builds lowers (top first), an upper and a workdir under base. */
export function makeLayers(base: string, lowers: LayerSpec[], upper: LayerSpec = {}): LayerDirs {
  const dirs: LayerDirs = {
    lowers: lowers.map((_, i) => join(base, `lower${i}`)),
    upper: join(base, 'upper'),
    work: join(base, 'work'),
  };
  lowers.forEach((spec, i) => writeLayer(dirs.lowers[i]!, spec));
  writeLayer(dirs.upper, upper);
  mkdirSync(dirs.work, { recursive: true });
  return dirs;
}

/** One line per entry of a tree: path, type, permission bits, size, content hash or link target. */
export function describeTree(root: string, opts: { owners?: boolean } = {}): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(root, r);
      const st = lstatSync(p);
      const owner = opts.owners ? ` ${st.uid}:${st.gid}` : '';
      const perm = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`${r}/ d ${perm}${owner}`);
        walk(r);
      } else if (st.isSymbolicLink()) {
        out.push(`${r} l -> ${readlinkSync(p)}${owner}`);
      } else if (st.isFile()) {
        const hash = createHash('sha1').update(readFileSync(p)).digest('hex').slice(0, 10);
        out.push(`${r} f ${perm} ${st.size} ${hash}${owner}`);
      } else {
        const kind = st.isFIFO() ? 'p' : st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : 's';
        out.push(`${r} ${kind} ${perm} ${st.rdev}${owner}`);
      }
    }
  };
  walk('');
  return out;
}
