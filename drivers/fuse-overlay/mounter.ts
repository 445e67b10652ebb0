/**
 * FUSE mounts through a mount program, called as podman calls one:
 * `PROG -o lowerdir=l/…,upperdir=…,workdir=… MERGED` with cwd = the driver home. The serving
 * process runs in its own session, so a mount outlives the process that asked for it.
 */
import { execFile } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { IDMap } from '../../src/driver.js';
import { startDaemon } from '../../src/fuse/launch.js';
import { FsMagic, fsMagic } from '../../src/native.js';
import { detachMount, type MountSpec, type Mounter } from '../overlay-layout/mount-spec.js';

const run = promisify(execFile);

/** How long a mount program may take to bring its mount up. */
const MOUNT_TIMEOUT_MS = 60_000;

/** strata-fuse run by a Node binary, or any fuse-overlayfs compatible program (overlay.mount_program). */
export type MountProgram = { kind: 'strata-fuse'; node: string; main: string } | { kind: 'external'; path: string };

export function programName(p: MountProgram): string {
  return p.kind === 'strata-fuse' ? p.main : p.path;
}

/** `c:h:s:c:h:s…`, the mapping syntax of fuse-overlayfs's uidmapping/gidmapping options. */
export function formatMapping(maps: IDMap[]): string {
  return maps.map((m) => `${m.containerID}:${m.hostID}:${m.size}`).join(':');
}

/**
 * The option for one side's mappings, as containers/storage writes it: a single one-ID range
 * (a user with no subordinate IDs) squashes every owner to that host ID.
 */
function mappingOption(kind: 'uid' | 'gid', maps: IDMap[]): string {
  const only = maps.length === 1 ? maps[0]! : undefined;
  return only?.size === 1 ? `squash_to_${kind}=${only.hostID}` : `${kind}mapping=${formatMapping(maps)}`;
}

/** The `-o` argument for a mount: lowers relative to the home where their link lives there. */
export function mountOptions(spec: MountSpec, extra: readonly string[]): string {
  const opts = [`lowerdir=${spec.lowerLinks.join(':')}`];
  if (spec.upper !== undefined && spec.work !== undefined) opts.push(`upperdir=${spec.upper}`, `workdir=${spec.work}`);
  if (spec.uidMaps?.length) opts.push(mappingOption('uid', spec.uidMaps));
  if (spec.gidMaps?.length) opts.push(mappingOption('gid', spec.gidMaps));
  return [...opts, ...extra, ...spec.options].join(',');
}

export class FuseMounter implements Mounter {
  constructor(
    private readonly home: string,
    private readonly program: MountProgram,
    private readonly fusermount: string | undefined,
    private readonly extraOptions: string[] = [],
  ) {}

  async mount(spec: MountSpec): Promise<void> {
    const args = ['-o', mountOptions(spec, this.extraOptions), spec.target];
    const name = programName(this.program);
    try {
      // strata-fuse's server started directly, as bin/strata-fuse would: no shell in between.
      if (this.program.kind === 'strata-fuse') await startDaemon(this.program.node, [this.program.main, ...args], { cwd: this.home, timeoutMs: MOUNT_TIMEOUT_MS });
      else await run(this.program.path, args, { cwd: this.home, timeout: MOUNT_TIMEOUT_MS });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      const why = (e.stderr ?? '').trim() || e.message;
      throw new Error(`mounting ${spec.target} with ${name}: ${why}`, { cause: err });
    }
    if (!this.isMounted(spec.target)) throw new Error(`${name} returned but ${spec.target} is not mounted`);
  }

  async unmount(target: string): Promise<void> {
    // Root (also of a user namespace) detaches directly; others ask the setuid helper.
    if (process.geteuid?.() === 0 || this.fusermount === undefined) {
      try {
        detachMount(target);
        return;
      } catch (err) {
        if (this.fusermount === undefined) throw err;
      }
    }
    try {
      await run(this.fusermount!, ['-u', '-z', target]);
    } catch (err) {
      if (!this.isMounted(target)) return;
      throw new Error(`unmounting ${target}: ${((err as { stderr?: string }).stderr ?? '').trim() || (err as Error).message}`, { cause: err });
    }
  }

  /** A FUSE filesystem whose root is `target` itself (not a FUSE filesystem the home lies on). */
  isMounted(target: string): boolean {
    try {
      if (fsMagic(target) !== FsMagic.FUSE) return false;
      return lstatSync(target).dev !== lstatSync(dirname(target)).dev;
    } catch {
      return false;
    }
  }
}
