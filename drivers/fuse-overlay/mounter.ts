/**
 * FUSE mounts through a mount program, called as podman calls one:
 * `PROG -o lowerdir=l/…,upperdir=…,workdir=… MERGED` with cwd = the driver home. The serving
 * process runs in its own session, so a mount outlives the process that asked for it.
 */
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { IDMap } from '../../src/driver.js';
import { CHILD_ENV } from '../../src/fuse/daemon.js';
import { FsMagic, fsMagic } from '../../src/native.js';
import { detachMount, type MountSpec, type Mounter } from '../overlay-layout/mount-spec.js';

const run = promisify(execFile);

/** How long a mount program may take to bring its mount up. */
const MOUNT_TIMEOUT_MS = 60_000;
/** What strata-fuse's serving process writes on fd 3 once its mount is live (src/fuse/daemon.ts). */
const READY = 'ready';

/** strata-fuse run by a Node binary, or any fuse-overlayfs compatible program (overlay.mount_program). */
export type MountProgram = { kind: 'strata-fuse'; node: string; main: string } | { kind: 'external'; path: string };

export function programName(p: MountProgram): string {
  return p.kind === 'strata-fuse' ? p.main : p.path;
}

/** `c:h:s:c:h:s…`, the mapping syntax of fuse-overlayfs's uidmapping/gidmapping options. */
export function formatMapping(maps: IDMap[]): string {
  return maps.map((m) => `${m.containerID}:${m.hostID}:${m.size}`).join(':');
}

/** The `-o` argument for a mount: lowers relative to the home where their link lives there. */
export function mountOptions(spec: MountSpec, extra: readonly string[]): string {
  const opts = [`lowerdir=${spec.lowerLinks.join(':')}`];
  if (spec.upper !== undefined && spec.work !== undefined) opts.push(`upperdir=${spec.upper}`, `workdir=${spec.work}`);
  if (spec.uidMaps?.length) opts.push(`uidmapping=${formatMapping(spec.uidMaps)}`);
  if (spec.gidMaps?.length) opts.push(`gidmapping=${formatMapping(spec.gidMaps)}`);
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
      if (this.program.kind === 'strata-fuse') await startDaemon(this.program.node, [this.program.main, ...args], this.home);
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

/**
 * Starts strata-fuse's serving process directly, detached in its own session, as strata-fuse's
 * foreground command would (it saves one Node start per mount), and waits for it to report the
 * mount live on fd 3. Its stderr goes to a log file that is read back only when it fails.
 */
function startDaemon(node: string, argv: string[], cwd: string): Promise<void> {
  const logPath = join(tmpdir(), `strata-fuse-${process.pid}-${randomBytes(6).toString('hex')}.log`);
  const logFd = openSync(logPath, 'a', 0o600);
  let child;
  try {
    child = spawn(node, argv, {
      cwd,
      detached: true,
      stdio: ['ignore', 'ignore', logFd, 'pipe'],
      env: { ...process.env, [CHILD_ENV]: '1' },
    });
  } finally {
    closeSync(logFd);
  }
  return new Promise((resolve, reject) => {
    let message = '';
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      rmSync(logPath, { force: true });
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`no mount after ${MOUNT_TIMEOUT_MS / 1000} s`));
    }, MOUNT_TIMEOUT_MS);
    const pipe = child.stdio[3] as Readable;
    pipe.setEncoding('utf8');
    pipe.on('data', (d: string) => (message += d));
    pipe.on('close', () => {
      if (message.trim() !== READY) return; // the exit handler reports the failure
      child.unref();
      finish();
    });
    child.on('error', (err) => finish(err));
    child.on('exit', (code, signal) => {
      if (message.trim() === READY) return;
      let log = '';
      try {
        log = readFileSync(logPath, 'utf8').trim();
      } catch {
        // no log: the message says enough
      }
      const why = [log, message.trim()].filter((s) => s !== '').join('\n');
      finish(new Error(why || `strata-fuse ended before mounting (${signal ?? `exit code ${code}`})`));
    });
  });
}
