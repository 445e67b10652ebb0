import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { overlayChanges, overlayDiff, tarDirectory } from '../../src/archive/index.js';
import type { Change } from '../../src/driver.js';
import { lsetxattr, mknod } from '../../src/native.js';
import { tempDir } from '../helpers/tmp.js';
import { apply, collect, snapshot } from './fixtures/helpers.js';

function mountOverlay(merged: string, lowers: string[], upper: string, work: string): void {
  mkdirSync(merged, { recursive: true });
  mkdirSync(work, { recursive: true });
  const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work}`, merged], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount overlay: ${r.stderr}`);
}

const list = (changes: Change[]): string[] => changes.map((c) => `${c.kind[0]!.toUpperCase()} ${c.path}`);

/** Two lower layers, a kernel overlay over them, and one change of every kind made through it. */
function layeredImage(): { base: string; lowers: string[]; upper: string; merged: string } {
  const base = tempDir();
  const [l1, l2, upper] = [`${base}/l1`, `${base}/l2`, `${base}/upper`];
  for (const d of ['etc', 'var/cache/a', 'opt', 'usr/share/doc', 'bin', 'huge']) mkdirSync(`${l2}/${d}`, { recursive: true });
  writeFileSync(`${l2}/etc/conf`, 'v1');
  writeFileSync(`${l2}/etc/keep`, 'keep');
  writeFileSync(`${l2}/old-file`, 'old');
  writeFileSync(`${l2}/var/cache/a/b`, 'cached');
  writeFileSync(`${l2}/opt/tool`, 'tool');
  writeFileSync(`${l2}/usr/share/doc/readme`, 'doc');
  writeFileSync(`${l2}/bin/tool`, '#!/bin/sh');
  chmodSync(`${l2}/bin/tool`, 0o755);
  writeFileSync(`${l2}/hidden-by-l1`, 'hidden');
  for (let i = 0; i < 50; i++) writeFileSync(`${l2}/huge/f${i}`, String(i));
  mkdirSync(`${l1}/etc`, { recursive: true });
  writeFileSync(`${l1}/etc/conf`, 'v2');
  mknod(`${l1}/hidden-by-l1`, 0o20000, 0, 0);
  mkdirSync(upper);
  // A whiteout left for a name no lower has: not a change.
  mknod(`${upper}/phantom`, 0o20000, 0, 0);
  const merged = `${base}/merged`;
  mountOverlay(merged, [l1, l2], upper, `${base}/work`);
  writeFileSync(`${merged}/new-file`, 'new');
  writeFileSync(`${merged}/etc/conf`, 'v3');
  chmodSync(`${merged}/bin/tool`, 0o700);
  rmSync(`${merged}/old-file`);
  rmSync(`${merged}/var/cache`, { recursive: true });
  rmSync(`${merged}/opt`, { recursive: true });
  mkdirSync(`${merged}/opt`);
  writeFileSync(`${merged}/opt/fresh`, 'fresh');
  writeFileSync(`${merged}/usr/share/doc/new`, 'more doc');
  mkdirSync(`${merged}/newdir/sub`, { recursive: true });
  writeFileSync(`${merged}/newdir/sub/f`, 'f');
  // Reading a directory bumps its atime (relatime: atime older than mtime), so a walk would show.
  utimesSync(`${l2}/huge`, 1000, 2000);
  return { base, lowers: [l1, l2], upper, merged };
}

const EXPECTED = [
  'M /bin/tool',
  'M /etc/conf',
  'A /new-file',
  'A /newdir',
  'A /newdir/sub',
  'A /newdir/sub/f',
  'D /old-file',
  'A /opt/fresh',
  'D /opt/tool',
  'A /usr/share/doc/new',
  'D /var/cache',
];

describe('overlayChanges (upperdir differ)', () => {
  test('finds the changes of a kernel overlay upper dir without walking the lower layers', async () => {
    const { lowers, upper } = layeredImage();
    expect(lstatSync(`${upper}/opt`).isDirectory()).toBe(true);
    expect(list(await overlayChanges(upper, lowers))).toEqual(EXPECTED);
    await collect(overlayDiff(upper, lowers));
    expect(lstatSync(`${lowers[1]}/huge`).atimeMs).toBe(1_000_000);
    // The probe works: listing the directory does move its atime.
    readdirSync(`${lowers[1]}/huge`);
    expect(lstatSync(`${lowers[1]}/huge`).atimeMs).not.toBe(1_000_000);
  });

  test('with reportParents, every directory above a change is a modify, as containers/storage reports', async () => {
    const { lowers, upper } = layeredImage();
    const got = list(await overlayChanges(upper, lowers, { reportParents: true }));
    const parents = ['M /bin', 'M /etc', 'M /opt', 'M /usr', 'M /usr/share', 'M /usr/share/doc', 'M /var'];
    expect(got).toEqual([...EXPECTED, ...parents].sort((a, b) => a.slice(2).localeCompare(b.slice(2))));
  });

  test('overlayDiff and tarDirectory({overlay}) both rebuild the same container view', async () => {
    const { base, lowers, upper, merged } = layeredImage();
    const want = snapshot(merged);
    expect(Object.keys(want)).toEqual(expect.arrayContaining(['etc/conf', 'opt/fresh', 'newdir/sub/f', 'huge/f49']));
    expect(Object.keys(want)).not.toEqual(expect.arrayContaining(['old-file']));
    const diffs = {
      overlayDiff: await collect(overlayDiff(upper, lowers)),
      tarDirectory: await collect(tarDirectory(upper, { overlay: true, lowerDirs: lowers })),
    };
    for (const [name, tar] of Object.entries(diffs)) {
      const upper2 = `${base}/${name}-upper`;
      mkdirSync(upper2);
      await apply(upper2, tar, { whiteoutFormat: 'overlay' });
      const merged2 = `${base}/${name}-merged`;
      mountOverlay(merged2, lowers, upper2, `${base}/${name}-work`);
      expect(snapshot(merged2), name).toEqual(want);
    }
  });

  test('the layers as tars, applied in the naive format, give the same tree as the mount', async () => {
    const { base, lowers, upper, merged } = layeredImage();
    const flat = `${base}/flat`;
    mkdirSync(flat);
    await apply(flat, await collect(tarDirectory(lowers[1]!)), { whiteoutFormat: 'naive' });
    await apply(flat, await collect(tarDirectory(lowers[0]!, { overlay: true, lowerDirs: [lowers[1]!] })), { whiteoutFormat: 'naive' });
    await apply(flat, await collect(overlayDiff(upper, lowers)), { whiteoutFormat: 'naive' });
    expect(snapshot(flat)).toEqual(snapshot(merged));
  });

  test('reads fuse-overlayfs style upper dirs: .wh. files, .wh..wh..opq markers and user xattrs', async () => {
    const base = tempDir();
    const [lower, upper] = [`${base}/lower`, `${base}/upper`];
    mkdirSync(`${lower}/etc`, { recursive: true });
    mkdirSync(`${lower}/lib/old`, { recursive: true });
    writeFileSync(`${lower}/etc/gone`, 'x');
    writeFileSync(`${lower}/lib/old/so`, 'x');
    mkdirSync(`${upper}/etc`, { recursive: true });
    writeFileSync(`${upper}/etc/.wh.gone`, '');
    writeFileSync(`${upper}/etc/.wh.never-there`, '');
    mkdirSync(`${upper}/lib/new`, { recursive: true });
    writeFileSync(`${upper}/lib/.wh..wh..opq`, '');
    writeFileSync(`${upper}/lib/new/so`, 'y');
    mkdirSync(`${upper}/var`);
    lsetxattr(`${upper}/var`, 'user.fuseoverlayfs.opaque', 'y');
    expect(list(await overlayChanges(upper, [lower]))).toEqual(['D /etc/gone', 'A /lib/new', 'A /lib/new/so', 'D /lib/old', 'A /var']);
  });

  test('a directory whose mtime alone changed is a modify with reportParents (containers/storage), not without (buildkit)', async () => {
    const base = tempDir();
    const [lower, upper] = [`${base}/lower`, `${base}/upper`];
    mkdirSync(`${lower}/tmp`, { recursive: true });
    mkdirSync(`${upper}/tmp`, { recursive: true });
    utimesSync(`${lower}/tmp`, 1_600_000_000, 1_600_000_000);
    utimesSync(`${upper}/tmp`, 1_600_000_080, 1_600_000_080);
    expect(list(await overlayChanges(upper, [lower]))).toEqual([]);
    expect(list(await overlayChanges(upper, [lower], { reportParents: true }))).toEqual(['M /tmp']);
    // The same second with the nanoseconds cut off by a tar round trip is the same time.
    utimesSync(`${lower}/tmp`, 1_600_000_080.5, 1_600_000_080.5);
    expect(list(await overlayChanges(upper, [lower], { reportParents: true }))).toEqual([]);
  });

  test('a directory reported because it changed mode is kept; unchanged parents are not', async () => {
    const base = tempDir();
    const [lower, upper] = [`${base}/lower`, `${base}/upper`];
    mkdirSync(`${lower}/a/b`, { recursive: true });
    mkdirSync(`${upper}/a/b`, { recursive: true });
    chmodSync(`${upper}/a/b`, 0o700);
    writeFileSync(`${upper}/a/b/c`, 'c');
    expect(list(await overlayChanges(upper, [lower]))).toEqual(['M /a/b', 'A /a/b/c']);
  });
});
