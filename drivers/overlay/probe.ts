/**
 * What the kernel overlay driver checks before it takes a home, each answer cached as a feature
 * file in `<runroot>/overlay/` (`NAME-true` / `NAME-false` holding the reason) so later inits
 * skip the test mounts, as containers/storage does.
 */
import { spawnSync } from 'node:child_process';
import { constants as fsConstants, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { ErrIncompatibleFS, ErrNotSupported } from '../../src/errors.js';
import { fsName } from '../../src/fs/backing-fs.js';
import { splitMountOptions } from './mount-flags.js';
import { constants, FsMagic, fsMagic, lgetxattrOptional, lsetxattr, mknod, mount, renameat2, umount2 } from '../../src/native.js';
import { mountRights, type MountRights } from '../overlay-layout/privilege.js';

/** Filesystems known to fill in d_type, which overlay needs to see whiteouts quickly. */
const dTypeFilesystems = new Set<number>([FsMagic.EXT4, FsMagic.BTRFS, FsMagic.TMPFS, FsMagic.XFS, FsMagic.ZFS]);

function kernelHasOverlay(): boolean {
  const listed = (): boolean => readFileSync('/proc/filesystems', 'utf8').split('\n').includes('nodev\toverlay');
  if (listed()) return true;
  spawnSync('modprobe', ['overlay'], { stdio: 'ignore' });
  return listed();
}

/** Checks that the kernel has overlay and this process may mount it; throws ErrNotSupported otherwise. */
export function checkMountRights(): MountRights {
  if (!kernelHasOverlay()) {
    throw new ErrNotSupported("'overlay' not found as a supported filesystem on this host: kernel does not support overlay fs");
  }
  const rights = mountRights();
  if (rights === 'none') {
    throw new ErrNotSupported(
      `'overlay' needs root or a user namespace with mount rights; uid ${process.geteuid?.()} has neither (use fuse-overlay)`,
    );
  }
  return rights;
}

/** Checks the filesystem `home` lies on; overlay cannot stack on overlay, aufs or ecryptfs (ErrIncompatibleFS). */
export function checkBackingFs(home: string, rights: MountRights): { backingFs: string; dType: boolean } {
  const magic = fsMagic(home);
  const backingFs = fsName(magic);
  if (magic === FsMagic.AUFS || magic === FsMagic.OVERLAY || magic === FsMagic.ECRYPTFS) {
    throw new ErrIncompatibleFS(`'overlay' is not supported over ${backingFs} (${home}), a mount_program is required`);
  }
  if (rights === 'userns' && magic === FsMagic.NFS) {
    throw new ErrIncompatibleFS(`a network file system (${home}) with user namespaces is not supported; use fuse-overlay`);
  }
  return { backingFs, dType: dTypeFilesystems.has(magic) };
}

/** Reads a cached feature; undefined when it was never recorded. */
function cached(runHome: string, feature: string): { ok: boolean; text: string } | undefined {
  for (const ok of [true, false]) {
    const p = join(runHome, `${feature}-${ok}`);
    if (existsSync(p)) return { ok, text: readFileSync(p, 'utf8') };
  }
  return undefined;
}

function record(runHome: string, feature: string, ok: boolean, text: string): void {
  mkdirSync(runHome, { recursive: true, mode: 0o700 });
  writeFileSync(join(runHome, `${feature}-${ok}`), text);
}

/** Runs `check` once per run home, caching its verdict; a false verdict is thrown as ErrNotSupported. */
export function cachedCheck(runHome: string, feature: string, check: () => string | undefined): void {
  const hit = cached(runHome, feature);
  if (hit) {
    if (!hit.ok) throw new ErrNotSupported(hit.text);
    return;
  }
  const failure = check();
  record(runHome, feature, failure === undefined, failure ?? '');
  if (failure !== undefined) throw new ErrNotSupported(failure);
}

/** Like cachedCheck but returns the verdict instead of throwing. */
export function cachedFlag(runHome: string, feature: string, check: () => string | undefined): { ok: boolean; text: string } {
  const hit = cached(runHome, feature);
  if (hit) return hit;
  const failure = check();
  record(runHome, feature, failure === undefined, failure ?? '');
  return { ok: failure === undefined, text: failure ?? '' };
}

function xattrName(userXattr: boolean, name: string): string {
  return `${userXattr ? 'user' : 'trusted'}.overlay.${name}`;
}

/** A scratch dir inside home (same filesystem as the layers) removed after `fn`, unmounting first. */
function withScratch<T>(home: string, fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(home, 'probe-'));
  try {
    return fn(dir);
  } finally {
    try {
      umount2(join(dir, 'merged'), constants.MNT_DETACH);
    } catch {
      // not mounted: the usual case
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The oldest kernel whose overlay takes several lower layers in one mount. */
const MULTIPLE_LOWERS_KERNEL: readonly [number, number] = [4, 0];

/** Why this kernel release is too old for layered images (undefined when it is not), as c/storage's version gate. */
export function kernelVersionProblem(kernelRelease: string = release()): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  if (!m) return undefined; // an unparsable release is left to the test mount
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const [wantMajor, wantMinor] = MULTIPLE_LOWERS_KERNEL;
  if (major > wantMajor || (major === wantMajor && minor >= wantMinor)) return undefined;
  return `kernel ${kernelRelease} too old to provide multiple lowers feature for overlay (needs ${wantMajor}.${wantMinor}; overlay.override_kernel_check=true skips this check)`;
}

/** What the test mounts saw: each undefined when the mount worked, else its error. */
export interface LowerMounts {
  twoLowers?: string;
  /** Only tried when the two-lower mount failed. */
  oneLower?: string;
}

/**
 * The verdict on the test mounts: a kernel that mounts one lower but not two cannot stack image
 * layers at all (ErrNotSupported, so newDriver moves on); undefined when two lowers mounted.
 */
export function lowerMountsVerdict(r: LowerMounts): string | undefined {
  if (r.twoLowers === undefined) return undefined;
  if (r.oneLower === undefined) {
    return `kernel supports a single lower layer only: an overlay test mount with two lower layers failed (${r.twoLowers}) while one lower mounted`;
  }
  return `overlay test mount failed: ${r.twoLowers}`;
}

function tryMount(target: string, opts: string[]): string | undefined {
  const { flags, data } = splitMountOptions(opts);
  try {
    mount('overlay', target, 'overlay', flags, data.join(','));
    return undefined;
  } catch (err) {
    return describe(err);
  }
}

/**
 * A test mount with two lowers and an upper holding a 0/0 whiteout, then removal of a merged dir:
 * returns undefined when overlay works here, else why not.
 */
export function testMount(home: string, userXattr: boolean, mountOpts: string): string | undefined {
  return withScratch(home, (td) => {
    for (const d of ['l1/d', 'l2', 'upper', 'work', 'merged']) mkdirSync(join(td, d), { recursive: true });
    writeFileSync(join(td, 'l1', 'hidden'), 'x');
    writeFileSync(join(td, 'l2', 'kept'), 'x');
    try {
      mknod(join(td, 'upper', 'hidden'), fsConstants.S_IFCHR | 0o600, 0, 0);
    } catch (err) {
      return `cannot create a whiteout device in ${home}: ${describe(err)}`;
    }
    const rest = [`upperdir=${join(td, 'upper')}`, `workdir=${join(td, 'work')}`];
    if (userXattr) rest.push('userxattr');
    if (mountOpts) rest.push(mountOpts);
    const merged = join(td, 'merged');
    const r: LowerMounts = { twoLowers: tryMount(merged, [`lowerdir=${join(td, 'l2')}:${join(td, 'l1')}`, ...rest]) };
    if (r.twoLowers !== undefined) {
      r.oneLower = tryMount(merged, [`lowerdir=${join(td, 'l2')}`, ...rest]);
      return lowerMountsVerdict(r);
    }
    const names = readdirSync(merged).sort().join(',');
    if (names !== 'd,kept') return `overlay test mount shows ${names || 'nothing'}, expected d,kept (whiteout not honoured)`;
    try {
      rmSync(join(merged, 'd'), { recursive: true });
    } catch (err) {
      return `removing a directory in an overlay test mount failed: ${describe(err)}`;
    }
    return undefined;
  });
}

/**
 * containers/storage's native-diff check: an opaque flag copied up wrongly, or redirect_dir
 * renaming lower directories, make the upper dir an untrustworthy diff. Undefined means trusted.
 */
export function nativeDiffProblem(home: string, userXattr: boolean, mountOpts: string): string | undefined {
  return withScratch(home, (td) => {
    for (const d of ['l1/d', 'l1/d1', 'l2/d', 'l3', 'work', 'merged']) mkdirSync(join(td, d), { recursive: true });
    const opaque = xattrName(userXattr, 'opaque');
    lsetxattr(join(td, 'l2', 'd'), opaque, 'y');
    const opts = [`lowerdir=${join(td, 'l2')}:${join(td, 'l1')}`, `upperdir=${join(td, 'l3')}`, `workdir=${join(td, 'work')}`];
    if (userXattr) opts.push('userxattr');
    if (mountOpts) opts.push(mountOpts);
    const failed = tryMount(join(td, 'merged'), opts);
    if (failed !== undefined) return `native diff check mount failed: ${failed}`;
    writeFileSync(join(td, 'merged', 'd', 'f'), '');
    if (lgetxattrOptional(join(td, 'l3', 'd'), opaque)?.toString() === 'y') {
      return 'opaque flag erroneously copied up, consider a kernel update';
    }
    try {
      renameat2(join(td, 'merged', 'd1'), join(td, 'merged', 'd2'), 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EXDEV') return undefined;
      return `renaming a directory in the native diff check failed: ${describe(err)}`;
    }
    if (lgetxattrOptional(join(td, 'l3', 'd2'), xattrName(userXattr, 'redirect'))?.toString() === 'd1') {
      return 'kernel has redirect_dir enabled: lower directories renamed in a layer need the naive differ';
    }
    return undefined;
  });
}
