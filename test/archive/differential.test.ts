/**
 * Differential test against Debian's containers-storage 1.43: the same layer chains imported
 * into its store and into strata's, per driver (vfs with vfs, overlay with overlay), must give
 * the same `changes`, the same `diff` entries and the same `diffsize` for every layer.
 *
 * containers-storage's diff replays the tar it imported (tar-split) when it has one; the
 * helper removes that record so its driver computes the diff, as strata's always does.
 * Where strata departs from 1.43 on purpose, the test pins both sides' behaviour and says why.
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import '../../src/drivers.js';
import { Store } from '../../src/store/store.js';
import { Compression } from '../../src/store/types.js';
import { tempDir } from '../helpers/tmp.js';
import { fileToDir, nestedWhiteout, richChain, WHITEOUT_MTIME, type LayerChain } from './fixtures/differential-layers.js';
import { GoStore, haveGoCli, tarEntries, type EntryRecord } from './fixtures/go-storage.js';

interface LayerResult {
  changes: string[];
  entries: EntryRecord[];
  size: number;
}

const changeText = (c: { kind: string; path: string }): string => `${c.kind} ${c.path}`;
const byPath = (a: string, b: string): number => Buffer.compare(Buffer.from(a.slice(a.indexOf(' '))), Buffer.from(b.slice(b.indexOf(' '))));
/** containers-storage's naive differ lists changes in map order; strata sorts them by path. */
const goChanges = (go: GoStore, id: string): string[] => go.changes(id).map(changeText).sort(byPath);

function goImport(root: string, driver: string, chain: LayerChain): { go: GoStore; ids: string[] } {
  const go = new GoStore(join(root, `go-${driver}`), driver);
  const ids: string[] = [];
  chain.layers.forEach((tar, i) => ids.push(go.importLayer(tar, ids[i - 1], `${chain.name}-${i}`)));
  return { go, ids };
}

async function goResult(go: GoStore, id: string): Promise<LayerResult> {
  return { changes: goChanges(go, id), entries: await tarEntries(go.driverDiff(id)), size: go.diffSize(id) };
}

async function strataImport(root: string, driver: string, chain: LayerChain): Promise<{ store: Store; ids: string[] }> {
  const store = await Store.open({ graphRoot: join(root, `st-${driver}`, 'g'), runRoot: join(root, `st-${driver}`, 'r'), driver });
  const ids: string[] = [];
  for (const [i, tar] of chain.layers.entries()) {
    const { layer } = await store.putLayer({ parent: ids[i - 1], names: [`${chain.name}-${i}`] }, Readable.from([tar]));
    ids.push(layer.id);
  }
  return { store, ids };
}

async function strataResult(store: Store, id: string): Promise<LayerResult> {
  const parts: Buffer[] = [];
  for await (const c of await store.diff('', id, { compression: Compression.Uncompressed })) parts.push(c as Buffer);
  return {
    changes: (await store.changes('', id)).map(changeText),
    entries: await tarEntries(Buffer.concat(parts)),
    size: await store.diffSize('', id),
  };
}

const isWhiteout = (name: string): boolean => /(^|\/)\.wh\.(?!\.wh\.)/.test(name);

/**
 * Checks the mtimes that depend on when the test ran, then blanks them:
 * - whiteout entries, the one field the diffs disagree on by design. containers-storage stamps
 *   them with the current time (naive ExportChanges) or with the time it created the overlay
 *   whiteout device; strata writes 0 (naive) or keeps the whiteout entry's own time on the
 *   device, so diffing a layer twice, or diffing what was imported, gives the same bytes;
 * - directories both sides created or changed while importing (implied parents, a vfs copy
 *   that lost an entry), whose mtimes are "now" on both sides.
 */
function settleTimes(go: EntryRecord[], st: EntryRecord[], strataWhiteoutTime: number, since: number): void {
  for (const e of go.filter((x) => isWhiteout(x.name))) {
    expect(e.mtime, `containers-storage whiteout ${e.name}`).toBeGreaterThanOrEqual(since);
    e.mtime = -1;
  }
  for (const e of st.filter((x) => isWhiteout(x.name))) {
    expect(e.mtime, `strata whiteout ${e.name}`).toBe(strataWhiteoutTime);
    e.mtime = -1;
  }
  const fresh = new Set(go.filter((e) => e.type === 'directory' && e.mtime >= since).map((e) => e.name));
  for (const e of [...go, ...st]) if (e.type === 'directory' && e.mtime >= since && fresh.has(e.name)) e.mtime = -2;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

describe.skipIf(!haveGoCli)('layer changes and diffs against containers-storage 1.43', () => {
  it('vfs: every layer of every chain has the same changes, diff entries and diff size', async () => {
    const since = nowSeconds();
    for (const chain of [richChain, fileToDir]) {
      const root = tempDir();
      const { go, ids: goIDs } = goImport(root, 'vfs', chain);
      const { store, ids: stIDs } = await strataImport(root, 'vfs', chain);
      for (let i = 0; i < chain.layers.length; i++) {
        const want = await goResult(go, goIDs[i]!);
        const got = await strataResult(store, stIDs[i]!);
        const where = `${chain.name} layer ${i}`;
        expect(want.changes.length, where).toBeGreaterThan(0);
        expect(got.changes, where).toEqual(want.changes);
        settleTimes(want.entries, got.entries, 0, since);
        expect(got.entries, where).toEqual(want.entries);
        expect(got.size, where).toBe(want.size);
      }
    }
  }, 60_000);

  it('overlay: the same diffs and sizes; the same changes but for two documented cases', async () => {
    const since = nowSeconds();
    const chain = richChain;
    const root = tempDir();
    const { go, ids: goIDs } = goImport(root, 'overlay', chain);
    const { go: goVfs, ids: vfsIDs } = goImport(root, 'vfs', chain);
    const { store, ids: stIDs } = await strataImport(root, 'overlay', chain);
    // What containers-storage 1.43's OverlayChanges says that strata's does not, per layer.
    const goOnly: string[][] = [
      [],
      // A whiteout of a name no lower layer has deletes nothing: the naive differ (vfs) and
      // strata leave it out, OverlayChanges reports it.
      // An opaque directory: OverlayChanges reports it deleted (then its new contents added);
      // strata reports what the naive differ sees, the directory modified and what it hides deleted.
      ['delete /etc/never-existed', 'delete /opq'],
      [],
    ];
    const strataOnly: string[][] = [[], ['modify /opq', 'delete /opq/a', 'delete /opq/sub'], []];
    for (let i = 0; i < chain.layers.length; i++) {
      const want = await goResult(go, goIDs[i]!);
      const got = await strataResult(store, stIDs[i]!);
      const where = `${chain.name} layer ${i}`;
      expect(want.changes.filter((c) => !got.changes.includes(c)), where).toEqual(goOnly[i]);
      expect(got.changes.filter((c) => !want.changes.includes(c)), where).toEqual(strataOnly[i]);
      // Otherwise strata's upperdir differ agrees with the naive one (containers-storage's vfs),
      // but where containers-storage's two differs disagree with each other: OverlayChanges
      // reports a directory whose mtime alone changed (/tmp), the naive differ does not.
      const naive = goChanges(goVfs, vfsIDs[i]!);
      expect(got.changes, where).toEqual(i === 2 ? [...naive, 'modify /tmp'].sort(byPath) : naive);
      settleTimes(want.entries, got.entries, WHITEOUT_MTIME, since);
      expect(got.entries, where).toEqual(want.entries);
      expect(got.size, where).toBe(want.size);
    }
  }, 60_000);

  it('a file replaced by a directory: containers-storage overlay cannot list the changes, strata can', async () => {
    const root = tempDir();
    const { go, ids: goIDs } = goImport(root, 'overlay', fileToDir);
    const { go: goVfs, ids: vfsIDs } = goImport(root, 'vfs', fileToDir);
    const { store, ids: stIDs } = await strataImport(root, 'overlay', fileToDir);
    // 1.43's OverlayChanges stats x/inside in the lower layer, where x is a file: ENOTDIR is fatal.
    const failed = go.run(['changes', goIDs[1]!]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('/x/inside: not a directory');
    const want = goChanges(goVfs, vfsIDs[1]!);
    expect(want).toEqual(['modify /x', 'add /x/inside']);
    const got = await strataResult(store, stIDs[1]!);
    expect(got.changes).toEqual(want);
    expect(got.entries).toEqual(await tarEntries(go.driverDiff(goIDs[1]!)));
  }, 60_000);

  it('a whiteout inside a directory the same layer deletes: strata keeps it deleted, containers-storage vfs brings it back empty', async () => {
    const since = nowSeconds();
    const root = tempDir();
    const { go: goVfs, ids: vfsIDs } = goImport(root, 'vfs', nestedWhiteout);
    const { go: goOverlay, ids: ovIDs } = goImport(root, 'overlay', nestedWhiteout);
    const { store: stVfs, ids: stVfsIDs } = await strataImport(root, 'vfs', nestedWhiteout);
    const { store: stOverlay, ids: stOvIDs } = await strataImport(root, 'overlay', nestedWhiteout);
    // `.wh.nested` then `nested/inner/.wh.file`: 1.43's UnpackLayer re-creates the missing
    // parents of the second whiteout, so `nested` comes back as empty directories.
    expect((await goResult(goVfs, vfsIDs[1]!)).changes).toEqual([
      'modify /nested',
      'modify /nested/inner',
      'delete /nested/inner/file',
      'delete /nested/other',
    ]);
    // Its overlay driver, and strata with either driver, keep the directory deleted.
    const want = await goResult(goOverlay, ovIDs[1]!);
    expect(want.changes).toEqual(['delete /nested']);
    for (const [store, id, time] of [
      [stVfs, stVfsIDs[1]!, 0],
      [stOverlay, stOvIDs[1]!, WHITEOUT_MTIME],
    ] as const) {
      const got = await strataResult(store, id);
      const goEntries = structuredClone(want.entries);
      settleTimes(goEntries, got.entries, time, since);
      expect(got.changes).toEqual(want.changes);
      expect(got.entries).toEqual(goEntries);
    }
  }, 60_000);
});
