/**
 * podman with strata-fuse as its overlay mount program (`overlay.mount_program`, as podman runs
 * fuse-overlayfs): a container on a locally imported image reads the image, changes it, and the
 * changes land in the container's upper layer. Skipped when podman or runc is missing or not root.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { LAUNCHER, launcherEnv } from './mount.js';

const HAVE_PODMAN =
  process.geteuid?.() === 0 && ['podman', 'runc'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);

/** Host programs copied into the image, with the libraries they load. */
const PROGRAMS = ['sh', 'cat', 'ls', 'rm', 'mkdir', 'touch'];

function which(cmd: string): string {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
}

/** A minimal root filesystem from the host's own binaries, as a tar for `podman import`. */
function buildRootfsTar(dir: string): string {
  const root = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'data']) mkdirSync(join(root, d), { recursive: true });
  for (const prog of PROGRAMS) {
    const path = which(prog);
    copyFileSync(path, join(root, 'bin', prog));
    chmodSync(join(root, 'bin', prog), 0o755);
    const libs = spawnSync('ldd', [path], { encoding: 'utf8' }).stdout.match(/\/\S+/g) ?? [];
    for (const lib of libs) {
      const to = join(root, lib);
      if (existsSync(to)) continue;
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(lib, to);
    }
  }
  writeFileSync(join(root, 'etc/greeting'), 'hello from the image\n');
  writeFileSync(join(root, 'data/doomed'), 'x');
  const tar = join(dir, 'rootfs.tar');
  expect(spawnSync('tar', ['-C', root, '-cf', tar, '.']).status).toBe(0);
  return tar;
}

describe.skipIf(!HAVE_PODMAN)('podman with strata-fuse as overlay.mount_program', () => {
  it('runs a container whose changes land in its upper layer', () => {
    const dir = tempDir('strata-podman-');
    const wrapper = join(dir, 'strata-fuse');
    // podman runs the mount program with its own environment: the wrapper sets the launcher's.
    const env = Object.entries(launcherEnv()).map(([k, v]) => `${k}='${v}'`);
    writeFileSync(wrapper, `#!/bin/sh\nexport ${env.join(' ')}\nexec ${LAUNCHER} "$@"\n`, { mode: 0o755 });
    const storage = join(dir, 'storage');
    const podman = (...args: string[]): SpawnSyncReturns<string> =>
      spawnSync(
        'podman',
        [
          '--root', join(storage, 'root'),
          '--runroot', join(storage, 'run'),
          '--storage-driver', 'overlay',
          '--storage-opt', `overlay.mount_program=${wrapper}`,
          '--cgroup-manager', 'cgroupfs',
          '--events-backend', 'file',
          ...args,
        ],
        { encoding: 'utf8', timeout: 120_000 },
      );
    const imported = podman('import', buildRootfsTar(dir), 'localhost/strata-fuse-test:1');
    expect(imported.stderr).not.toMatch(/Error/);
    expect(imported.status).toBe(0);
    const script =
      'cat /etc/greeting; echo changed > /etc/greeting; cat /etc/greeting; rm /data/doomed; ' +
      'mkdir /data/new; touch /data/new/file; ls /data /data/new; cat /proc/self/mountinfo';
    // Limits no higher than the hard ones here: podman's defaults may exceed what we may set.
    const r = podman(
      'run', '--name', 'strata-fuse-test', '--network', 'none',
      '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024',
      'localhost/strata-fuse-test:1', '/bin/sh', '-c', script,
    );
    expect(r.stderr).toBe('');
    const [out, mountinfo] = r.stdout.split(/(?<=file\n)/);
    expect(out).toBe('hello from the image\nchanged\n/data:\nnew\n\n/data/new:\nfile\n');
    // The container's root is our mount.
    expect(mountinfo!.split('\n').find((l) => l.split(' ')[4] === '/')).toMatch(/ - fuse\.strata-fuse /);
    // The container's upper layer (overlay/<id>/diff) holds the change and the whiteout.
    const layers = join(storage, 'root', 'overlay');
    const uppers = readdirSync(layers).map((l) => join(layers, l, 'diff')).filter((d) => existsSync(join(d, 'data/new')));
    expect(uppers).toHaveLength(1);
    const upper = uppers[0]!;
    expect(spawnSync('cat', [join(upper, 'etc/greeting')], { encoding: 'utf8' }).stdout).toBe('changed\n');
    expect(spawnSync('stat', ['-c', '%F %t:%T', join(upper, 'data/doomed')], { encoding: 'utf8' }).stdout.trim()).toBe('character special file 0:0');
    expect(podman('rm', 'strata-fuse-test').status).toBe(0);
  }, 180_000);
});
