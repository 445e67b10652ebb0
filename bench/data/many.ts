/**
 * Datasets that stress counts rather than bytes: 100k small files over four layers (inode-table
 * memory during a full walk), and 128 thin layers (per-layer lookup cost and mount-time setup).
 */
import { join } from 'node:path';
import { TreeWriter, randomPool, rng, scaled } from './tree.js';

export interface ManyManifest {
  lowers: string[];
  fileCount: number;
}

/** File `i` of a wide tree: 50 files a directory, directories two levels deep. */
export function wideName(i: number): string {
  const dir = Math.floor(i / 50);
  return join(`d${dir % 40}`, `s${dir}`, `f${i}`);
}

export function buildWalk100k(root: string, scale: number): ManyManifest {
  const rand = rng(0x100c);
  const w = new TreeWriter(randomPool(3, 64 * 1024), rand);
  const total = scaled(100_000, scale, 100);
  const layers = 4;
  const bottomUp = Array.from({ length: layers }, (_, l) => join(root, `layer${l}`));
  // Layers interleave file numbers so every directory is merged from all four layers.
  for (let i = 0; i < total; i++) w.file(join(bottomUp[i % layers]!, wideName(i)), rand() < 0.3 ? 0 : Math.floor(rand() * 2048));
  return { lowers: [...bottomUp].reverse(), fileCount: total };
}

export function buildLayers128(root: string, scale: number): ManyManifest {
  const rand = rng(0x128);
  const w = new TreeWriter(randomPool(4, 64 * 1024), rand);
  const layers = 128;
  const perLayer = scaled(32, scale, 2);
  const bottomUp = Array.from({ length: layers }, (_, l) => join(root, `l${String(l).padStart(3, '0')}`));
  for (let l = 0; l < layers; l++) {
    // The same 16 directories in every layer, so each lookup has to consult many layers.
    for (let i = 0; i < perLayer; i++) w.file(join(bottomUp[l]!, `usr/share/d${i % 16}`, `l${l}f${i}`), Math.floor(rand() * 4096));
    w.file(join(bottomUp[l]!, 'etc/version'), 16);
  }
  return { lowers: [...bottomUp].reverse(), fileCount: layers * perLayer + 1 };
}
