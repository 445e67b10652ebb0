import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/rootless.js';
import { tempDir } from '../helpers/tmp.js';
import { makeTar, tarListing } from '../store/helpers.js';

const main = join(repoRoot, 'src/cli/main.ts');

function bin(dir: string, args: string[], input?: Buffer): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, '-g', `${dir}/g`, '-R', `${dir}/r`, '-s', 'vfs', ...args], {
    cwd: repoRoot,
    input,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe('the strata executable', () => {
  it('is a node script', () => {
    expect(readFileSync(main, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('imports a layer from stdin, writes its diff to stdout and exits with the command status', async () => {
    const dir = tempDir();
    const layerTar = gzipSync(await makeTar([{ name: 'f', body: 'data', uid: 2, gid: 3 }]));
    const imported = bin(dir, ['import-layer', '-n', 'piped'], layerTar);
    expect(imported.stderr).toBe('');
    expect(imported.status).toBe(0);
    const diff = bin(dir, ['diff', 'piped']);
    expect(diff.status).toBe(0);
    expect(await tarListing(gunzipSync(diff.stdout))).toEqual(['f 2:3']);
    const missing = bin(dir, ['unmount', 'nope']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('layer "nope": layer not known while unmounting nope\n');
  });
});
