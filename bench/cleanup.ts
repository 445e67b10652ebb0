/**
 * Everything the harness mounted or started, so it can all be undone on any exit: normal end, a
 * thrown error, Ctrl-C or SIGTERM. A benchmark left mounted would pin the data dir and confuse the
 * next run, so the undo is synchronous and runs from the 'exit' hook too.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const mounts = new Set<string>();
const pids = new Set<number>();
let installed = false;

export function trackMount(mountpoint: string): void {
  mounts.add(mountpoint);
}

export function untrackMount(mountpoint: string): void {
  mounts.delete(mountpoint);
}

export function trackPid(pid: number): void {
  pids.add(pid);
}

export function untrackPid(pid: number): void {
  pids.delete(pid);
}

/** Mount points at or below `dir`, deepest first, read from the kernel's table. */
export function mountsUnder(dir: string): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return points.sort((a, b) => b.length - a.length);
}

export function isMounted(mountpoint: string): boolean {
  return mountsUnder(mountpoint).includes(mountpoint);
}

/** Lazily unmounts whatever is mounted at or below `dir` (and nothing else). */
export function unmountUnderSync(dir: string): void {
  for (const p of mountsUnder(dir)) {
    spawnSync('umount', ['-l', p]);
    mounts.delete(p);
  }
}

/** Lazy unmounts: a busy mount still leaves the tree, so removing the scratch dir is safe. */
export function unmountAllSync(dir?: string): void {
  const targets = new Set(mounts);
  if (dir) for (const p of mountsUnder(dir)) targets.add(p);
  for (const p of [...targets].sort((a, b) => b.length - a.length)) {
    if (isMounted(p)) spawnSync('umount', ['-l', p]);
    mounts.delete(p);
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  pids.clear();
}

/** Installs the exit and signal hooks once; `root` is swept for mounts we may have lost track of. */
export function installCleanup(root: string): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => unmountAllSync(root));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, unmounting everything under ${root}\n`);
      unmountAllSync(root);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}
