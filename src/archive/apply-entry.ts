/**
 * Creating one non-whiteout entry of a layer and giving it the archive's owner, xattrs,
 * mode and times, in containers/storage's order of effects: owner before xattrs (a chown
 * drops security.capability) and before mode (a chown drops setuid bits). Hardlinks get the
 * header's metadata too, as containers/storage's chrooted unpack ends up doing.
 */
import {
  closeSync,
  constants as fsConstants,
  fchmodSync,
  fchownSync,
  chmodSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { ErrInvalidArchive } from '../errors.js';
import { lsetxattr, mknod } from '../native.js';
import type { ApplyContext } from './apply-context.js';
import { accessTime, entryError, errnoCode, setTimes } from './fs-meta.js';
import { toHost, type IDPair } from './idmap.js';
import { formatOverrideStat } from './override-stat.js';
import { baseOf, cleanEntryName, dirOf, symlinkStaysInRoot, type RelPath } from './safe-path.js';
import type { TarHeader } from './tar/header.js';
import type { TarReader } from './tar/reader.js';
import { isInternalXattr, OVERRIDE_STAT_XATTR } from './whiteout.js';

/** Xattrs containers/storage never applies from a layer. */
const IGNORED_XATTRS = new Set(['security.selinux']);
const CREATE_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;

/** The host owner of an entry; unmappable container IDs are an archive error. */
export function hostOwner(ctx: ApplyContext, hdr: TarHeader): IDPair {
  const ids = toHost({ uid: hdr.uid, gid: hdr.gid }, ctx.opts.idMappings);
  if (ids === undefined) {
    throw new ErrInvalidArchive(
      `invalid layer archive: entry "${hdr.name}": owner ${hdr.uid}:${hdr.gid} is outside the layer's ID mappings`,
    );
  }
  return ids;
}

/** Removes whatever is at `path` unless it is a directory the entry merges into. */
export function clearTarget(ctx: ApplyContext, path: string, hdr: TarHeader): Stats | undefined {
  const existing = lstatSync(path, { throwIfNoEntry: false });
  if (existing === undefined) return undefined;
  if (existing.isDirectory() && hdr.type === 'dir') return existing;
  rmSync(path, { recursive: true, force: true });
  // A directory or symlink may have been a cached parent of later entries.
  if (existing.isDirectory() || existing.isSymbolicLink()) ctx.resolver.invalidate();
  return undefined;
}

/** Creates the entry at `path` (inside the root, final component unresolved) and sets its metadata. */
export async function createEntry(ctx: ApplyContext, hdr: TarHeader, rel: RelPath, path: string, reader: TarReader): Promise<void> {
  const owner = hostOwner(ctx, hdr);
  const forced = ctx.opts.forceMask;
  // Under a forced mask everything but directories and links is stored as a plain file.
  const type = forced !== undefined && hdr.type !== 'dir' && hdr.type !== 'symlink' && hdr.type !== 'hardlink' ? 'file' : hdr.type;
  if ((type === 'char' || type === 'block') && ctx.inUserNS) return;
  const existingDir = clearTarget(ctx, path, hdr);
  switch (type) {
    case 'file':
      await writeFile(ctx, hdr, path, owner, reader);
      break;
    case 'dir':
      if (existingDir === undefined) mkdirSync(path, 0o700);
      break;
    case 'symlink':
      if (!symlinkStaysInRoot(rel, hdr.linkname)) {
        throw new ErrInvalidArchive(`invalid layer archive: symlink "${hdr.name}" -> "${hdr.linkname}" points outside the target directory`);
      }
      symlinkSync(hdr.linkname, path);
      break;
    case 'hardlink':
      linkTo(ctx, hdr, path);
      break;
    default:
      makeNode(hdr, type, path);
  }
  if (type !== 'file') {
    // A hardlink shares its target's inode: re-owning it to the same owner would only strip
    // its setuid bits and capabilities.
    if (type !== 'hardlink' || !ownedBy(path, owner)) chown(ctx, hdr, path, owner);
    setXattrs(ctx, hdr, path);
    if (type === 'dir') setOverrideStat(ctx, hdr, path, owner);
    // No lchmod on Linux: symlinks keep 0777. Directories get their mode at the end, so a
    // read-only one (0555 /usr/lib) can still be filled by an unprivileged caller.
    if (type !== 'symlink' && type !== 'dir') chmodSync(path, forced ?? hdr.mode);
  }
  const atime = accessTime(hdr.atime, hdr.mtime);
  if (type === 'dir') ctx.dirs.push({ path, mode: forced ?? hdr.mode, atime, mtime: hdr.mtime });
  else setTimes(path, atime, hdr.mtime);
}

async function writeFile(ctx: ApplyContext, hdr: TarHeader, path: string, owner: IDPair, reader: TarReader): Promise<void> {
  const fd = openSync(path, CREATE_FLAGS, 0o600);
  try {
    for await (const chunk of reader.body()) {
      for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
    }
    if (ctx.opts.forceMask === undefined) {
      tryChown(ctx, hdr, () => fchownSync(fd, owner.uid, owner.gid));
    }
    // Content and owner first: either would drop file capabilities set before them. Xattrs
    // before the mode, which may take away the write permission user.* xattrs need.
    setXattrs(ctx, hdr, path);
    setOverrideStat(ctx, hdr, path, owner);
    fchmodSync(fd, ctx.opts.forceMask ?? hdr.mode);
  } finally {
    closeSync(fd);
  }
}

/** Under a forced mask, records the entry's real owner, mode and type. */
function setOverrideStat(ctx: ApplyContext, hdr: TarHeader, path: string, owner: IDPair): void {
  if (ctx.opts.forceMask === undefined) return;
  lsetxattr(path, OVERRIDE_STAT_XATTR, formatOverrideStat({ ...owner, mode: hdr.mode, type: hdr.type, devmajor: hdr.devmajor, devminor: hdr.devminor }));
}

function linkTo(ctx: ApplyContext, hdr: TarHeader, path: string): void {
  const target = cleanEntryName(hdr.linkname, `hardlink "${hdr.name}" target`);
  const parent = ctx.resolver.resolveDir(dirOf(target), false, hdr.name);
  const source = parent.kind === 'dir' ? `${parent.path}/${baseOf(target)}` : undefined;
  const st = source === undefined || target === '' ? undefined : lstatSync(source, { throwIfNoEntry: false });
  if (st === undefined || source === undefined) {
    throw new ErrInvalidArchive(`invalid layer archive: hardlink "${hdr.name}" points to "${hdr.linkname}", which does not exist`);
  }
  if (st.isDirectory()) {
    throw new ErrInvalidArchive(`invalid layer archive: hardlink "${hdr.name}" points to directory "${hdr.linkname}"`);
  }
  linkSync(source, path);
}

function makeNode(hdr: TarHeader, type: 'char' | 'block' | 'fifo', path: string): void {
  const typeBits = type === 'char' ? fsConstants.S_IFCHR : type === 'block' ? fsConstants.S_IFBLK : fsConstants.S_IFIFO;
  try {
    mknod(path, typeBits | (hdr.mode & 0o7777), hdr.devmajor, hdr.devminor);
  } catch (err) {
    if (errnoCode(err) === 'EPERM' && type !== 'fifo') {
      throw new ErrInvalidArchive(
        `invalid layer archive: entry "${hdr.name}": creating a ${type} device (${hdr.devmajor}:${hdr.devminor}) is not permitted ` +
          '(needs CAP_MKNOD; rootless callers skip devices with inUserNS, as containers/storage does)',
        { cause: err },
      );
    }
    throw err;
  }
}

function ownedBy(path: string, owner: IDPair): boolean {
  const st = lstatSync(path);
  return st.uid === owner.uid && st.gid === owner.gid;
}

function chown(ctx: ApplyContext, hdr: TarHeader, path: string, owner: IDPair): void {
  if (ctx.opts.forceMask !== undefined) return;
  tryChown(ctx, hdr, () => lchownSync(path, owner.uid, owner.gid));
}

function tryChown(ctx: ApplyContext, hdr: TarHeader, op: () => void): void {
  try {
    op();
  } catch (err) {
    if (ctx.opts.ignoreChownErrors) return;
    throw entryError(hdr.name, `chown to ${hdr.uid}:${hdr.gid} failed (without root or a user namespace, set the storage option <driver>.ignore_chown_errors=true or <driver>.force_mask)`, err);
  }
}

/** Applies the archive's xattrs, never storage-internal ones; unsupported ones are skipped. */
export function setXattrs(ctx: ApplyContext, hdr: TarHeader, path: string): void {
  for (const [name, value] of hdr.xattrs) {
    if (IGNORED_XATTRS.has(name) || isInternalXattr(name)) continue;
    try {
      lsetxattr(path, name, value);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') continue;
      if (code === 'EPERM' && ctx.inUserNS) continue;
      throw entryError(hdr.name, `setting xattr ${name}`, err);
    }
  }
}
