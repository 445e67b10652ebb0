/**
 * The main mount dataset: five lower layers of a root filesystem (about 4000 merged files, a few
 * directories deep, real-world sizes), later layers overwriting and whiting out earlier files, plus
 * one 512 MiB file in the bottom layer for the big read and copy-up workloads.
 */
import { join } from 'node:path';
import { MiB, TreeWriter, makeDirs, makeWhiteouts, pick, randomPool, realisticSize, rng, sample, scaled, writeBigFile } from './tree.js';

export const LAYER_COUNT = 5;

export interface LowersManifest {
  /** Layer directories, top first (lowerdir= order). */
  lowers: string[];
  /** Every regular file the merged view shows, relative, sorted; includes the big file. */
  files: string[];
  /** Every directory the merged view shows, relative. */
  dirs: string[];
  big: { path: string; bytes: number };
  /** A directory spread over two layers, renamed by the rename workload. */
  renameDir: string;
  /** Lower files the rm workload deletes. */
  rmList: string[];
  /** Existing directories the create workload writes into, and how many files each gets. */
  createDirs: string[];
  createPerDir: number;
}

export function buildLowers(root: string, scale: number): LowersManifest {
  const rand = rng(0x5eed01);
  const w = new TreeWriter(randomPool(1), rand);
  const lowersBottomUp = Array.from({ length: LAYER_COUNT }, (_, i) => join(root, `layer${i}`));
  const dirs = makeDirs(rand, scaled(500, scale, 10));
  const merged = new Map<string, number>(); // relative path → layer index that provides it

  const add = (layer: number, rel: string, size: number): void => {
    w.file(join(lowersBottomUp[layer]!, rel), size);
    merged.set(rel, layer);
  };

  // Bottom layer: the base image.
  for (let i = 0; i < scaled(2400, scale, 20); i++) add(0, join(pick(rand, dirs), `f${i}`), realisticSize(rand));
  const bigBytes = Math.max(MiB, Math.round((512 * scale)) * MiB);
  const bigPath = 'var/lib/big.img';
  writeBigFile(join(lowersBottomUp[0]!, bigPath), bigBytes, randomPool(2));
  merged.set(bigPath, 0);

  // A package tree split over layers 1 and 3, like a dependency install and a later upgrade.
  const renameDir = 'srv/app/node_modules';
  const pkgFiles = scaled(300, scale, 6);
  for (let i = 0; i < pkgFiles; i++) add(1, join(renameDir, `pkg${i % 37}`, i % 3 === 0 ? 'lib' : '', `m${i}.js`), realisticSize(rand) % (16 * 1024));
  for (let i = 0; i < pkgFiles; i += 5) add(3, join(renameDir, `pkg${i % 37}`, `m${i}-patch.js`), 900);

  // Layers 1–4: new files, rewritten files and deletions, as successive image builds make.
  for (let layer = 1; layer < LAYER_COUNT; layer++) {
    for (let i = 0; i < scaled(400, scale, 4); i++) add(layer, join(pick(rand, dirs), `l${layer}n${i}`), realisticSize(rand));
    const replaceable = [...merged.keys()].filter((p) => p !== bigPath && !p.startsWith(renameDir));
    for (const rel of sample(rand, replaceable, scaled(100, scale, 2))) add(layer, rel, realisticSize(rand));
    const doomed = sample(rand, replaceable, scaled(20, scale, 1)).filter((p) => merged.get(p)! < layer);
    makeWhiteouts(doomed.map((rel) => join(lowersBottomUp[layer]!, rel)));
    for (const rel of doomed) merged.delete(rel);
  }

  const files = [...merged.keys()].sort();
  const mergedDirs = new Set<string>();
  for (const f of files) for (let d = f; d.includes('/'); ) mergedDirs.add((d = d.slice(0, d.lastIndexOf('/'))));
  const candidates = files.filter((p) => p !== bigPath && !p.startsWith(renameDir));
  const createDirs = sample(rand, dirs.filter((d) => mergedDirs.has(d)), 50).sort();
  return {
    lowers: [...lowersBottomUp].reverse(),
    files,
    dirs: [...mergedDirs].sort(),
    big: { path: bigPath, bytes: bigBytes },
    renameDir,
    rmList: sample(rand, candidates, scaled(2000, scale, 2)).sort(),
    createDirs,
    createPerDir: Math.max(1, Math.round(scaled(5000, scale, 10) / createDirs.length)),
  };
}
