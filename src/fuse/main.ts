#!/usr/bin/env node
/**
 * `strata-fuse [SOURCE] MOUNTPOINT -o lowerdir=…,upperdir=…,workdir=…[,…] [-f] [-d]`: strata's
 * userspace overlay, a drop-in for fuse-overlayfs. Returns once the mount is live; the serving
 * daemon unmounts on SIGTERM/SIGINT and exits when the mount is taken away.
 *
 * bin/strata-fuse (the installed command) starts this as the detached server itself, so one Node
 * process serves each mount; run directly without -f, this starts a second Node as the server.
 */
import { appendFileSync } from 'node:fs';
import { mountFuse, type FuseHandle } from './binding.js';
import { isDaemonChild, LOG_ENV, mountIdAt, notifyLauncher, watchMount } from './daemon.js';
import { attachAttrCache, fuseOps, mountOptions } from './fuse-ops.js';
import { parseCommandLine, type CommandLine } from './options.js';
import { Overlay } from './overlay.js';

const USAGE = `usage: strata-fuse [SOURCE] MOUNTPOINT -o lowerdir=DIR[:DIR…][,upperdir=DIR,workdir=DIR][,OPTION…] [-f] [-d]

options (fuse-overlayfs compatible):
  lowerdir=A:B          lower layers, top first (\\: escapes a colon)
  upperdir=DIR          where changes go (with workdir); without it the mount is read-only
  workdir=DIR           scratch space on the upper layer's filesystem
  uidmapping=D:S:N[:…]  show disk id D as S (N ids); gidmapping likewise
  squash_to_root, squash_to_uid=N, squash_to_gid=N
  xattr_permissions=1|2 keep owner/mode in an xattr (rootless without chown)
  static_nlink, noacl, fsync=0|1, volatile, timeout=SECONDS (entries), attr_timeout=SECONDS (default: timeout),
  ro, allow_other, default_permissions
  -f                    stay in the foreground; -d also prints libfuse's debug output
`;

function log(message: string): void {
  const file = process.env[LOG_ENV];
  if (file !== undefined && isDaemonChild()) appendFileSync(file, `${new Date().toISOString()} ${message}\n`);
  else process.stderr.write(`strata-fuse: ${message}\n`);
}

/** Serves the mount until it is unmounted or we are told to stop; `live` is called once it is mounted. */
async function serve(cl: CommandLine, live: () => void): Promise<number> {
  // Modes from the kernel already had the caller's umask applied; ours must not apply again.
  process.umask(0);
  const ov = new Overlay(cl.config);
  const handle: FuseHandle = await mountFuse(cl.mountpoint, fuseOps(ov), {
    ...mountOptions(ov, cl.source),
    onError: (op, err) => log(`${op}: unexpected failure, answered EIO: ${(err as Error)?.stack ?? String(err)}`),
  });
  const id = mountIdAt(cl.mountpoint);
  if (id === undefined) throw new Error(`mounted ${cl.mountpoint} but it is not in /proc/self/mountinfo`);
  live();
  // The C cache starts from the root's node, which reads the root of every layer (~50 ms with 128
  // layers); until it is attached JS answers everything, so the caller need not wait for it. No
  // request is answered before it anyway: the JS thread is busy.
  try {
    attachAttrCache(ov, handle.fuse);
  } catch (err) {
    // Too late to tell the caller: the log says why, and the mount goes rather than serve half set up.
    log(`connecting the attribute cache: ${(err as Error).message}`);
    await handle.unmount().catch(() => undefined);
    return 1;
  }
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      handle.unmount().then(
        () => resolve(0),
        (err: unknown) => {
          log(`unmounting ${cl.mountpoint}: ${(err as Error).message}`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    // After a lazy unmount the kernel still serves files that were open; stay until they are closed.
    watchMount(id, () => handle.fuse.openFiles() <= 0, () => resolve(0));
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv.includes('-V') || argv.includes('--version')) {
    process.stdout.write('strata-fuse 0.1.0\n');
    return 0;
  }
  const daemon = isDaemonChild();
  // What the caller should read on stderr: a server sends it through its launcher.
  const tell = (lines: readonly string[], outcome: 'ready' | number): void => {
    if (daemon) notifyLauncher(lines, outcome);
    else for (const line of lines) process.stderr.write(`${line}\n`);
  };
  let cl: CommandLine;
  try {
    cl = parseCommandLine(argv);
  } catch (err) {
    tell([(err as Error).message, USAGE.trimEnd()], 2);
    return 2;
  }
  const warnings = cl.warnings.map((w) => `strata-fuse: ${w}`);
  if (!cl.foreground && !daemon) return runDetached(argv);
  if (!daemon) tell(warnings, 0);
  try {
    return await serve(cl, () => tell(daemon ? warnings : [], 'ready'));
  } catch (err) {
    const message = (err as Error).message;
    tell([...(daemon ? warnings : []), message.startsWith('strata-fuse:') ? message : `strata-fuse: ${message}`], 1);
    return 1;
  }
}

/** The slow path, without bin/strata-fuse: this program again as the detached server. */
async function runDetached(argv: readonly string[]): Promise<number> {
  const { ErrMountFailed, startDaemon } = await import('./launch.js');
  try {
    const warnings = await startDaemon(process.execPath, [...process.execArgv, process.argv[1]!, ...argv]);
    for (const line of warnings) process.stderr.write(`${line}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return err instanceof ErrMountFailed ? err.status : 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`strata-fuse: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
