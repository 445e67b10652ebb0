/**
 * The driver conformance suite for both overlay drivers run rootless: vitest runs
 * fixtures/conformance-rootless.fixture.ts as strata-rootless, root of its own user namespace
 * with its subordinate ids mapped (as rootless podman runs storage), and reports as JSON.
 * Every case must pass there as it does for root. fuse-overlay needs dist/ built.
 */
import { chownSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, rootlessUser, type TestUser } from '../helpers/rootless.js';
import { tempDir } from '../helpers/tmp.js';
import { canMapSubIds, runInUserNamespace } from './fixtures/userns.js';

interface JsonReport {
  numTotalTests: number;
  numPassedTests: number;
  testResults: Array<{ assertionResults: Array<{ title: string; status: string; failureMessages: string[] }> }>;
}

const user = rootlessUser();
const ready = user !== undefined && canMapSubIds(user);

/** Runs the conformance cases for `driver` in a user namespace; returns vitest's JSON report. */
async function conformanceInUserNs(u: TestUser, driver: string, deepLayers?: number): Promise<JsonReport> {
  const dir = tempDir();
  chownSync(dir, u.uid, u.gid);
  const report = join(dir, 'report.json');
  const vitest = join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
  // `--configLoader runner` loads the TS config in memory; the default bundles it into node_modules.
  const config = join('test', 'drivers', 'fixtures', 'vitest.rootless.config.ts');
  const r = await runInUserNamespace(
    u,
    [process.execPath, vitest, 'run', '--configLoader', 'runner', '--config', config, '--reporter=json', `--outputFile=${report}`],
    {
      cwd: repoRoot,
      env: {
        STRATA_CONFORMANCE_DRIVER: driver,
        STRATA_CONFORMANCE_DEEP_LAYERS: deepLayers === undefined ? '' : String(deepLayers),
        STRATA_VITEST_CACHE: join(dir, 'cache'),
      },
      timeoutMs: 280_000,
    },
  );
  try {
    return JSON.parse(readFileSync(report, 'utf8')) as JsonReport;
  } catch {
    throw new Error(`no report from the rootless run (exit ${r.code}): ${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
  }
}

function expectAllPassed(report: JsonReport): void {
  const results = report.testResults.flatMap((f) => f.assertionResults);
  const failed = results.filter((t) => t.status !== 'passed').map((t) => `${t.title}: ${t.status} ${t.failureMessages.join('\n').slice(0, 800)}`);
  expect(failed).toEqual([]);
  // The ten graphtest cases ran, not an empty or skipped suite.
  expect(results.map((t) => t.title.split(':')[0])).toEqual([
    'CreateEmpty',
    'CreateBase',
    'CreateSnap',
    'CreateFromTemplate',
    'DeepLayerRead',
    'DiffApply',
    'Changes',
    'Echo',
    'ListLayers',
    'Remove',
  ]);
}

describe.skipIf(!ready)('driver conformance as strata-rootless in a user namespace', () => {
  it('overlay (kernel, userxattr) passes every case', async () => {
    expectAllPassed(await conformanceInUserNs(user!, 'overlay'));
  }, 300_000);

  // DeepLayerRead stacks 32 layers here, not 128: each layer is a FUSE mount, and the root run covers 128.
  it('fuse-overlay passes every case', async () => {
    expectAllPassed(await conformanceInUserNs(user!, 'fuse-overlay', 32));
  }, 300_000);
});
