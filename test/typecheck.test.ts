/**
 * The whole project type-checks: the sources (what `npm run build` compiles), the tests and the
 * bench, which vitest and tsx run without checking types.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/rootless.js';

const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

describe('types', () => {
  it.each(['tsconfig.json', 'test/tsconfig.json', 'bench/tsconfig.json'])('%s has no type errors', (project) => {
    const r = spawnSync(process.execPath, [TSC, '-p', join(repoRoot, project), '--noEmit'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 130_000);
});
