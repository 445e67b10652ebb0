import { chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { repoRoot, rootlessUser, runTsAs } from '../helpers/rootless.js';
import { tempDir } from '../helpers/tmp.js';

const user = rootlessUser();

describe.skipIf(user === undefined)('applyLayer without root', () => {
  test('aufs + ignoreChownErrors works unprivileged; devices are skipped as containers/storage does rootless', () => {
    const dir = join(tempDir(), 'work');
    mkdirSync(dir);
    chownSync(dir, user!.uid, user!.gid);
    const run = runTsAs(user!, join(repoRoot, 'test/archive/fixtures/rootless-apply.ts'), [dir]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const r = JSON.parse(run.stdout.trim()) as Record<string, { ok: boolean; error?: string; code?: string; entries?: Record<string, { type: string; uid: number; mode: number; override?: string }>; opaque?: string }> & { uid: number };
    expect(r.uid).toBe(user!.uid);

    // The everyday rootless configuration: whiteouts stay files, foreign owners are ignored,
    // character and block devices are left out, fifos are made.
    const aufs = r.aufsIgnoringChown!;
    expect(aufs.ok, aufs.error).toBe(true);
    expect(Object.keys(aufs.entries!)).toEqual(
      ['.wh.gone', 'etc', 'etc/passwd', 'home', 'home/user', 'home/user/notes', 'opt', 'opt/.wh..wh..opq', 'run', 'run/fifo', 'dev', 'ro', 'ro/inside'].sort(),
    );
    // A read-only directory is still filled: directory modes are set last.
    expect(aufs.entries!['ro']!.mode).toBe(0o555);
    expect(aufs.entries!['.wh.gone']!.type).toBe('file');
    expect(aufs.entries!['run/fifo']!.type).toBe('fifo');
    expect(aufs.entries!['home/user/notes']).toEqual({ type: 'file', uid: user!.uid, mode: 0o600 });

    // Without ignoreChownErrors the first foreign owner is a clear error naming the entry.
    expect(r.aufsStrictChown!.ok).toBe(false);
    expect(r.aufsStrictChown!.code).toBe('EPERM');
    expect(r.aufsStrictChown!.error).toMatch(/layer entry "etc\/": chown to 0:0 failed/);

    // Asking for devices anyway: mknod is refused, and the error says which entry and why.
    expect(r.devicesNotSkipped!.ok).toBe(false);
    expect(r.devicesNotSkipped!.error).toMatch(/entry "dev\/null": creating a char device \(1:3\) is not permitted \(needs CAP_MKNOD/);

    // The overlay format also works unprivileged: 0/0 whiteouts need no CAP_MKNOD since Linux 5.8.
    const overlay = r.overlayUserXattr!;
    expect(overlay.ok, overlay.error).toBe(true);
    expect(overlay.entries!['gone']!.type).toBe('char-0');
    expect(overlay.opaque).toBe('y');

    // A forced mask keeps the real owner, mode and type in an xattr; devices become files.
    const forced = r.forceMask!;
    expect(forced.ok, forced.error).toBe(true);
    expect(forced.entries!['etc/passwd']).toEqual({ type: 'file', uid: user!.uid, mode: 0o700, override: '0:0:0644:file' });
    expect(forced.entries!['dev/sda']).toEqual({ type: 'file', uid: user!.uid, mode: 0o700, override: '0:0:0660:block-8-0' });
    expect(forced.entries!['home/user/notes']!.override).toBe('1000:1000:0600:file');
  });
});
