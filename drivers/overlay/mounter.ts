/**
 * Kernel overlay mounts. One option string when it fits in a page (what mount(2) accepts);
 * otherwise the new mount API with one `lowerdir+` per layer, and on kernels without `lowerdir+`
 * the relative `l/<LID>` paths from the home, as containers/storage does.
 */
import { join } from 'node:path';
import { hasCode } from '../../src/errors.js';
import { FsMagic, fsMagic, mount, mountFs, type FsParam } from '../../src/native.js';
import { detachMount, type MountSpec, type Mounter } from '../overlay-layout/mount-spec.js';
import { splitMountOptions } from './mount-flags.js';

/** mount(2) copies at most one page of option data, including the terminating NUL. */
const PAGE_SIZE = 4096;

function optionString(lowers: string[], upper: string | undefined, work: string | undefined, extra: string[]): string {
  const parts = [`lowerdir=${lowers.join(':')}`];
  if (upper !== undefined && work !== undefined) parts.push(`upperdir=${upper}`, `workdir=${work}`);
  return [...parts, ...extra].join(',');
}

export class KernelMounter implements Mounter {
  constructor(
    private readonly home: string,
    /** In a user namespace overlay keeps its xattrs in user.overlay.* and must be told so. */
    private readonly userXattr: boolean,
  ) {}

  async mount(spec: MountSpec): Promise<void> {
    const { flags, attrFlags, data: fsOptions } = splitMountOptions(spec.options);
    const extra = [...fsOptions, ...(this.userXattr ? ['userxattr'] : [])];
    const data = optionString(spec.lowers, spec.upper, spec.work, extra);
    try {
      if (Buffer.byteLength(data) < PAGE_SIZE) {
        mount('overlay', spec.target, 'overlay', flags, data);
        return;
      }
      try {
        mountFs('overlay', spec.target, this.#params(spec, extra), attrFlags);
        return;
      } catch (err) {
        // Kernels before 6.8 reject `lowerdir+`; fall back to short relative paths.
        if (!hasCode(err, 'EINVAL')) throw err;
      }
      this.#mountRelative(spec, extra, flags);
    } catch (err) {
      throw new Error(`creating overlay mount to ${spec.target}: ${(err as Error).message}`, { cause: err });
    }
  }

  async unmount(target: string): Promise<void> {
    detachMount(target);
  }

  isMounted(target: string): boolean {
    try {
      return fsMagic(target) === FsMagic.OVERLAY;
    } catch {
      return false;
    }
  }

  #params(spec: MountSpec, extra: string[]): FsParam[] {
    const params: FsParam[] = spec.lowers.map((l) => ['lowerdir+', l]);
    if (spec.upper !== undefined && spec.work !== undefined) params.push(['upperdir', spec.upper], ['workdir', spec.work]);
    for (const o of extra) {
      const eq = o.indexOf('=');
      params.push(eq < 0 ? [o] : [o.slice(0, eq), o.slice(eq + 1)]);
    }
    return params;
  }

  /** mount(2) resolves relative option paths against the caller's cwd, so mount from the home. */
  #mountRelative(spec: MountSpec, extra: string[], flags: number): void {
    const rel = (p: string | undefined): string | undefined => (p === undefined ? undefined : p.slice(this.home.length + 1));
    const data = optionString(spec.lowerLinks, rel(spec.upper), rel(spec.work), extra);
    if (Buffer.byteLength(data) >= PAGE_SIZE) {
      throw new Error(`cannot mount layer ${spec.id}: mount options are ${Buffer.byteLength(data)} bytes even with relative paths`);
    }
    const cwd = process.cwd();
    process.chdir(this.home);
    try {
      mount('overlay', join(spec.id, 'merged'), 'overlay', flags, data);
    } finally {
      process.chdir(cwd);
    }
  }
}
