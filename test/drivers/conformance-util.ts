/**
 * Layer helpers for the driver conformance suite, ported in behaviour from containers/storage
 * drivers/graphtest (testutil.go, testutil_unix.go). Every helper mounts with get and
 * releases with put, so drivers that really mount are exercised the way callers use them.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Change, Driver } from '../../src/driver.js';

export const defaultPerms = 0o555;
export const modifiedPerms = 0o711;
export const defaultSubdirPerms = 0o705;
export const defaultSubdirOwner = 1;
export const defaultSubdirGroup = 2;
export const defaultFilePerms = 0o222;
const S_ISUID = 0o4000;
const S_ISVTX = 0o1000;

/** A random 64-hex layer ID, as stringid.GenerateRandomID. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

/** Deterministic bytes for a seed (xorshift32), so a file's expected content can be recomputed. */
export function randomContent(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = (seed * 2654435761 + 1) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Runs fn on the mounted layer and puts it back whatever happens. */
export async function withLayer<T>(driver: Driver, id: string, fn: (root: string) => T | Promise<T>): Promise<T> {
  const root = await driver.get(id, {});
  try {
    return await fn(root);
  } finally {
    await driver.put(id);
  }
}

/** Entries of dir, hiding ext4's lost+found as graphtest's readDir does. */
export function readDirVisible(dir: string): string[] {
  return readdirSync(dir).filter((n) => n !== 'lost+found');
}

export function verifyFile(path: string, type: 'dir' | 'file', perm: number, uid: number, gid: number): void {
  const st = statSync(path);
  expect(st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other', path).toBe(type);
  expect((st.mode & 0o7777).toString(8), `mode of ${path}`).toBe(perm.toString(8));
  expect({ uid: st.uid, gid: st.gid }, `owner of ${path}`).toEqual({ uid, gid });
}

/** A read-write layer holding a sticky subdir owned 1:2 and a setuid file, as graphtest's createBase. */
export async function createBase(driver: Driver, id: string): Promise<void> {
  await driver.createReadWrite(id, '');
  await withLayer(driver, id, (root) => {
    const subdir = join(root, 'a subdir');
    mkdirSync(subdir);
    // Explicit chmod: mkdir and open are subject to the umask, graphtest clears it instead.
    chmodSync(subdir, defaultSubdirPerms | S_ISVTX);
    chownSync(subdir, defaultSubdirOwner, defaultSubdirGroup);
    const file = join(root, 'a file');
    writeFileSync(file, 'Some data');
    chmodSync(file, defaultFilePerms | S_ISUID);
  });
}

export async function verifyBase(driver: Driver, id: string, rootPerm: number): Promise<void> {
  await withLayer(driver, id, (root) => {
    verifyFile(root, 'dir', rootPerm, 0, 0);
    verifyFile(join(root, 'a subdir'), 'dir', defaultSubdirPerms | S_ISVTX, defaultSubdirOwner, defaultSubdirGroup);
    verifyFile(join(root, 'a file'), 'file', defaultFilePerms | S_ISUID, 0, 0);
    expect(readDirVisible(root).sort()).toEqual(['a file', 'a subdir']);
  });
}

export function addFile(driver: Driver, id: string, name: string, content: Buffer | string): Promise<void> {
  return withLayer(driver, id, (root) => writeFileSync(join(root, name), content, { mode: 0o755 }));
}

export async function checkFile(driver: Driver, id: string, name: string, content: Buffer | string): Promise<void> {
  const actual = await withLayer(driver, id, (root) => readFileSync(join(root, name)));
  expect(actual.equals(Buffer.from(content)), `content of ${name} in ${id}`).toBe(true);
}

export function addDirectory(driver: Driver, id: string, dir: string): Promise<void> {
  return withLayer(driver, id, (root) => void mkdirSync(join(root, dir), { recursive: true, mode: 0o755 }));
}

export function removeAll(driver: Driver, id: string, ...names: string[]): Promise<void> {
  return withLayer(driver, id, (root) => {
    for (const n of names) rmSync(join(root, n), { recursive: true, force: true });
  });
}

export async function checkFileRemoved(driver: Driver, id: string, name: string): Promise<void> {
  await withLayer(driver, id, (root) => expect(() => statSync(join(root, name))).toThrow(/ENOENT/));
}

/** `count` 64-byte files in directory-<i> folders of 100, seeded by seed+index. */
export function addManyFiles(driver: Driver, id: string, count: number, seed: number): Promise<void> {
  return withLayer(driver, id, (root) => {
    for (let i = 0; i < count; i += 100) {
      const dir = join(root, `directory-${i}`);
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      for (let j = 0; i + j < count && j < 100; j++) {
        writeFileSync(join(dir, `file-${i + j}`), randomContent(64, seed + i + j), { mode: 0o755 });
      }
    }
  });
}

export function checkManyFiles(driver: Driver, id: string, count: number, seed: number): Promise<void> {
  return withLayer(driver, id, (root) => {
    for (let i = 0; i < count; i += 100) {
      for (let j = 0; i + j < count && j < 100; j++) {
        const rel = `directory-${i}/file-${i + j}`;
        const ok = readFileSync(join(root, rel)).equals(randomContent(64, seed + i + j));
        expect(ok, `content of ${rel} (seed ${seed})`).toBe(true);
      }
    }
  });
}

/** Modifies, adds and deletes files in turn and returns the changes that must be reported. */
export function changeManyFiles(driver: Driver, id: string, count: number, seed: number): Promise<Change[]> {
  return withLayer(driver, id, (root) => {
    const changes: Change[] = [];
    for (let i = 0; i < count; i += 100) {
      const dir = `/directory-${i}`;
      mkdirSync(join(root, dir), { recursive: true, mode: 0o755 });
      changes.push({ path: dir, kind: 'modify' });
      for (let j = 0; i + j < count && j < 100; j++) {
        const n = i + j;
        switch (j % 3) {
          case 0: {
            const path = `${dir}/file-${n}`;
            const before = statSync(join(root, path), { bigint: true }).mtimeNs;
            // Same size: only a new mtime tells the change apart, so wait for the clock to tick.
            do writeFileSync(join(root, path), randomContent(64, seed + n), { mode: 0o755 });
            while (statSync(join(root, path), { bigint: true }).mtimeNs === before);
            changes.push({ path, kind: 'modify' });
            break;
          }
          case 1: {
            const path = `${dir}/file-${seed}-${n}`;
            writeFileSync(join(root, path), randomContent(64, seed + n), { mode: 0o755 });
            changes.push({ path, kind: 'add' });
            break;
          }
          default: {
            const path = `${dir}/file-${n}`;
            rmSync(join(root, path));
            changes.push({ path, kind: 'delete' });
          }
        }
      }
    }
    return changes;
  });
}

/** Compares change lists as sets, like testify's ElementsMatch. */
export function expectChanges(actual: Change[], expected: Change[]): void {
  const key = (c: Change): string => `${c.path}\0${c.kind}`;
  const norm = (cs: Change[]): Change[] =>
    cs.map((c) => ({ path: c.path, kind: c.kind })).sort((a, b) => (key(a) < key(b) ? -1 : 1));
  expect(norm(actual)).toEqual(norm(expected));
}

/** Each layer writes top-id and layer-<i>/{layer-id,parent-id}, so the top shows the whole chain. */
export async function addManyLayers(driver: Driver, base: string, count: number): Promise<string> {
  let last = base;
  for (let i = 1; i <= count; i++) {
    const next = newId();
    await driver.create(next, last);
    await withLayer(driver, next, (root) => {
      writeFileSync(join(root, 'top-id'), next);
      const layerDir = join(root, `layer-${i}`);
      mkdirSync(layerDir, { recursive: true, mode: 0o755 });
      writeFileSync(join(layerDir, 'layer-id'), next);
      writeFileSync(join(layerDir, 'parent-id'), last);
    });
    last = next;
  }
  return last;
}

export function checkManyLayers(driver: Driver, top: string, count: number): Promise<void> {
  return withLayer(driver, top, (root) => {
    let expected = readFileSync(join(root, 'top-id'), 'utf8');
    expect(expected).toBe(top);
    for (let i = count; i > 0; i--) {
      const layerDir = join(root, `layer-${i}`);
      expect(readFileSync(join(layerDir, 'layer-id'), 'utf8'), `layer-${i}/layer-id`).toBe(expected);
      expected = readFileSync(join(layerDir, 'parent-id'), 'utf8');
    }
  });
}
