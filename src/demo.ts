/**
 * The main job, as the README's first command runs it: pick a driver with the registry, build a
 * two-layer chain, change the upper layer through its mount, and show what the driver reports.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, unlinkSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import './drivers.js';
import { newDriver } from './registry.js';

const BASE = 'demo-base';
const CHILD = 'demo-child';

/** Names and sizes of a tar stream's entries, in order. */
async function listTar(stream: Readable): Promise<string[]> {
  const extract = tar.extract();
  const names: string[] = [];
  stream.pipe(extract);
  for await (const entry of extract) {
    const { name, type, size } = entry.header;
    names.push(`${type === 'directory' ? 'd' : type === 'file' ? 'f' : type?.[0] ?? '?'} ${name} (${size ?? 0} bytes)`);
    entry.resume();
  }
  return names;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'strata-demo-'));
  const log = (s = ''): void => void process.stdout.write(`${s}\n`);
  try {
    log(`graph root: ${root}`);
    const { driver, name, decisions } = await newDriver('', { root });
    for (const d of decisions) log(`  ${d.outcome === 'chosen' ? '✔' : '✘'} ${d.name}: ${d.reason}`);
    log(`driver: ${name}`);

    await driver.create(BASE, '');
    const baseFs = await driver.get(BASE);
    mkdirSync(join(baseFs, 'etc'));
    writeFileSync(join(baseFs, 'etc', 'motd'), 'hello from the base layer\n');
    writeFileSync(join(baseFs, 'etc', 'obsolete.conf'), 'to be removed\n');
    chmodSync(baseFs, 0o755);
    await driver.put(BASE);

    await driver.create(CHILD, BASE);
    const childFs = await driver.get(CHILD);
    writeFileSync(join(childFs, 'etc', 'motd'), 'changed in the child layer\n');
    unlinkSync(join(childFs, 'etc', 'obsolete.conf'));
    writeFileSync(join(childFs, 'hello.txt'), 'a new file\n');
    await driver.put(CHILD);

    log('\nchanges (child vs base):');
    for (const c of await driver.changes(CHILD, BASE)) log(`  ${c.kind.padEnd(6)} ${c.path}`);
    log('\ndiff tar entries:');
    for (const e of await listTar(await driver.diff(CHILD, BASE))) log(`  ${e}`);
    log(`\ndiff size: ${await driver.diffSize(CHILD, BASE)} bytes`);

    await driver.remove(CHILD);
    await driver.remove(BASE);
    log(`layers left: ${(await driver.listLayers()).length}`);
    await driver.cleanup();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`strata demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
