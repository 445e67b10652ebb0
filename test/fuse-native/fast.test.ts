/**
 * The fast ops of the patch (strata-*.c): getattr, read-only open and getxattr answered on the
 * FUSE thread from the attribute cache JS publishes, read/write/release on the handle's fd, and
 * the reply filter (hardlinks' attributes, READDIRPLUS, cached listings). Each test checks what
 * the kernel saw and which requests still reached the JS handlers.
 */
import {
  closeSync,
  constants as fsc,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFuseNative, type CacheRecord, type FastOptions, type FuseOps, type FuseStat, type MountOptions } from '../../src/fuse/binding.js';
import { tempDir } from '../helpers/tmp.js';
import { mounted, node, sh } from './helpers.js';

/** A pass-through filesystem over one real directory that counts the requests JS answers. */
class RealFs {
  readonly calls = new Map<string, string[]>();
  constructor(readonly root: string) {}

  #note(op: string, path: string | null): void {
    const list = this.calls.get(op) ?? [];
    list.push(path ?? '(null)');
    this.calls.set(op, list);
  }

  count(op: string, path?: string): number {
    const list = this.calls.get(op) ?? [];
    return path === undefined ? list.length : list.filter((p) => p === path).length;
  }

  real(path: string): string {
    return path === '/' ? this.root : this.root + path;
  }

  ops(): FuseOps {
    const stat = (p: string): FuseStat => lstatSync(this.real(p), { bigint: true });
    return {
      getattr: (p) => (this.#note('getattr', p), stat(p)),
      fgetattr: (p) => (this.#note('fgetattr', p), stat(p!)),
      readdir: (p) => {
        this.#note('readdir', p);
        const names = readdirSync(this.real(p!));
        return { names, stats: names.map((n) => stat(`${p === '/' ? '' : p}/${n}`)) };
      },
      open: (p, flags) => (this.#note('open', p), openSync(this.real(p), flags)),
      create: (p, mode) => (this.#note('create', p), openSync(this.real(p), fsc.O_CREAT | fsc.O_RDWR, mode)),
      unlink: (p) => (this.#note('unlink', p), unlinkSync(this.real(p))),
      link: (from, to) => (this.#note('link', to), linkSync(this.real(from), this.real(to))),
      mkdir: (p, mode) => (this.#note('mkdir', p), mkdirSync(this.real(p), { mode })),
      getxattr: (p, name) => {
        this.#note('getxattr', p);
        throw Object.assign(new Error(name), { code: 'ENODATA' });
      },
      read: () => fail('read reached JS'),
      write: () => fail('write reached JS'),
      release: (p) => void this.#note('release', p),
    };
  }
}

function fail(what: string): never {
  throw new Error(what);
}

function setup(files: Record<string, string> = {}): RealFs {
  const root = join(tempDir('strata-fast-'), 'root');
  mkdirSync(root);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(root, name), content);
  return new RealFs(root);
}

/** Mounts fs with the fast ops; timeouts 0 unless given, so each stat reaches the filesystem. */
async function mountFast(fs: RealFs, fast: Partial<FastOptions> = {}, opts: MountOptions = {}) {
  const m = await mounted(fs.ops(), {
    entryTimeout: 0,
    attrTimeout: 0,
    negativeTimeout: 0,
    useIno: true,
    ...opts,
    fast: { layers: [fs.root], fdIo: true, ...fast },
  });
  const apply = (records: CacheRecord[]): void => {
    expect(m.handle.fuse.cacheApply(loadFuseNative().encodeCacheRecords(records))).toBe(0);
  };
  const put = (path: string, extra: Partial<CacheRecord & { kind: 'put' }> = {}): CacheRecord => {
    const st = lstatSync(fs.real(path));
    return { kind: 'put', path, layer: 0, ino: st.ino, uid: st.uid, gid: st.gid, mode: st.mode, ...extra };
  };
  return { ...m, apply, put };
}

/** stat from a child process: "ino uid nlink size mode" or the error code. */
async function statOf(path: string): Promise<string> {
  const r = await node(
    `try { const s = require('fs').lstatSync(process.argv[1]); console.log([s.ino, s.uid, s.nlink, s.size, s.mode.toString(8)].join(' ')) }` +
      ` catch (e) { console.log(e.code) }`,
    [path],
  );
  return r.stdout.trim();
}

describe('the attribute cache', () => {
  it('answers getattr in C for published paths and sends the rest to JS', async () => {
    const fs = setup({ a: 'aaa', b: 'bb' });
    const { mnt, apply, put } = await mountFast(fs);
    apply([put('/'), put('/a', { ino: 4242 })]);
    expect(await statOf(join(mnt, 'a'))).toMatch(/^4242 0 1 3 100644$/);
    expect(fs.count('getattr', '/a')).toBe(0);
    expect(await statOf(join(mnt, 'b'))).toMatch(/^\d+ 0 1 2 100644$/);
    expect(fs.count('getattr', '/b')).toBeGreaterThan(0);
    // Sizes come from the real file every time, so a change behind the entry shows at once.
    writeFileSync(fs.real('/a'), 'longer');
    expect(await statOf(join(mnt, 'a'))).toMatch(/^4242 0 1 6 /);
    apply([{ kind: 'forget', path: '/a' }]);
    expect(await statOf(join(mnt, 'a'))).not.toMatch(/^4242 /);
    expect(fs.count('getattr', '/a')).toBeGreaterThan(0);
  });

  it('answers ENOENT in C for names missing from a complete directory, except libfuse hidden names', async () => {
    const fs = setup({ a: 'a' });
    const { mnt, apply, put } = await mountFast(fs);
    apply([put('/'), put('/a'), { kind: 'complete', path: '/' }]);
    expect(await statOf(join(mnt, 'nope'))).toBe('ENOENT');
    expect(fs.count('getattr', '/nope')).toBe(0);
    expect(await statOf(join(mnt, '.fuse_hidden0001'))).toBe('ENOENT');
    expect(fs.count('getattr', '/.fuse_hidden0001')).toBe(1);
    // A put keeps the directory complete; a forget of a child does not.
    writeFileSync(fs.real('/new'), 'n');
    apply([put('/new')]);
    expect(await statOf(join(mnt, 'new'))).toMatch(/ 1 1 100644$/);
    apply([{ kind: 'forget', path: '/new' }]);
    expect(await statOf(join(mnt, 'other'))).toBe('ENOENT');
    expect(fs.count('getattr', '/other')).toBe(1);
  });

  it('maps ids, keeps a fixed owner, and leaves an entry of another type to JS', async () => {
    const fs = setup({ a: 'a', b: 'b' });
    const { mnt, apply, put } = await mountFast(fs, { uidMap: { ranges: [{ disk: 0, shown: 1000, size: 10 }] } });
    apply([put('/'), put('/a'), put('/b', { uid: 7, gid: 8, mode: 0o100600, fixedOwner: true })]);
    expect(await statOf(join(mnt, 'a'))).toMatch(/^\d+ 1000 1 1 100644$/);
    expect(await statOf(join(mnt, 'b'))).toMatch(/^\d+ 7 1 1 100600$/);
    apply([put('/a', { mode: fsc.S_IFDIR | 0o755 })]);
    expect(await statOf(join(mnt, 'a'))).toMatch(/^\d+ 0 1 1 100644$/);
    expect(fs.count('getattr', '/a')).toBeGreaterThan(0);
  });

  it('refuses a malformed batch and bad options before mounting', async () => {
    const Fuse = loadFuseNative();
    expect(() => Fuse.encodeCacheRecords([{ kind: 'nope', path: '/x' } as unknown as CacheRecord])).toThrow(/unknown cache record kind/);
    const fs = setup();
    const { handle } = await mountFast(fs);
    expect(handle.fuse.cacheApply(Buffer.from([1, 0, 200, 0]))).toBe(-22);
    await expect(mounted(fs.ops(), { fast: { layers: ['relative'] } })).rejects.toThrow(/fast.layers/);
  });
});

describe('file I/O on the FUSE thread', () => {
  it('opens cached files read-only in C, reads and writes on the fd, and counts open handles', async () => {
    const fs = setup({ a: 'hello' });
    const { mnt, apply, put, handle } = await mountFast(fs, {}, { bigWrites: true, maxWrite: 131072 });
    apply([put('/'), put('/a')]);
    expect(await sh(`cat ${join(mnt, 'a')}`)).toBe('hello');
    expect(fs.count('open')).toBe(0);
    await sh(`printf ' world' >> ${join(mnt, 'a')}; head -c 300000 /dev/zero > ${join(mnt, 'big')}`);
    expect(fs.count('open', '/a')).toBe(1);
    expect(await sh(`cat ${join(mnt, 'a')}; wc -c < ${join(mnt, 'big')}`)).toBe('hello world300000\n');
    expect(fs.count('release')).toBe(0);
    // A handle held open by another process is counted until its release.
    const holder = spawn(process.execPath, ['-e', `require('fs').openSync(process.argv[1], 'r'); console.log('open'); setTimeout(() => {}, 60000)`, join(mnt, 'a')]);
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    expect(handle.fuse.openFiles()).toBe(1);
    holder.kill();
    await until(() => handle.fuse.openFiles() === 0);
    expect(handle.fuse.openFiles()).toBe(0);
  });
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

describe('the reply filter', () => {
  it('keeps a hardlinked file’s attributes fresh through its other name under long timeouts', async () => {
    const fs = setup({ a: 'a' });
    const { mnt, apply, put } = await mountFast(fs, { hardlinkAttrTimeout: 0 }, { entryTimeout: 1000, attrTimeout: 1000 });
    apply([put('/'), put('/a')]);
    expect(await statOf(join(mnt, 'a'))).toMatch(/ 1 1 100644$/);
    await sh(`ln ${join(mnt, 'a')} ${join(mnt, 'b')}`);
    apply([put('/b')]);
    expect(await statOf(join(mnt, 'a'))).toMatch(/ 2 1 100644$/);
    await sh(`rm ${join(mnt, 'b')}`);
    apply([{ kind: 'drop', path: '/b' }]);
    expect(await statOf(join(mnt, 'a'))).toMatch(/ 1 1 100644$/);
  });

  it('answers READDIRPLUS, so a long listing needs no lookups, and keeps listings until they change', async () => {
    const fs = setup({ a: 'a', b: 'b', c: 'c' });
    const { mnt } = await mountFast(fs, { readdirplus: true, cacheDir: true }, { entryTimeout: 1000, attrTimeout: 1000 });
    const list = (): Promise<string> => sh(`ls -l ${mnt} | awk 'NR > 1 { print $5, $9 }'`);
    // A plain listing needs no stat, yet each entry was looked up once: that came with READDIRPLUS.
    expect(await sh(`ls -1 --color=never ${mnt}`)).toBe('a\nb\nc\n');
    expect(['/a', '/b', '/c'].map((p) => fs.count('getattr', p))).toEqual([1, 1, 1]);
    // ... and the long listing then finds every attribute in the kernel's cache.
    expect(await list()).toBe('1 a\n1 b\n1 c\n');
    expect(['/a', '/b', '/c'].map((p) => fs.count('getattr', p))).toEqual([1, 1, 1]);
    const readdirs = fs.count('readdir');
    expect(await list()).toBe('1 a\n1 b\n1 c\n');
    expect(fs.count('readdir')).toBe(readdirs);
    await sh(`echo dd > ${join(mnt, 'd')}`);
    expect(await list()).toBe('1 a\n1 b\n1 c\n3 d\n');
    expect(fs.count('readdir')).toBe(readdirs + 1);
  });

  it('reads hot xattrs of cached files in C', async () => {
    const fs = setup({ a: 'a' });
    const { mnt, apply, put } = await mountFast(fs, { directXattrs: ['security.capability'] });
    apply([put('/'), put('/a')]);
    const r = await node(
      `const { execFileSync } = require('child_process');` +
        `try { execFileSync('getfattr', ['-n', 'security.capability', process.argv[1]], { stdio: 'pipe' }) } catch (e) { console.log(String(e.stderr).includes('No such attribute')) }`,
      [join(mnt, 'a')],
    );
    expect(r.stdout.trim()).toBe('true');
    expect(fs.count('getxattr')).toBe(0);
  });
});
