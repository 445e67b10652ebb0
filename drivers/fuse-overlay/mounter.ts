/**
 * FUSE mounts through a mount program: `strata-fuse` by default (or overlay.mount_program, e.g.
 * fuse-overlayfs), called as podman calls one: `PROG -o lowerdir=l/…,upperdir=…,workdir=… MERGED`
 * with cwd = the driver home. The program daemonises, so the mount outlives this process.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { IDMap } from '../../src/driver.js';
import { hasCode } from '../../src/errors.js';
import { constants, FsMagic, fsMagic, umount2 } from '../../src/native.js';
import type { MountSpec, Mounter } from '../overlay-layout/driver-base.js';

const run = promisify(execFile);

/** `c:h:s:c:h:s…`, the mapping syntax of fuse-overlayfs's uidmapping/gidmapping options. */
export function formatMapping(maps: IDMap[]): string {
  return maps.map((m) => `${m.containerID}:${m.hostID}:${m.size}`).join(':');
}

export class FuseMounter implements Mounter {
  constructor(
    private readonly home: string,
    /** argv prefix of the mount program, e.g. [node, dist/src/fuse/main.js]. */
    private readonly program: string[],
    private readonly fusermount: string | undefined,
    private readonly extraOptions: string[] = [],
  ) {}

  async mount(spec: MountSpec): Promise<void> {
    const opts = [`lowerdir=${spec.lowerLinks.join(':')}`];
    if (spec.upper !== undefined && spec.work !== undefined) opts.push(`upperdir=${spec.upper}`, `workdir=${spec.work}`);
    if (spec.uidMaps?.length) opts.push(`uidmapping=${formatMapping(spec.uidMaps)}`);
    if (spec.gidMaps?.length) opts.push(`gidmapping=${formatMapping(spec.gidMaps)}`);
    opts.push(...this.extraOptions, ...spec.options);
    const [cmd, ...pre] = this.program;
    try {
      await run(cmd!, [...pre, '-o', opts.join(','), spec.target], { cwd: this.home, timeout: 60_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      const why = (e.stderr ?? '').trim() || e.message;
      throw new Error(`mounting ${spec.target} with ${this.program.at(-1)}: ${why}`, { cause: err });
    }
    if (!this.isMounted(spec.target)) throw new Error(`${this.program.at(-1)} exited but ${spec.target} is not mounted`);
  }

  async unmount(target: string): Promise<void> {
    if (this.fusermount !== undefined) {
      try {
        await run(this.fusermount, ['-u', '-z', target]);
        return;
      } catch {
        // fall back to umount2 below (root, or the helper refused)
      }
    }
    try {
      umount2(target, constants.MNT_DETACH);
    } catch (err) {
      if (!hasCode(err, 'EINVAL') && !hasCode(err, 'ENOENT')) throw err;
    }
  }

  isMounted(target: string): boolean {
    try {
      return fsMagic(target) === FsMagic.FUSE;
    } catch {
      return false;
    }
  }
}
