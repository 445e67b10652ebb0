import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import buildFuseNative from '../../scripts/build-fuse-native.mjs';
import { tempDir } from '../helpers/tmp.js';

const require = createRequire(import.meta.url);
const dir = dirname(require.resolve('fuse-native/package.json'));
/** sha256 of the files the patch touches, as fuse-native 2.2.6 publishes them. */
const PRISTINE = {
  'fuse-native.c': 'e20f3726f19bc22613377b6b2e1516d8aacec09eca2ae79398cae612db7da7e8',
  'index.js': '9bf5f371ec9977340548a4ad0db1a9bf1a2c16c436340ef7e1594ab21da27896',
  'binding.gyp': '954b5a9115d1b4ef89ce91c89081f6fc095540fa07f0a9dcacf09c5b7fb911a8',
};
const patch = readFileSync(join(process.cwd(), 'patches', 'fuse-native+2.2.6.patch'), 'utf8');

describe('scripts/build-fuse-native.mjs', () => {
  it('is a quick no-op when the patched build is current', async () => {
    const addon = join(dir, 'build', 'Release', 'fuse.node');
    const before = statSync(addon).mtimeMs;
    const started = Date.now();
    await expect(buildFuseNative({ log: () => undefined })).resolves.toMatchObject({ built: false });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(statSync(addon).mtimeMs).toBe(before);
  });

  it('leaves node_modules/fuse-native exactly as the patch file describes', () => {
    // Reversing the patch on a copy must give back the published 2.2.6 sources, byte for byte.
    const copy = join(tempDir('strata-fuse-native-src-'), 'fuse-native');
    cpSync(dir, copy, { recursive: true, filter: (src) => !src.includes(`${dir}/build`) });
    execFileSync('patch', ['-p3', '--reverse', '--batch', '--quiet'], { cwd: copy, input: patch });
    const hashes = Object.fromEntries(
      Object.keys(PRISTINE).map((f) => [f, createHash('sha256').update(readFileSync(join(copy, f))).digest('hex')]),
    );
    expect(hashes).toEqual(PRISTINE);
  });

  it('loads build/Release (linked to the system libfuse.so.2), not the prebuild', () => {
    const loaded = require('node-gyp-build').path(dir) as string;
    expect(loaded).toBe(join(dir, 'build', 'Release', 'fuse.node'));
    const ldd = execFileSync('ldd', [loaded], { encoding: 'utf8' });
    expect(ldd).toMatch(/libfuse\.so\.2 => \/(usr\/)?lib\/[^ ]*libfuse\.so\.2/);
    expect(ldd).not.toContain('node_modules');
  });
});
