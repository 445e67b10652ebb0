import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initOverlay } from '../../drivers/overlay/index.js';
import { OverlayLayout, generateLinkID } from '../../drivers/overlay-layout/layout.js';
import { parseOverlayOptions } from '../../drivers/overlay-layout/options.js';
import { ErrInvalidOption, ErrNotSupported, is } from '../../src/errors.js';
import { FsMagic, fsMagic } from '../../src/native.js';
import { rootlessUser, runAs, repoRoot } from '../helpers/rootless.js';
import { tempDir } from '../helpers/tmp.js';

async function newOverlay(root: string, driverOptions: string[] = []) {
  return initOverlay(join(root, 'overlay'), { root, runRoot: join(root, 'run'), driverOptions });
}

describe('overlay layout on disk', () => {
  it('matches containers/storage: l/ links, link, lower, diff, work, merged, empty', async () => {
    const root = tempDir();
    const d = await newOverlay(root);
    await d.create('base', '');
    await d.create('mid', 'base');
    await d.create('top', 'mid');
    const home = join(root, 'overlay');
    const lid = (id: string) => readFileSync(join(home, id, 'link'), 'utf8');
    for (const id of ['base', 'mid', 'top']) {
      expect(lid(id)).toMatch(/^[A-Z2-7]{26}$/);
      expect(readlinkSync(join(home, 'l', lid(id)))).toBe(`../${id}/diff`);
      for (const sub of ['diff', 'work', 'merged']) expect(statSync(join(home, id, sub)).isDirectory()).toBe(true);
    }
    expect(statSync(join(home, 'base', 'empty')).isDirectory()).toBe(true);
    expect(existsSync(join(home, 'base', 'lower'))).toBe(false);
    expect(readFileSync(join(home, 'mid', 'lower'), 'utf8')).toBe(`l/${lid('base')}`);
    expect(readFileSync(join(home, 'top', 'lower'), 'utf8')).toBe(`l/${lid('mid')}:l/${lid('base')}`);
    expect(statSync(join(home, 'base', 'diff')).mode & 0o7777).toBe(0o555);
    expect((await d.listLayers()).sort()).toEqual(['base', 'mid', 'top']);
    const md = await d.metadata('top');
    expect(md.LowerDir).toBe([join(home, 'mid', 'diff'), join(home, 'base', 'diff')].join(':'));
    expect(md.UpperDir).toBe(join(home, 'top', 'diff'));
    await d.remove('mid');
    expect(existsSync(join(home, 'l', lid('base')))).toBe(true);
    expect(readdirSync(join(home, 'l'))).toHaveLength(2);
    await d.cleanup();
  });

  it('a child diff dir takes its parent root mode and owner', async () => {
    const root = tempDir();
    const d = await newOverlay(root);
    await d.create('base', '');
    const fs = await d.get('base');
    const { chmodSync } = await import('node:fs');
    chmodSync(fs, 0o711);
    chownSync(fs, 1, 2);
    await d.put('base');
    await d.create('child', 'base');
    const st = statSync(join(root, 'overlay', 'child', 'diff'));
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o711, 1, 2]);
    await d.cleanup();
  });

  it('init repairs missing and wrong l/ links', async () => {
    const root = tempDir();
    let d = await newOverlay(root);
    await d.create('a', '');
    await d.create('b', 'a');
    await d.cleanup();
    const home = join(root, 'overlay');
    const la = readFileSync(join(home, 'a', 'link'), 'utf8');
    const lb = readFileSync(join(home, 'b', 'link'), 'utf8');
    rmSync(join(home, 'l', la));
    rmSync(join(home, 'l', lb));
    const { symlinkSync } = await import('node:fs');
    symlinkSync('../a/diff', join(home, 'l', lb));
    d = await newOverlay(root);
    expect(readlinkSync(join(home, 'l', la))).toBe('../a/diff');
    expect(readlinkSync(join(home, 'l', lb))).toBe('../b/diff');
    await d.get('b');
    await d.put('b');
    await d.cleanup();
  });

  it('generates 26-character base32 link IDs', () => {
    const ids = new Set(Array.from({ length: 200 }, generateLinkID));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[A-Z2-7]{26}$/);
  });
});

describe('overlay mounts', () => {
  it('refcounts get/put: a second get returns the same mount, put unmounts at zero', async () => {
    const root = tempDir();
    const d = await newOverlay(root);
    await d.create('base', '');
    await d.create('rw', 'base');
    const m1 = await d.get('rw');
    const m2 = await d.get('rw');
    expect(m2).toBe(m1);
    expect(fsMagic(m1)).toBe(FsMagic.OVERLAY);
    await d.put('rw');
    expect(fsMagic(m1)).toBe(FsMagic.OVERLAY);
    await d.put('rw');
    expect(fsMagic(m1)).not.toBe(FsMagic.OVERLAY);
    await d.cleanup();
  });

  it('a failed mount rolls the count back', async () => {
    const root = tempDir();
    const d = await newOverlay(root);
    await d.create('base', '');
    await d.create('rw', 'base');
    rmSync(join(root, 'overlay', 'rw', 'work'), { recursive: true });
    await expect(d.get('rw')).rejects.toThrow(/creating overlay mount/);
    mkdirSync(join(root, 'overlay', 'rw', 'work'));
    const m = await d.get('rw');
    expect(fsMagic(m)).toBe(FsMagic.OVERLAY);
    await d.put('rw');
    expect(fsMagic(m)).not.toBe(FsMagic.OVERLAY);
    await d.cleanup();
  });

  it('a ro mount shows the layer and its lowers and refuses writes', async () => {
    const root = tempDir();
    const d = await newOverlay(root);
    await d.create('base', '');
    writeFileSync(join(await d.get('base'), 'a'), 'A');
    await d.put('base');
    await d.create('top', 'base');
    writeFileSync(join(await d.get('top'), 'b'), 'B');
    await d.put('top');
    const m = await d.get('top', { options: ['ro'] });
    expect(readdirSync(m).sort()).toEqual(['a', 'b']);
    expect(() => writeFileSync(join(m, 'c'), 'C')).toThrow(/EROFS/);
    await d.put('top');
    await d.cleanup();
  });

  it('mounts a 200-layer chain (options larger than a page)', async () => {
    const root = tempDir();
    const d = await newOverlay(root);
    let parent = '';
    for (let i = 0; i < 200; i++) {
      const id = `layer${i}`;
      await d.create(id, parent);
      writeFileSync(join(root, 'overlay', id, 'diff', `f${i}`), String(i));
      parent = id;
    }
    await d.create('rw', parent);
    const m = await d.get('rw');
    expect(readdirSync(m)).toHaveLength(200);
    expect(readFileSync(join(m, 'f0'), 'utf8')).toBe('0');
    expect(readFileSync(join(m, 'f199'), 'utf8')).toBe('199');
    await d.put('rw');
    await d.cleanup();
  });

  it('diff/changes/diffSize use the upper dir against the real parent, and the naive differ otherwise', async () => {
    const root = tempDir();
    const d = await newOverlay(root);
    await d.create('base', '');
    const b = await d.get('base');
    mkdirSync(join(b, 'dir'));
    writeFileSync(join(b, 'dir', 'gone'), 'x');
    writeFileSync(join(b, 'keep'), 'k');
    await d.put('base');
    await d.create('top', 'base');
    const t = await d.get('top');
    rmSync(join(t, 'dir', 'gone'));
    writeFileSync(join(t, 'new'), 'hello');
    await d.put('top');
    const fast = await d.changes('top', 'base');
    // As containers/storage reports it: the parent of a change is a modify.
    expect(fast).toEqual([
      { path: '/dir', kind: 'modify' },
      { path: '/dir/gone', kind: 'delete' },
      { path: '/new', kind: 'add' },
    ]);
    const naive = await d.changes('top', '');
    expect(naive.map((c) => c.kind)).toContain('add');
    expect(naive.find((c) => c.path === '/keep')).toEqual({ path: '/keep', kind: 'add' });
    expect(await d.diffSize('top', 'base')).toBe(5);
    await d.cleanup();
  });
});

describe('overlay options', () => {
  it('accepts the known keys with or without the overlay. prefix', () => {
    const o = parseOverlayOptions(
      ['overlay.mountopt=nodev', 'ignore_chown_errors=true', 'overlay2.skip_mount_home=1', 'overlay.force_mask=shared'],
      ['overlay.', 'overlay2.'],
    );
    expect(o).toMatchObject({ mountOptions: 'nodev', ignoreChownErrors: true, skipMountHome: true, forceMask: 0o755 });
  });
  it('rejects unknown keys and bad values, naming them', () => {
    expect(() => parseOverlayOptions(['overlay.bogus=1'], ['overlay.'])).toThrow(/unknown option overlay.bogus/);
    expect(() => parseOverlayOptions(['overlay.ignore_chown_errors=maybe'], ['overlay.'])).toThrow(/ignore_chown_errors.*maybe/);
    expect(() => parseOverlayOptions(['overlay.imagestore=relative/x'], ['overlay.'])).toThrow(/not absolute/);
    expect(() => parseOverlayOptions(['noequals'], ['overlay.'])).toThrow(ErrInvalidOption);
  });
  it("ignores another driver's options, since newDriver offers one list to every candidate", () => {
    expect(parseOverlayOptions(['vfs.ignore_chown_errors=true'], ['overlay.']).ignoreChownErrors).toBe(false);
  });
  it('force_mask is refused by the kernel driver', async () => {
    const root = tempDir();
    await expect(newOverlay(root, ['overlay.force_mask=700'])).rejects.toThrow(/force_mask.*mount program/);
  });
  it('a mount_program hands the home over to fuse-overlay (ErrNotSupported)', async () => {
    const root = tempDir();
    const err = await newOverlay(root, ['overlay.mount_program=/bin/true']).catch((e: unknown) => e);
    expect(is(err, ErrNotSupported)).toBe(true);
  });
  it('imagestore homes are searched for lower layers', async () => {
    const root = tempDir();
    const store = join(root, 'store');
    const s = await initOverlay(join(store, 'overlay'), { root: store, runRoot: join(root, 'run') });
    await s.create('shared', '');
    writeFileSync(join(store, 'overlay', 'shared', 'diff', 'from-store'), 'x');
    await s.cleanup();
    const layout = new OverlayLayout(join(root, 'main'), [join(store, 'overlay')]);
    expect(layout.exists('shared')).toBe(true);
    expect(layout.diffDir('shared')).toBe(join(store, 'overlay', 'shared', 'diff'));
  });
});

describe('overlay support detection', () => {
  it('caches probe verdicts as feature files in <runroot>/overlay', async () => {
    const root = tempDir();
    const d = await newOverlay(root);
    const files = readdirSync(join(root, 'run', 'overlay'));
    expect(files.some((f) => /^overlay\(.*\)-true$/.test(f))).toBe(true);
    expect(files.some((f) => /^native-diff\(.*\)-(true|false)$/.test(f))).toBe(true);
    expect(Object.fromEntries(await d.status())['Backing Filesystem']).toBe('extfs');
    await d.cleanup();
  });

  it('a cached negative verdict is honoured as ErrNotSupported', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'run', 'overlay'), { recursive: true });
    writeFileSync(join(root, 'run', 'overlay', 'overlay()-false'), 'kernel said no');
    const err = await newOverlay(root).catch((e: unknown) => e);
    expect(is(err, ErrNotSupported)).toBe(true);
    expect(String(err)).toMatch(/kernel said no/);
  });

  const user = rootlessUser();
  const fixture = join(repoRoot, 'test', 'drivers', 'fixtures', 'overlay-init.ts');
  function runFixture(args: string[], root: string) {
    const r = runAs(user!, args[0]!, [...args.slice(1), process.execPath, '--import', 'tsx', fixture, root], { cwd: repoRoot });
    const line = r.stdout.trim().split('\n').at(-1) ?? '';
    try {
      return JSON.parse(line) as { ok: boolean; code?: string; message?: string; names?: string[]; userXattr?: string };
    } catch {
      throw new Error(`fixture printed ${JSON.stringify(r.stdout)} / ${r.stderr}`);
    }
  }

  it.skipIf(!user)('an unprivileged user gets ErrNotSupported with the reason', () => {
    const root = tempDir();
    chownSync(root, user!.uid, user!.gid);
    const out = runFixture(['env'], root);
    expect(out).toMatchObject({ ok: false, code: 'ERR_NOT_SUPPORTED' });
    expect(out.message).toMatch(/needs root or a user namespace/);
  });

  it.skipIf(!user)('an unprivileged user inside unshare -Urm mounts with userxattr', () => {
    const root = tempDir();
    chownSync(root, user!.uid, user!.gid);
    const out = runFixture(['unshare', '-Urm'], root);
    expect(out).toMatchObject({ ok: true, names: ['from-base', 'from-child'], userXattr: 'true' });
  });
});

describe('overlay mount flags', () => {
  it('passes generic options (mountopt=nodev, ro, noexec) as mount flags, not overlay options', async () => {
    const root = tempDir();
    const d = await newOverlay(root, ['overlay.mountopt=nodev,nosuid']);
    await d.create('base', '');
    await d.create('rw', 'base');
    const m = await d.get('rw', { options: ['noexec'] });
    const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === m) ?? '';
    const flags = line.split(' ')[5]!.split(',');
    expect(flags).toEqual(expect.arrayContaining(['rw', 'nodev', 'nosuid', 'noexec']));
    await d.put('rw');
    await d.cleanup();
  });
});
