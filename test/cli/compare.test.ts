/**
 * The same command sequence through Debian's containers-storage 1.43 and through strata, each on
 * its own vfs store: outputs and exit codes must match once IDs, roots and times are normalised.
 * Where strata deliberately differs (naming the unknown thing), the step says so.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { mountsUnder, tempDir } from '../helpers/tmp.js';
import { makeTar, tarListing } from '../store/helpers.js';
import { strata, type CliResult } from './helpers.js';

const GO = 'containers-storage';
const haveGo = spawnSync(GO, ['--help'], { stdio: 'ignore' }).error === undefined;

interface Step {
  argv: string[];
  /** Compare only the first lines of stderr (status: driver details differ). */
  stderrLines?: number;
  /** strata's stderr, when it intentionally names the thing Go leaves unnamed. */
  strataStderr?: string;
}

function steps(files: { tar: string; data: string; dataDigest: string }, driver: string): Step[] {
  const s = (...argv: string[]): Step => ({ argv });
  /** A step where strata's error names what Go's leaves unnamed. */
  const named = (strataStderr: string, ...argv: string[]): Step => ({ argv, strataStderr });
  return [
    s('create-layer', '-n', 'base'),
    s('create-layer', '--name=second', '-n=third', 'base'),
    s('import-layer', '-n', 'l1', '-f', files.tar, 'base'),
    s('layers'),
    s('layers', '-t'),
    s('layers', '--json'),
    s('layer', 'l1'),
    s('layer', '--json', 'l1', 'nope'),
    named('layer name "base" is already associated with layer "<ID0>": that name is already in use\n', 'create-layer', '-n', 'base'),
    s('create-image', '-n', 'img1', '-m', 'meta1', 'l1'),
    s('create-image', '-n', 'img1', 'l1'),
    s('images'),
    s('images', '-q'),
    s('images', '--json'),
    s('image', 'img1'),
    s('create-container', '-n', 'ctr1', 'img1'),
    s('create-container', '-n', 'ctr1', 'img1'),
    s('containers'),
    s('containers', '--json'),
    s('container', 'ctr1'),
    s('mount', 'ctr1'),
    s('mount', 'ctr1'),
    s('mounted', 'ctr1'),
    s('unmount', 'ctr1'),
    s('unmount', 'ctr1'),
    s('mounted', 'ctr1'),
    // The vfs drivers word their refusal of mount options differently; overlay mounts read-only.
    ...(driver === 'vfs' ? [named('vfs: driver does not support mount option "noexec" while mounting img1\n', 'mount', '-r', 'img1')] : [s('mount', '-r', 'img1')]),
    named('layer "img1": layer not known checking if img1 is mounted\n', 'mounted', 'img1'),
    s('unmount', 'img1'),
    s('layer-parent-owners', 'l1'),
    s('layer-parent-owners', '--json', 'l1'),
    s('container-parent-owners', 'ctr1'),
    s('exists', 'l1'),
    s('exists', 'nope'),
    s('exists', '-i', 'l1'),
    s('exists', '-q', '--json', 'img1'),
    s('metadata', 'img1'),
    s('metadata', '-q', 'img1'),
    s('metadata', '--json', 'img1'),
    s('set-metadata', 'img1'),
    s('set-metadata', '-m', 'newmeta', 'img1'),
    s('metadata', 'img1', 'nope'),
    s('get-names', 'l1'),
    s('add-names', '-n', 'l1b', 'l1'),
    s('get-names', 'l1'),
    s('set-names', '--json', '-n', 'only', 'l1'),
    s('get-names', '--json', 'only'),
    s('set-image-data', '-f', files.data, 'img1', 'manifest'),
    s('set-image-data', '-f', files.data, 'img1', 'Config'),
    s('list-image-data', 'img1'),
    s('list-image-data', '--json', 'img1'),
    s('get-image-data', 'img1', 'Config'),
    s('get-image-data-size', 'img1', 'manifest'),
    s('get-image-data-digest', 'img1', 'Config'),
    s('images-by-digest', files.dataDigest),
    s('images-by-digest', 'bogus'),
    s('images', '--json'),
    s('image', 'img1'),
    s('set-container-data', '-f', files.data, 'ctr1', 'state'),
    s('list-container-data', 'ctr1'),
    s('get-container-data-size', 'ctr1', 'state'),
    s('get-container-data-digest', 'ctr1', 'state'),
    s('get-container-data', 'ctr1', 'state'),
    s('container', 'ctr1'),
    s('set-layer-data', '-f', files.data, 'only', 'note'),
    s('list-layer-data', 'only'),
    s('get-layer-data', 'only', 'note'),
    s('changes', 'only'),
    s('changes', '--json', 'only'),
    s('diffsize', 'only'),
    named('layer "ctr1": layer not known\n', 'changes', 'ctr1'),
    named('layer "nope": layer not known\n', 'changes', 'nope'),
    s('get-container-dir', 'ctr1'),
    s('get-container-run-dir', 'ctr1'),
    s('delete-image', '-t', 'img1'),
    s('delete-container', 'ctr1'),
    s('delete-image', '-t', 'img1'),
    s('delete-image', '--json', 'img1'),
    s('layers'),
    s('delete', 'nope'),
    s('delete-layer', 'nope'),
    s('delete-container', 'nope'),
    s('create-layer', '-n', 'lonely'),
    s('applydiff', '-f', files.tar, 'lonely'),
    s('changes', 'lonely'),
    s('diffsize', 'lonely'),
    s('layer', '--json', 'lonely'),
    // Go's words for a broken archive depend on the driver (and carry a log timestamp).
    named('invalid layer archive at byte 0: truncated archive: 31 stray bytes before the first entry where a header should be\n', 'applydiff', '-f', files.data, 'lonely'),
    s('delete-layer', 'lonely'),
    s('delete', 'second'),
    { argv: ['status'], stderrLines: 4 },
    s('wipe'),
    s('layers', '--json'),
    s('images', '--json'),
    s('containers', '--json'),
    s('layer'),
    s('bogus'),
    s('layers', '-x'),
    s('create-layer', '-n'),
  ];
}

/** Replaces IDs (numbered by first appearance), roots and times, so two stores compare. */
function normaliser(roots: string[]): (text: string) => string {
  const ids = new Map<string, string>();
  return (text) => {
    let t = text;
    for (const root of roots) t = t.split(root).join('<ROOT>');
    t = t.replace(/"created":"[^"]+"/g, '"created":"<TIME>"');
    return t.replace(/\b[0-9a-f]{64}\b/g, (id) => {
      if (!ids.has(id)) ids.set(id, `<ID${ids.size}>`);
      return ids.get(id) as string;
    });
  };
}

describe.skipIf(!haveGo)('strata against Debian containers-storage', () => {
  it.each(['vfs', 'overlay'])('%s: prints what containers-storage prints and exits as it does', async (driver) => {
    const dir = tempDir();
    const tarball = gzipSync(
      await makeTar([
        { name: 'etc', type: 'directory' },
        { name: 'etc/motd', body: 'hello\n', uid: 1000, gid: 1001 },
      ]),
    );
    const files = { tar: join(dir, 'layer.tar.gz'), data: join(dir, 'data.json'), dataDigest: '' };
    writeFileSync(files.tar, tarball);
    const data = Buffer.from('{"schemaVersion":2,"layers":[]}');
    writeFileSync(files.data, data);
    files.dataDigest = `sha256:${createHash('sha256').update(data).digest('hex')}`;

    const goRoot = join(dir, 'go');
    const stRoot = join(dir, 'st');
    const normGo = normaliser([goRoot]);
    const normSt = normaliser([stRoot]);
    const clean = (r: CliResult, step: Step): CliResult => {
      let stderr = r.stderr.replaceAll('containers-storage', 'strata');
      if (step.stderrLines !== undefined) stderr = stderr.split('\n').slice(0, step.stderrLines).join('\n');
      return { ...r, stderr };
    };
    for (const step of steps(files, driver)) {
      const g = spawnSync(GO, ['-g', `${goRoot}/g`, '-R', `${goRoot}/r`, '-s', driver, ...step.argv], { input: '', encoding: 'utf8' });
      const goResult = clean({ code: g.status ?? -1, stdout: g.stdout.replaceAll('containers-storage', 'strata'), stderr: g.stderr }, step);
      const stResult = clean(await strata(['-g', `${stRoot}/g`, '-R', `${stRoot}/r`, '-s', driver, ...step.argv]), step);
      const want = { code: goResult.code, stdout: normGo(goResult.stdout), stderr: normGo(goResult.stderr) };
      const got = { code: stResult.code, stdout: normSt(stResult.stdout), stderr: normSt(stResult.stderr) };
      if (step.strataStderr !== undefined) {
        expect(want.stderr, `containers-storage ${step.argv.join(' ')}`).not.toBe('');
        want.stderr = step.strataStderr;
      }
      expect(got, `strata ${step.argv.join(' ')}`).toEqual(want);
    }
  }, 120_000);

  it('diffs a layer into the same entries, gzip-compressed as its blob was', async () => {
    const dir = tempDir();
    const tarFile = join(dir, 'layer.tar.gz');
    writeFileSync(
      tarFile,
      gzipSync(await makeTar([{ name: 'a', type: 'directory' }, { name: 'a/b', body: 'bee', uid: 3, gid: 4 }])),
    );
    const listings: string[][] = [];
    for (const side of ['go', 'st'] as const) {
      const root = join(dir, side);
      const args = ['-g', `${root}/g`, '-R', `${root}/r`, '-s', 'vfs'];
      const out = join(dir, `${side}.diff`);
      if (side === 'go') {
        expect(spawnSync(GO, [...args, 'import-layer', '-n', 'x', '-f', tarFile]).status).toBe(0);
        expect(spawnSync(GO, [...args, 'diff', '-f', out, 'x']).status).toBe(0);
      } else {
        expect((await strata([...args, 'import-layer', '-n', 'x', '-f', tarFile])).code).toBe(0);
        expect((await strata([...args, 'diff', '-f', out, 'x'])).code).toBe(0);
      }
      const data = readFileSync(out);
      expect(data.subarray(0, 2), `${side} diff is gzip`).toEqual(Buffer.from([0x1f, 0x8b]));
      // Go replays the original tar (tar-split), strata writes a fresh one: directory names may
      // differ by a trailing slash, which tar readers treat alike.
      listings.push((await tarListing(data)).map((e) => e.replace(/\/ /, ' ')));
    }
    expect(listings[1]).toEqual(listings[0]);
  });

  it.each(['vfs', 'overlay'])('%s: reads a store containers-storage wrote, and containers-storage reads one strata wrote', async (driver) => {
    const dir = tempDir();
    const args = ['-g', `${dir}/g`, '-R', `${dir}/r`, '-s', driver];
    const go = (...argv: string[]): CliResult => {
      const r = spawnSync(GO, [...args, ...argv], { input: '', encoding: 'utf8' });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    const st = (...argv: string[]): Promise<CliResult> => strata([...args, ...argv]);
    const data = join(dir, 'data');
    writeFileSync(data, 'payload');
    const tarFile = join(dir, 'layer.tar');
    writeFileSync(tarFile, await makeTar([{ name: 'etc', type: 'directory' }, { name: 'etc/motd', body: 'hello\n' }]));

    expect(go('import-layer', '-n', 'from-go', '-f', tarFile).code).toBe(0);
    expect((await st('create-layer', '-n', 'from-strata', 'from-go')).code).toBe(0);
    expect((await st('create-image', '-n', 'img', 'from-strata')).code).toBe(0);
    expect((await st('set-image-data', '-f', data, 'img', 'Weird Key')).code).toBe(0);
    expect(go('create-container', '-n', 'ctr', 'img').code).toBe(0);
    expect((await st('set-container-data', '-f', data, 'ctr', 'state')).code).toBe(0);
    const mounted = await st('mount', 'ctr');
    expect(mounted.code).toBe(0);
    // strata stacks the layer containers-storage imported (its diff dir, its l/ link).
    const rootfs = mounted.stdout.trim();
    expect(readFileSync(join(rootfs, 'etc', 'motd'), 'utf8')).toBe('hello\n');
    expect(mountsUnder(rootfs).includes(rootfs)).toBe(driver !== 'vfs');

    // Both see the same records, big data and mount counts.
    for (const cmd of ['layers', 'images', 'containers']) {
      expect((await st(cmd, '--json')).stdout, cmd).toBe(go(cmd, '--json').stdout);
    }
    expect(go('get-image-data', 'img', 'Weird Key').stdout).toBe('payload');
    expect(go('get-container-data', 'ctr', 'state').stdout).toBe('payload');
    expect(go('mounted', 'ctr').stdout).toBe('ctr mounted\n');
    expect(go('unmount', 'ctr').stdout).toBe('ctr mountpoint unmounted\n');
    expect((await st('mounted', 'ctr')).stdout).toBe('');
    expect(mountsUnder(rootfs)).toEqual([]);

    // Deletions by one are seen by the other.
    expect(go('delete-container', 'ctr').code).toBe(0);
    expect((await st('delete-image', 'img')).code).toBe(0);
    expect(JSON.parse(go('layers', '--json').stdout)).toEqual([]);
  });

  it('vfs: a container with ID mappings of its own shows the image re-owned as containers-storage shows it', async () => {
    const dir = tempDir();
    const tarFile = join(dir, 'layer.tar');
    writeFileSync(tarFile, await makeTar([
      { name: 'etc', type: 'directory' },
      { name: 'etc/motd', body: 'hello\n', uid: 1000, gid: 1001 },
      { name: 'bin', type: 'directory', mode: 0o700 },
      { name: 'bin/su', body: '#!', mode: 0o4755 },
    ]));
    const seen: string[][] = [];
    for (const side of ['go', 'st'] as const) {
      const args = ['-g', `${dir}/${side}/g`, '-R', `${dir}/${side}/r`, '-s', 'vfs'];
      const run = async (...argv: string[]): Promise<CliResult> => {
        if (side === 'st') return strata([...args, ...argv]);
        const r = spawnSync(GO, [...args, ...argv], { input: '', encoding: 'utf8' });
        return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
      };
      expect((await run('import-layer', '-n', 'base', '-f', tarFile)).code).toBe(0);
      expect((await run('create-image', '-n', 'img', 'base')).code).toBe(0);
      const ctr = await run('create-container', '-n', 'ctr', '--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536', 'img');
      expect(ctr.stderr).toBe('');
      const rootfs = (await run('mount', 'ctr')).stdout.trim();
      seen.push(['.', 'etc', 'etc/motd', 'bin', 'bin/su'].map((p) => {
        const st = statSync(join(rootfs, p));
        return `${p} ${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
      }));
      expect((await run('unmount', 'ctr')).code).toBe(0);
    }
    expect(seen[0]).toContain('etc/motd 101000:101001 644');
    expect(seen[1]).toEqual(seen[0]);
  });
});
