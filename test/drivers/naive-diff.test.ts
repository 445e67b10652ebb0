import { mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { VfsDriver } from '../../drivers/vfs/driver.js';
import type { Driver, MountOpts, ProtoDriver } from '../../src/driver.js';
import { ErrLayerUnknown, is } from '../../src/errors.js';
import { naiveDiff } from '../../src/naive-diff.js';
import { tempDir } from '../helpers/tmp.js';

/** A vfs ProtoDriver that records get/put, to check naiveDiff releases what it takes. */
class CountingDriver extends VfsDriver {
  readonly held = new Map<string, number>();
  readonly gets: Array<{ id: string; options?: string[] }> = [];

  override async get(id: string, options?: MountOpts): Promise<string> {
    const dir = await super.get(id, options);
    this.gets.push({ id, options: options?.options });
    this.held.set(id, (this.held.get(id) ?? 0) + 1);
    return dir;
  }

  override async put(id: string): Promise<void> {
    const n = this.held.get(id) ?? 0;
    if (n === 0) throw new Error(`put of ${id} without a get`);
    if (n === 1) this.held.delete(id);
    else this.held.set(id, n - 1);
  }
}

function setup(): { proto: CountingDriver; driver: Driver } {
  const home = join(tempDir(), 'vfs');
  mkdirSync(join(home, 'dir'), { recursive: true });
  const proto = new CountingDriver(home, { ignoreChownErrors: false });
  return { proto, driver: naiveDiff(proto as ProtoDriver) };
}

async function tarEntries(stream: Readable): Promise<string[]> {
  const names: string[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, body, next) => {
      names.push(header.name);
      body.on('end', next);
      body.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  stream.pipe(ex);
  await done;
  return names.map((n) => n.replace(/^\.?\//, '').replace(/\/$/, '')).filter((n) => n !== '' && n !== '.');
}

describe('naiveDiff', () => {
  it('keeps layer and parent mounted until the diff stream ends, then puts both', async () => {
    const { proto, driver } = setup();
    await driver.createReadWrite('base', '');
    writeFileSync(join(await proto.get('base'), 'old'), 'old');
    await proto.put('base');
    await driver.create('top', 'base');
    writeFileSync(join(await proto.get('top'), 'new'), 'new');
    await proto.put('top');

    const stream = await driver.diff('top', 'base');
    expect([...proto.held.keys()].sort()).toEqual(['base', 'top']);
    expect(await tarEntries(stream)).toEqual(['new']);
    await sleep(10);
    expect(proto.held.size).toBe(0);
    expect(proto.gets.filter((g) => g.id === 'top').at(-1)?.options).toEqual(['ro']);
  });

  it('puts the layers when the reader abandons the stream', async () => {
    const { proto, driver } = setup();
    await driver.createReadWrite('big', '');
    const dir = await proto.get('big');
    for (let i = 0; i < 200; i++) writeFileSync(join(dir, `f${i}`), Buffer.alloc(4096, i));
    await proto.put('big');

    const stream = await driver.diff('big', '');
    stream.once('data', () => stream.destroy());
    await new Promise((resolve) => stream.once('close', resolve));
    await sleep(10);
    expect(proto.held.size).toBe(0);
  });

  it('releases the layer when the parent cannot be mounted', async () => {
    const { proto, driver } = setup();
    await driver.create('l', '');
    const err = await driver.diff('l', 'missing').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(is(err, ErrLayerUnknown)).toBe(true);
    expect(proto.held.size).toBe(0);
  });

  it('diffs a layer without parent as a whole tree that applies into an empty layer', async () => {
    const { proto, driver } = setup();
    await driver.createReadWrite('src', '');
    const dir = await proto.get('src');
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc', 'hosts'), '127.0.0.1 localhost\n');
    symlinkSync('etc/hosts', join(dir, 'hosts'));
    await proto.put('src');

    const tar = Buffer.concat(await (await driver.diff('src', '')).toArray());
    await driver.create('dst', '');
    const applied = await driver.applyDiff('dst', '', { diff: Readable.from([tar]) });
    // The bytes of regular files; diffSize would also count the symlink's length, as Go's does.
    expect(applied).toBe(20);

    const out = await proto.get('dst');
    expect(readFileSync(join(out, 'etc', 'hosts'), 'utf8')).toBe('127.0.0.1 localhost\n');
    expect(readlinkSync(join(out, 'hosts'))).toBe('etc/hosts');
    await proto.put('dst');
    expect(proto.held.size).toBe(0);
  });

  it('reports changes and diff sizes with every get matched by a put', async () => {
    const { proto, driver } = setup();
    await driver.createReadWrite('a', '');
    writeFileSync(join(await proto.get('a'), 'gone'), 'x');
    await proto.put('a');
    await driver.create('b', 'a');
    const b = await proto.get('b');
    writeFileSync(join(b, 'added'), '12345');
    writeFileSync(join(b, 'gone2'), '');
    await proto.put('b');
    rmSync(join(b, 'gone'));

    const changes = await driver.changes('b', 'a');
    expect(changes.map((c) => `${c.kind} ${c.path}`).sort()).toEqual(['add /added', 'add /gone2', 'delete /gone']);
    expect(await driver.diffSize('b', 'a')).toBe(5);
    expect(proto.held.size).toBe(0);
  });
});
