/** Temporary directories for tests, removed (after unmounting anything inside) when the test ends. */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { onTestFinished } from 'vitest';

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo). */
export function mountsUnder(dir: string): string[] {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const points = lines
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(dir + '/'));
  return points.sort((a, b) => b.length - a.length);
}

/** Lazily unmounts everything below dir, so a recursive remove can never reach into a lower layer. */
export function unmountAll(dir: string): void {
  for (const p of mountsUnder(dir)) spawnSync('umount', ['-l', p]);
}

/** A fresh directory, mode 0755 so an unprivileged test user can traverse it; removed when the test ends. */
export function tempDir(prefix = 'strata-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // mkdtemp makes 0700; rootless cases run as another user and must reach it.
  chmodSync(dir, 0o755);
  onTestFinished(() => {
    unmountAll(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
