/**
 * Building blocks for synthetic layer trees: a seeded random source (so every machine builds the same
 * data), file sizes shaped like a real root filesystem, and fast writers for small and big files.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const MiB = 1024 * 1024;

/** mulberry32: tiny, fast and good enough to pick sizes and names reproducibly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

/** Picks `n` distinct items (or all when there are fewer), in a reproducible order. */
export function sample<T>(rand: () => number, items: readonly T[], n: number): T[] {
  const copy = [...items];
  const out: T[] = [];
  while (out.length < n && copy.length > 0) out.push(copy.splice(Math.floor(rand() * copy.length), 1)[0]!);
  return out;
}

/** Scaled count, never below `min` so tiny smoke runs still exercise every path. */
export function scaled(n: number, scale: number, min = 1): number {
  return Math.max(min, Math.round(n * scale));
}

/**
 * A file size as found in a distribution image: mostly small configs and scripts, a tail of
 * libraries. Mean about 34 KiB.
 */
export function realisticSize(rand: () => number): number {
  const r = rand();
  const between = (lo: number, hi: number): number => Math.floor(lo + rand() * (hi - lo));
  if (r < 0.4) return between(0, 1024);
  if (r < 0.75) return between(1024, 8 * 1024);
  if (r < 0.93) return between(8 * 1024, 64 * 1024);
  if (r < 0.99) return between(64 * 1024, 512 * 1024);
  return between(512 * 1024, 2 * MiB);
}

/** Random bytes to slice file contents from (4 MiB: larger than any small file). */
export function randomPool(seed: number, bytes = 4 * MiB): Buffer {
  const rand = rng(seed);
  const buf = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i += 4) buf.writeUInt32LE(Math.floor(rand() * 4294967296), i);
  return buf;
}

export class TreeWriter {
  private readonly made = new Set<string>();

  constructor(
    private readonly pool: Buffer,
    private readonly rand: () => number,
  ) {}

  mkdir(dir: string): void {
    if (this.made.has(dir)) return;
    mkdirSync(dir, { recursive: true });
    this.made.add(dir);
  }

  /** A file of `size` bytes sliced from the pool at a random offset. */
  file(path: string, size: number): void {
    this.mkdir(dirname(path));
    const off = Math.floor(this.rand() * (this.pool.length - size));
    writeFileSync(path, this.pool.subarray(off, off + size));
  }
}

/** A large file written 1 MiB at a time, each block stamped with its index so no two are alike. */
export function writeBigFile(path: string, bytes: number, pool: Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  try {
    const block = Buffer.from(pool.subarray(0, MiB));
    for (let off = 0, i = 0; off < bytes; off += MiB, i++) {
      block.writeUInt32LE(i, 0);
      writeSync(fd, block, 0, Math.min(MiB, bytes - off));
    }
  } finally {
    closeSync(fd);
  }
}

/** Overlay whiteouts (character devices 0/0), made in one shell so hundreds cost one spawn. */
export function makeWhiteouts(paths: readonly string[]): void {
  if (paths.length === 0) return;
  for (const p of paths) mkdirSync(dirname(p), { recursive: true });
  const r = spawnSync('bash', ['-c', 'for p; do mknod "$p" c 0 0; done', 'wh', ...paths], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mknod of ${paths.length} whiteouts failed: ${r.stderr}`);
}

/** Marks an upper directory opaque the way the kernel and fuse-overlayfs read it. */
export function makeOpaque(dir: string): void {
  const r = spawnSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`setfattr trusted.overlay.opaque on ${dir} failed: ${r.stderr}`);
}

const WORDS = ['lib', 'share', 'bin', 'conf', 'doc', 'include', 'locale', 'python3', 'node', 'perl5', 'x86_64', 'man', 'zoneinfo', 'certs', 'systemd', 'udev', 'icons', 'fonts', 'cache', 'log', 'src', 'pkg', 'modules', 'site'];
const TOPS = ['usr', 'etc', 'var', 'opt', 'srv', 'lib', 'home', 'root'];

/** `count` directories (tops included), at most `maxDepth` deep, grown like a real tree. */
export function makeDirs(rand: () => number, count: number, maxDepth = 5): string[] {
  const dirs = [...TOPS];
  const depth = new Map(dirs.map((d) => [d, 1]));
  while (dirs.length < count) {
    const parent = pick(rand, dirs);
    if (depth.get(parent)! >= maxDepth) continue;
    const child = join(parent, `${pick(rand, WORDS)}${dirs.length}`);
    dirs.push(child);
    depth.set(child, depth.get(parent)! + 1);
  }
  return dirs;
}
