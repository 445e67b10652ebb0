/**
 * bin/strata-fuse, the shell launcher, as mount helpers' callers use it: it returns only once the
 * mount is live, leaves exactly one Node process serving, lets go of the caller's pipes (podman
 * reads stderr to EOF), and fails with a non-zero status and the reason on stderr.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serverMain } from '../../src/fuse/launch.js';
import { repoRoot } from '../helpers/rootless.js';
import { mountsUnder, tempDir } from '../helpers/tmp.js';
import { makeLayers } from './layerset.js';
import { daemonPids, LAUNCHER, launcherEnv, overlayOptions, runStrataFuse, waitFor } from './mount.js';

interface Outcome {
  status: number | null;
  /** Whether the mount was in the mount table at the moment the launcher exited. */
  liveAtExit: boolean;
  stdout: string;
  stderr: string;
}

/** Runs the launcher with piped stdout/stderr and resolves once both pipes reached EOF. */
function launchPiped(args: string[], mnt: string, timeoutMs = 15_000): Promise<Outcome> {
  const child = spawn(LAUNCHER, args, { env: { ...process.env, ...launcherEnv() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let status: number | null = null;
  let liveAtExit = false;
  child.on('exit', (code) => {
    status = code;
    liveAtExit = mountsUnder(mnt).includes(mnt);
  });
  const eof = (s: NodeJS.ReadableStream): Promise<void> => new Promise((resolve) => s.on('end', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the launcher's pipes were still open after ${timeoutMs} ms`)), timeoutMs);
    void Promise.all([eof(child.stdout), eof(child.stderr), new Promise((r) => child.on('close', r))]).then(() => {
      clearTimeout(timer);
      resolve({ status, liveAtExit, stdout, stderr });
    });
  });
}

function layers(base: string): { options: string; mnt: string } {
  const dirs = makeLayers(base, [{ 'f': 'top' }, { 'f': 'bottom', 'g': 'g' }]);
  const mnt = join(base, 'm');
  mkdirSync(mnt);
  return { options: overlayOptions(dirs), mnt };
}

describe('bin/strata-fuse', () => {
  it('returns once the mount is live, releases the caller\'s pipes, and leaves one Node server', async () => {
    const { options, mnt } = layers(tempDir());
    const r = await launchPiped(['-o', options, mnt], mnt);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
    expect(r.liveAtExit).toBe(true);
    expect(readFileSync(join(mnt, 'f'), 'utf8')).toBe('top');
    const pids = daemonPids(mnt);
    expect(pids).toHaveLength(1);
    // The server is Node itself (no shell left waiting), in a session of its own.
    expect(readFileSync(`/proc/${pids[0]}/comm`, 'utf8').trim()).toBe('node');
    const stat = readFileSync(`/proc/${pids[0]}/stat`, 'utf8');
    const [, , , session] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    expect(Number(session)).toBe(pids[0]);
    expect(spawnSync('umount', [mnt]).status).toBe(0);
    expect(await waitFor(() => daemonPids(mnt).length === 0)).toBe(true);
  });

  it('passes warnings through to stderr and still mounts', async () => {
    const { options, mnt } = layers(tempDir());
    const r = await launchPiped(['-o', `${options},frobnicate`, mnt], mnt);
    expect(r.stderr).toBe('strata-fuse: unknown argument ignored: frobnicate\n');
    expect(r.status).toBe(0);
    expect(r.liveAtExit).toBe(true);
  });

  it('fails with libfuse\'s reason when the mount point does not exist, leaving no server', async () => {
    const base = tempDir();
    const { options } = layers(base);
    const mnt = join(base, 'missing');
    const r = await launchPiped(['-o', options, mnt], mnt);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad mount point|No such file or directory|does not exist/);
    expect(mountsUnder(base)).toEqual([]);
    // It reported before exiting; it must not stay.
    expect(await waitFor(() => daemonPids(mnt).length === 0)).toBe(true);
  });

  it('fails naming a bad option value and prints the usage', async () => {
    const { options, mnt } = layers(tempDir());
    const r = await launchPiped(['-o', `${options},uidmapping=0:x:1`, mnt], mnt);
    // Usage errors end with status 2, as when strata-fuse runs in the foreground.
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('uidmapping');
    expect(r.stderr).toContain('usage: strata-fuse');
    expect(mountsUnder(mnt)).toEqual([]);
  });

  it('keeps -o values that look like flags as option values', async () => {
    const base = tempDir();
    const { mnt } = layers(base);
    // "-f" after -o is the option string (an unknown option), not the foreground flag.
    const r = await launchPiped(['-o', '-f', '-o', `lowerdir=${join(base, 'lower0')}`, mnt], mnt);
    expect(r.status).toBe(0);
    expect(r.liveAtExit).toBe(true);
    expect(r.stderr).toContain('-f');
    expect(readdirSync(mnt).sort()).toEqual(['f']);
  });

  it('runs -f in the foreground until unmounted, and answers -V and -h without mounting', async () => {
    const { options, mnt } = layers(tempDir());
    const fg = spawn(LAUNCHER, ['-f', '-o', options, mnt], { env: { ...process.env, ...launcherEnv() }, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => fg.on('exit', (code) => r(code)));
    expect(await waitFor(() => mountsUnder(mnt).includes(mnt), 15_000)).toBe(true);
    // The launcher became the server (exec): the foreground process is the one serving.
    expect(daemonPids(mnt)).toEqual([fg.pid]);
    expect(spawnSync('umount', [mnt]).status).toBe(0);
    expect(await exited).toBe(0);

    expect(runStrataFuse(['-V']).stdout).toBe('strata-fuse 0.1.0\n');
    const help = runStrataFuse(['-h']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: strata-fuse');
  });
});

describe.skipIf(!existsSync(join(repoRoot, 'dist')))('bin/strata-fuse with the built server', () => {
  it('mounts with the bundle (or tsc\'s output when newer) and serves the merged view', async () => {
    const base = tempDir();
    const { options, mnt } = layers(base);
    const r = spawnSync(LAUNCHER, ['-o', options, mnt], { env: { ...process.env, STRATA_FUSE_NODE: process.execPath }, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readdirSync(mnt).sort()).toEqual(['f', 'g']);
    const server = spawnSync('pgrep', ['-f', `strata-fuse.* ${mnt}$`], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(server).toHaveLength(1);
    expect(readFileSync(`/proc/${server[0]}/cmdline`, 'utf8').split('\0')).toContain(serverMain(repoRoot));
    expect(spawnSync('umount', [mnt]).status).toBe(0);
  });
});

describe('which server program runs', () => {
  /** A package with both builds, each a script naming itself, the bundle `bundleAge` s older. */
  function fakePackage(bundleAge: number): { root: string; launcher: string } {
    const root = tempDir();
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'dist/src/fuse'), { recursive: true });
    writeFileSync(join(root, 'package.json'), '{}');
    const launcher = join(root, 'bin/strata-fuse');
    copyFileSync(LAUNCHER, launcher);
    const bundle = join(root, 'dist/strata-fuse.cjs');
    const main = join(root, 'dist/src/fuse/main.js');
    writeFileSync(bundle, 'console.log("bundle")');
    writeFileSync(main, 'console.log("tsc")');
    const now = Date.now() / 1000;
    utimesSync(main, now, now);
    utimesSync(bundle, now - bundleAge, now - bundleAge);
    return { root, launcher };
  }
  const ran = (launcher: string): string =>
    spawnSync(launcher, ['-V'], { env: { ...process.env, STRATA_FUSE_NODE: process.execPath }, encoding: 'utf8' }).stdout.trim();

  it('is the bundle while it is as new as tsc\'s output, else tsc\'s output', () => {
    const current = fakePackage(0);
    expect(ran(current.launcher)).toBe('bundle');
    expect(serverMain(current.root)).toBe(join(current.root, 'dist/strata-fuse.cjs'));
    const stale = fakePackage(60);
    expect(ran(stale.launcher)).toBe('tsc');
    expect(serverMain(stale.root)).toBe(join(stale.root, 'dist/src/fuse/main.js'));
  });
});
