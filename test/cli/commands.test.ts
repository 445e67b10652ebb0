import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { makeTar } from '../store/helpers.js';
import { storeCli, strata } from './helpers.js';

const ID = /^[0-9a-f]{64}$/;

describe('strata commands', () => {
  it('creates, lists and shows layers, images and containers', async () => {
    const dir = tempDir();
    const s = storeCli(dir);
    const base = await s('create-layer', '-n', 'base');
    expect(base.code).toBe(0);
    const [baseID, baseName] = base.stdout.split('\n');
    expect(baseID).toMatch(ID);
    expect(baseName).toBe('\tbase');

    const tarball = gzipSync(await makeTar([{ name: 'hello', body: 'hi', uid: 7, gid: 8 }]));
    const imported = await strata(['-g', `${dir}/g`, '-R', `${dir}/r`, '-s', 'vfs', 'import-layer', '-n', 'l1', 'base'], {
      stdin: tarball,
    });
    expect(imported.code).toBe(0);
    const l1 = imported.stdout.split('\n')[0] as string;

    const layer = await s('layer', '--json', 'l1');
    const [rec] = JSON.parse(layer.stdout) as Array<Record<string, unknown>>;
    expect(rec).toMatchObject({ id: l1, names: ['l1'], parent: baseID, compression: 2, uidset: [7], gidset: [8] });
    expect(await s('layer', 'l1')).toEqual({ code: 0, stdout: `ID: ${l1}\nParent: ${baseID}\nName: l1\n`, stderr: '' });

    const image = await s('create-image', '-n', 'img', '-m', 'meta', 'l1');
    const imageID = image.stdout.split('\n')[0] as string;
    const container = await s('createcontainer', '--name=c1', 'img');
    expect(container.stdout).toMatch(/^[0-9a-f]{64}\n\tc1$/);
    const cID = container.stdout.split('\n')[0] as string;

    const layers = await s('layers');
    expect(layers.stdout).toBe(
      `${baseID}\n\tname: base\n${l1}\n\tname: l1\n\timage: ${imageID}\n\t\tname: img\n` +
        `${(JSON.parse((await s('containers', '--json')).stdout) as Array<{ layer: string }>)[0]?.layer}\n` +
        `\tcontainer: ${cID}\n\t\tname: c1\n`,
    );
    const tree = await s('layers', '-t');
    expect(tree.stdout.split('\n').slice(0, 4)).toEqual(['(base)', `└─${baseID}`, '  name: base', `  └─${l1}`]);
    expect((await s('metadata', '-q', 'img')).stdout).toBe('meta\n');
    expect((await s('exists', '-c', 'img')).code).toBe(1);
    expect((await s('exists', '-i', 'img')).stdout).toBe('img: true\n');
  });

  it('fails with one line naming the unknown thing, and no stack trace unless --debug', async () => {
    const dir = tempDir();
    const s = storeCli(dir);
    const r = await s('create-image', 'no-such-layer');
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'layer "no-such-layer": layer not known\n' });
    expect(await s('delete-layer', 'ghost')).toEqual({ code: 1, stdout: '', stderr: 'ghost: identifier is not a layer\n' });
    expect((await s('get-container-dir', 'ghost')).stderr).toBe('container "ghost": container not known\n');

    await s('create-layer', '-n', 'dup');
    const dup = await s('create-layer', '-n', 'dup');
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/^layer name "dup" is already associated with layer "[0-9a-f]{64}": that name is already in use\n$/);

    const file = join(dir, 'bad.tar.gz');
    writeFileSync(file, Buffer.concat([gzipSync(Buffer.alloc(2048)).subarray(0, 12), Buffer.alloc(50, 3)]));
    const quiet = await s('import-layer', '-f', file);
    expect(quiet.code).toBe(1);
    expect(quiet.stderr.trim().split('\n')).toHaveLength(1);
    expect(quiet.stderr).not.toMatch(/\n\s+at /);
    const loud = await s('-D', 'import-layer', '-f', file);
    expect(loud.code).toBe(1);
    expect(loud.stderr).toMatch(/\n\s+at /);
  });

  it('parses flags as Go flag does: values with =, switches =false, options end at the first argument', async () => {
    const dir = tempDir();
    const s = storeCli(dir);
    const r = await s('create-layer', '--name=a', '-n=b', '-n', 'c');
    expect(r.stdout.split('\n').slice(1)).toEqual(['\ta', '\tb', '\tc', '']);
    expect((await s('layers', '--json=false')).stdout).toMatch(/^[0-9a-f]{64}\n\tname: a\n/);
    expect((await s('layers', '-j=true')).stdout.startsWith('[{')).toBe(true);
    expect((await s('--', 'layers', '-q')).code).toBe(125);
    expect((await s('--', 'layers')).stdout).toMatch(/^[0-9a-f]{64}\n/);
    // After "a", "--json" is a layer name, which does not exist.
    const trailing = await s('layer', 'a', '--json');
    expect(trailing.code).toBe(1);
    expect(trailing.stdout.startsWith('ID: ')).toBe(true);
  });

  it('exits 125 on bad flags and 1 on missing arguments or unknown commands, as containers-storage', async () => {
    const dir = tempDir();
    const s = storeCli(dir);
    expect(await s('layers', '-x')).toEqual({
      code: 125,
      stdout: '',
      stderr: "flag provided but not defined: -x\nSee 'strata layers --help'.\n",
    });
    expect(await s('create-layer', '-n')).toMatchObject({ code: 125, stderr: "flag needs an argument: -n\nSee 'strata create-layer --help'.\n" });
    const missing = await s('layer');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^layer: more arguments required\.\nUsage: strata layer \[options \[\.\.\.\]\] layerNameOrID \[\.\.\.\]\n/);
    expect(missing.stderr).toContain('--json, -j');
    expect(await s('bogus')).toMatchObject({ code: 1, stdout: 'bogus: unrecognized command.\n' });
    const none = await strata([]);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('  create-layer                  Create a new layer\n');
    expect((await s('layers', '--bogus=1')).code).toBe(125);
  });

  it('status shows the chosen driver and why others were skipped', async () => {
    const dir = tempDir();
    const r = await strata(['-g', `${dir}/g`, '-R', `${dir}/r`, 'status']);
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n');
    expect(lines.slice(0, 4)).toEqual([`Root: ${dir}/g`, `Run Root: ${dir}/r`, expect.stringMatching(/^Driver Name: /), 'Driver Options: []']);
    expect(r.stderr).toMatch(/\nDriver Chosen: [a-z-]+ \(.+\)\n/);
    const json = JSON.parse((await strata(['-g', `${dir}/g`, '-R', `${dir}/r`, 'status', '--json'])).stdout) as string[][];
    expect(json[0]).toEqual(['Root', `${dir}/g`]);
    expect(json.some(([k]) => k === 'Driver Chosen')).toBe(true);
  });

  it('reports the store cannot open as containers-storage does', async () => {
    const dir = tempDir();
    const r = await strata(['-g', `${dir}/g`, '-R', `${dir}/r`, '-s', 'no-such-driver', 'layers']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^error initializing: .*no-such-driver.*\n$/);
  });
});
