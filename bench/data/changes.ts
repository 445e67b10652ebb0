/**
 * The changes dataset: one upper directory (modified, added and whited-out files and one opaque
 * directory) over a lower of N files and over a lower of 10×N files holding the same first N. A
 * differ that walks only the upper should take the same time over both.
 */
import { readdirSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { wideName } from './many.js';
import { TreeWriter, makeOpaque, makeWhiteouts, randomPool, rng, sample, scaled } from './tree.js';

const FIXED_TIME = new Date('2024-01-01T00:00:00Z');

function setDirTimes(root: string, time: Date): void {
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (e.isDirectory()) utimesSync(join(e.parentPath, e.name), time, time);
  }
  utimesSync(root, time, time);
}

export interface ChangesManifest {
  upper: string;
  /** Lower with N files, and with 10×N. */
  lower1x: string;
  lower10x: string;
  lowerFiles1x: number;
  /** Entries the upper changes (for a sanity check of the differ's output size). */
  upperEntries: number;
}

export function buildChanges(root: string, scale: number): ChangesManifest {
  const rand = rng(0xc4a9);
  const w = new TreeWriter(randomPool(6, 64 * 1024), rand);
  const n = scaled(10_000, scale, 50);
  const lower1x = join(root, 'lower1x');
  const lower10x = join(root, 'lower10x');
  for (let i = 0; i < 10 * n; i++) {
    const size = Math.floor(rand() * 512);
    if (i < n) w.file(join(lower1x, wideName(i)), size);
    w.file(join(lower10x, wideName(i)), size);
  }

  const upper = join(root, 'upper');
  const existing = Array.from({ length: n }, (_, i) => i);
  const [modified, deleted] = [scaled(300, scale, 3), scaled(100, scale, 1)];
  const touched = sample(rand, existing, modified + deleted);
  for (const i of touched.slice(0, modified)) w.file(join(upper, wideName(i)), 700);
  for (let i = 0; i < scaled(300, scale, 3); i++) w.file(join(upper, dirname(wideName(i * 7 % n)), `new${i}`), 300);
  makeWhiteouts(touched.slice(modified).map((i) => join(upper, wideName(i))));
  // A directory replaced wholesale (rm -rf then recreate) is opaque in the upper.
  const opaque = join(upper, dirname(wideName(0)));
  for (let i = 0; i < 3; i++) w.file(join(opaque, `fresh${i}`), 100);
  makeOpaque(opaque);
  // One fixed time on every directory of all three trees: copied-up parents then look unchanged,
  // as after a kernel copy-up, and both lowers compare alike.
  for (const tree of [lower1x, lower10x, upper]) setDirTimes(tree, FIXED_TIME);
  return { upper, lower1x, lower10x, lowerFiles1x: n, upperEntries: modified + deleted + scaled(300, scale, 3) + 3 };
}
