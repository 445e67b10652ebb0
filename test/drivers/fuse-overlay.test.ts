/**
 * What the fuse-overlay driver adds to the shared overlay layout: its init checks (a usable FUSE
 * device, fusermount3 without root), mounts served by their own process, uid/gid mapping options,
 * overlay.mount_program, the upper-dir fast path, and whiteouts the kernel driver reads too.
 * Needs dist/ built (`npm run build:ts`, `npm run build:bundle`): mounts run dist/strata-fuse.cjs
 * (dist/src/fuse/main.js when a later tsc left the bundle stale).
 */
import { spawnSync } from 'node:child_process';
import { chownSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { initFuseOverlay } from '../../drivers/fuse-overlay/index.js';
import { checkFuse } from '../../drivers/fuse-overlay/probe.js';
import { initOverlay } from '../../drivers/overlay/index.js';
import { applyLayer } from '../../src/archive/index.js';
import type { Driver } from '../../src/driver.js';
import { ErrNotSupported, is } from '../../src/errors.js';
import { FsMagic, fsMagic } from '../../src/native.js';
import { repoRoot, rootlessUser, runAs } from '../helpers/rootless.js';
import { mountsUnder, tempDir } from '../helpers/tmp.js';
import { layerChain, layerChainPaths, makeTar, tarNames } from './fixtures/layer-tars.js';
import { listPaths, snapshot } from './fixtures/tree-snapshot.js';

const user = rootlessUser();
const fixtures = join(repoRoot, 'test', 'drivers', 'fixtures');

async function fuseDriver(root: string, driverOptions: string[] = []): Promise<Driver> {
  return initFuseOverlay(join(root, 'fuse-overlay'), { root, driverOptions });
}

/** The filesystem type /proc/self/mountinfo gives the mount at `path`. */
function fsTypeAt(path: string): string | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (left?.split(' ')[4] === path) return right?.split(' ')[0];
  }
  return undefined;
}

function lastJson<T>(stdout: string, stderr: string): T {
  try {
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T;
  } catch {
    throw new Error(`fixture printed ${JSON.stringify(stdout)}; stderr: ${stderr}`);
  }
}

interface InitOutcome {
  ok: boolean;
  code?: string;
  message?: string;
  status?: Record<string, string>;
}

describe('fuse-overlay init', () => {
  it('refuses a FUSE device that is missing, not a character device, or another device, naming it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), '');
    for (const [device, why] of [
      [join(dir, 'absent'), /absent is missing/],
      [join(dir, 'file'), /file is not the FUSE device \(not a character device/],
      ['/dev/null', /\/dev\/null is not the FUSE device \(character device 1:3; expected character device 10:229\)/],
    ] as const) {
      let err: unknown;
      try {
        checkFuse(device);
      } catch (e) {
        err = e;
      }
      expect(is(err, ErrNotSupported), device).toBe(true);
      expect(String(err)).toMatch(why);
    }
    expect(checkFuse('/dev/fuse').fusermount).toMatch(/fusermount3?$/);
  });

  const initAs = (root: string, wrapper: string[], env: Record<string, string> = {}): InitOutcome => {
    const argv = [...wrapper, process.execPath, '--import', 'tsx', join(fixtures, 'driver-select.ts'), 'fuse-overlay', root];
    const r = runAs(user!, argv[0]!, argv.slice(1), { cwd: repoRoot, env });
    return lastJson<InitOutcome>(r.stdout, r.stderr);
  };
  const userRoot = (): string => {
    const root = join(tempDir(), 'root');
    mkdirSync(root);
    chownSync(root, user!.uid, user!.gid);
    return root;
  };

  it.skipIf(!user)('with /dev/null bound over /dev/fuse, init is ErrNotSupported with the reason', () => {
    const out = initAs(userRoot(), ['unshare', '-Urm', 'sh', '-c', 'mount --bind /dev/null /dev/fuse && exec "$@"', 'sh']);
    expect(out).toMatchObject({ ok: false, code: 'ERR_NOT_SUPPORTED' });
    expect(out.message).toMatch(/^fuse-overlay: \/dev\/fuse is not the FUSE device/);
  });

  it.skipIf(!user)('an unprivileged user without fusermount3 in PATH gets ErrNotSupported', () => {
    const out = initAs(userRoot(), [], { PATH: '/nonexistent' });
    expect(out).toMatchObject({ ok: false, code: 'ERR_NOT_SUPPORTED' });
    expect(out.message).toMatch(/fusermount3 is needed to mount FUSE without root/);
  });

  it.skipIf(!user)('an unprivileged user with fusermount3 gets it, writing 0/0 whiteouts (kernel >= 5.8 allows them)', () => {
    const out = initAs(userRoot(), []);
    expect(out).toMatchObject({ ok: true, status: { Whiteouts: 'char 0/0 devices' } });
    expect(out.status?.['Mount Program']).toMatch(/dist\/(strata-fuse\.cjs|src\/fuse\/main\.js)$/);
  });
});

describe('fuse-overlay mounts', () => {
  it("a mount outlives the process that made it; another process's driver counts it as one reference", async () => {
    const root = tempDir();
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(fixtures, 'fuse-mount-exit.ts'), root], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const { merged } = lastJson<{ merged: string }>(r.stdout, r.stderr);
    expect(fsMagic(merged)).toBe(FsMagic.FUSE);
    expect(readdirSync(merged).sort()).toEqual(['from-base', 'from-child']);

    const d = await fuseDriver(root);
    expect(await d.get('child')).toBe(merged);
    expect(mountsUnder(merged)).toEqual([merged]); // reused, not mounted a second time
    await d.put('child');
    expect(fsTypeAt(merged)).toBe('fuse.strata-fuse');
    await d.put('child');
    expect(fsTypeAt(merged)).toBeUndefined();
    expect(readFileSync(join(root, 'fuse-overlay', 'child', 'diff', 'from-child'), 'utf8')).toBe('child');
    await d.cleanup();
  });

  it('uid/gid maps become uidmapping/gidmapping: ownership through the mount is shifted', async () => {
    const root = tempDir();
    const d = await fuseDriver(root);
    await d.create('base', '');
    const diff = join(root, 'fuse-overlay', 'base', 'diff');
    writeFileSync(join(diff, 'root-owned'), '');
    writeFileSync(join(diff, 'owned'), '');
    chownSync(join(diff, 'owned'), 5, 6);
    await d.create('child', 'base');
    const owners = (m: string): number[][] => ['root-owned', 'owned'].map((f) => [statSync(join(m, f)).uid, statSync(join(m, f)).gid]);
    const mapped = await d.get('child', {
      uidMaps: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMaps: [{ containerID: 0, hostID: 200000, size: 65536 }],
    });
    expect(owners(mapped)).toEqual([
      [100000, 200000],
      [100005, 200006],
    ]);
    await d.put('child');
    expect(owners(await d.get('child'))).toEqual([
      [0, 0],
      [5, 6],
    ]);
    await d.put('child');
    await d.cleanup();
  });

  it('overlay.mount_program=/usr/bin/fuse-overlayfs mounts with fuse-overlayfs instead of strata-fuse', async () => {
    const root = tempDir();
    const d = await fuseDriver(root, ['overlay.mount_program=/usr/bin/fuse-overlayfs']);
    expect(Object.fromEntries(await d.status())['Mount Program']).toBe('/usr/bin/fuse-overlayfs');
    await d.create('base', '');
    writeFileSync(join(root, 'fuse-overlay', 'base', 'diff', 'gone'), 'x');
    writeFileSync(join(root, 'fuse-overlay', 'base', 'diff', 'kept'), 'x');
    await d.create('child', 'base');
    const m = await d.get('child');
    expect(fsTypeAt(m)).toBe('fuse.fuse-overlayfs');
    rmSync(join(m, 'gone'));
    writeFileSync(join(m, 'new'), 'n');
    expect(readdirSync(m).sort()).toEqual(['kept', 'new']);
    await d.put('child');
    expect(fsTypeAt(m)).toBeUndefined();
    const wh = lstatSync(join(root, 'fuse-overlay', 'child', 'diff', 'gone'));
    expect([wh.isCharacterDevice(), wh.rdev]).toEqual([true, 0]);
    await d.cleanup();
  });

  it('diff, changes and diffSize against the real parent read the upper dir, with no mount', async () => {
    const root = tempDir();
    const d = await fuseDriver(root);
    await d.create('base', '');
    mkdirSync(join(root, 'fuse-overlay', 'base', 'diff', 'dir'));
    writeFileSync(join(root, 'fuse-overlay', 'base', 'diff', 'dir', 'gone'), 'x');
    await d.create('child', 'base');
    const m = await d.get('child');
    rmSync(join(m, 'dir', 'gone'));
    writeFileSync(join(m, 'new'), 'hello');
    await d.put('child');
    await d.cleanup();

    // A mount program that always fails: anything that still works did not mount.
    const nomount = await fuseDriver(root, ['overlay.mount_program=/bin/false']);
    expect(await nomount.changes('child', 'base')).toEqual([
      { path: '/dir', kind: 'modify' },
      { path: '/dir/gone', kind: 'delete' },
      { path: '/new', kind: 'add' },
    ]);
    expect(await nomount.diffSize('child', 'base')).toBe(5);
    const tar = Buffer.concat(await (await nomount.diff('child', 'base')).toArray());
    expect((await tarNames(tar)).sort()).toEqual(['dir/', 'dir/.wh.gone', 'new']);
    // Against another parent the naive differ must mount, and cannot.
    await expect(nomount.changes('child', '')).rejects.toThrow(/with \/bin\/false/);
    await nomount.cleanup();
  });

  it('layers it applies (0/0 whiteouts, opaque xattrs) read the same through strata-fuse and the kernel driver', async () => {
    const root = tempDir();
    const home = join(root, 'fuse-overlay');
    const d = await fuseDriver(root);
    let parent = '';
    for (const [i, entries] of layerChain.entries()) {
      await d.create(`l${i}`, parent);
      await d.applyDiff(`l${i}`, parent, { diff: Readable.from([await makeTar(entries)]) });
      parent = `l${i}`;
    }
    const wh = lstatSync(join(home, 'l1', 'diff', 'gone-file'));
    expect([wh.isCharacterDevice(), wh.rdev]).toEqual([true, 0]);
    const viaFuse = snapshot(await d.get('l2', { options: ['ro'] }));
    await d.put('l2');
    await d.cleanup();
    expect(viaFuse.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual([...layerChainPaths]);

    const kernel = await initOverlay(home, { root, runRoot: join(root, 'run') });
    const merged = await kernel.get('l2', { options: ['ro'] });
    expect(snapshot(merged)).toEqual(viaFuse);
    expect(listPaths(merged)).toEqual([...layerChainPaths]);
    await kernel.put('l2');
    await kernel.cleanup();
  });

  it('layers spelled with .wh. files (its fallback where mknod is refused) read correctly through strata-fuse', async () => {
    const root = tempDir();
    const d = await fuseDriver(root);
    let parent = '';
    for (const [i, entries] of layerChain.entries()) {
      await d.create(`l${i}`, parent);
      // As applyDiff writes them when the mknod probe fails: the tar's own AUFS spelling.
      await applyLayer(join(root, 'fuse-overlay', `l${i}`, 'diff'), Readable.from([await makeTar(entries)]), { whiteoutFormat: 'aufs' });
      parent = `l${i}`;
    }
    expect(readdirSync(join(root, 'fuse-overlay', 'l1', 'diff')).sort()).toEqual(['.wh.gone-dir', '.wh.gone-file', 'added', 'etc', 'opt']);
    expect(listPaths(await d.get('l2', { options: ['ro'] }))).toEqual([...layerChainPaths]);
    await d.put('l2');
    await d.cleanup();
  });
});
