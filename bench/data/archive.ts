/**
 * The archive dataset: a ~500 MB layer of many small files and a few big ones (with symlinks, a
 * hardlink and AUFS-style whiteouts, as image layers carry), kept both as a tree and as a tar.
 */
import { spawnSync } from 'node:child_process';
import { linkSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MiB, TreeWriter, makeDirs, pick, randomPool, realisticSize, rng, scaled, writeBigFile } from './tree.js';

export interface ArchiveManifest {
  /** The layer as a directory (input of the diff workloads). */
  tree: string;
  tar: string;
  tarBytes: number;
  files: number;
}

export function buildArchive(root: string, scale: number): ArchiveManifest {
  const rand = rng(0xa7c);
  const w = new TreeWriter(randomPool(5), rand);
  const tree = join(root, 'tree');
  const dirs = makeDirs(rand, scaled(1200, scale, 10));
  const small = scaled(20_000, scale, 20);
  for (let i = 0; i < small; i++) w.file(join(tree, pick(rand, dirs), `f${i}`), realisticSize(rand) % (48 * 1024));
  const bigBytes = Math.max(256 * 1024, Math.round(48 * scale * MiB));
  for (let i = 0; i < 7; i++) writeBigFile(join(tree, 'opt/blobs', `blob${i}.bin`), bigBytes, randomPool(10 + i));
  for (let i = 0; i < scaled(200, scale, 2); i++) {
    const dir = pick(rand, dirs);
    w.mkdir(join(tree, dir));
    symlinkSync(`../f${i}`, join(tree, dir, `link${i}`));
  }
  linkSync(join(tree, 'opt/blobs/blob0.bin'), join(tree, 'opt/blobs/blob0.hardlink'));
  // Deletions of files from a parent layer and one opaque directory, in the tar's AUFS spelling.
  for (let i = 0; i < 10; i++) writeFileSync(join(tree, dirs[i % dirs.length]!, `.wh.gone${i}`), '');
  w.mkdir(join(tree, 'var/cache/opaque'));
  writeFileSync(join(tree, 'var/cache/opaque/.wh..wh..opq'), '');

  const tar = join(root, 'layer.tar');
  // GNU format: no per-file extended headers, like the Go-written tars of real images.
  const r = spawnSync('tar', ['--format=gnu', '--sort=name', '--numeric-owner', '--owner=0', '--group=0', '-C', tree, '-cf', tar, ...readdirSync(tree).sort()], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar of ${tree} failed: ${r.stderr}`);
  return { tree, tar, tarBytes: statSync(tar).size, files: small + 7 };
}
