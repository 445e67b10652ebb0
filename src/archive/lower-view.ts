/**
 * The merged view of an overlay's lower layers (top first) without mounting them: lookups
 * walk only the layers that hold the parent directory, honour whiteouts (0/0 devices and
 * `.wh.` files) and stop at opaque directories, as overlayfs and fuse-overlayfs do.
 * A lookup costs a few lstats per contributing layer, never a walk of the lower trees.
 */
import { lstatSync, readdirSync, type BigIntStats } from 'node:fs';
import { baseOf, dirOf, type RelPath } from './safe-path.js';
import { compareBytes } from './tar/header.js';
import { isOpaqueDir, isWhiteoutDevice, WHITEOUT_PREFIX, whiteoutName, whitedOutName } from './whiteout.js';

export interface ViewNode {
  /** Host path of the visible file. */
  path: string;
  stat: BigIntStats;
}

function lstatBig(path: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true, throwIfNoEntry: false });
  } catch (err) {
    // A file where a directory was expected: nothing below it exists in this layer.
    if ((err as { code?: unknown }).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

export class LowerView {
  /** rel → the layer directories merged into it (top first); null when not a merged directory. */
  private readonly dirs = new Map<RelPath, string[] | null>();

  constructor(readonly lowers: readonly string[]) {}

  /** The topmost visible entry at `rel`, or undefined when absent or whited out. */
  lookup(rel: RelPath): ViewNode | undefined {
    if (rel === '') {
      const top = this.dirLayers('')?.[0];
      const stat = top === undefined ? undefined : lstatBig(top);
      return top === undefined || stat === undefined ? undefined : { path: top, stat };
    }
    const parents = this.dirLayers(dirOf(rel));
    if (parents === undefined) return undefined;
    const base = baseOf(rel);
    for (const parent of parents) {
      const path = `${parent}/${base}`;
      const stat = lstatBig(path);
      if (stat !== undefined) return isWhiteoutDevice(stat) ? undefined : { path, stat };
      if (lstatBig(`${parent}/${whiteoutName(base)}`) !== undefined) return undefined;
    }
    return undefined;
  }

  /** The layer directories forming merged directory `rel`, or undefined if it is not one. */
  dirLayers(rel: RelPath): string[] | undefined {
    const cached = this.dirs.get(rel);
    if (cached !== undefined) return cached ?? undefined;
    const result = this.computeDirLayers(rel);
    this.dirs.set(rel, result ?? null);
    return result;
  }

  private computeDirLayers(rel: RelPath): string[] | undefined {
    const candidates = rel === '' ? this.lowers.map((l) => l.replace(/\/+$/, '')) : this.parentCandidates(rel);
    if (candidates === undefined) return undefined;
    const layers: string[] = [];
    for (const path of candidates) {
      const stat = lstatBig(path);
      if (stat === undefined) {
        if (rel !== '' && lstatBig(`${dirOf(path)}/${whiteoutName(baseOf(rel))}`) !== undefined) break;
        continue;
      }
      if (isWhiteoutDevice(stat)) break;
      // The topmost non-directory hides every directory below it.
      if (!stat.isDirectory()) {
        if (layers.length === 0) return undefined;
        break;
      }
      layers.push(path);
      if (rel !== '' && isOpaqueDir(path)) break;
    }
    return layers.length === 0 ? undefined : layers;
  }

  private parentCandidates(rel: RelPath): string[] | undefined {
    const parents = this.dirLayers(dirOf(rel));
    return parents?.map((p) => `${p}/${baseOf(rel)}`);
  }

  /** The visible entries of merged directory `rel`, sorted by name; `.wh.` names are hidden. */
  list(rel: RelPath): Map<string, ViewNode> {
    const out = new Map<string, ViewNode>();
    const hidden = new Set<string>();
    for (const layer of this.dirLayers(rel) ?? []) {
      const names = readdirSync(layer);
      const masked: string[] = [];
      for (const name of names) {
        if (name.startsWith(WHITEOUT_PREFIX)) {
          const victim = whitedOutName(name);
          if (victim !== undefined) masked.push(victim);
          continue;
        }
        if (hidden.has(name) || out.has(name)) continue;
        const path = `${layer}/${name}`;
        const stat = lstatBig(path);
        if (stat === undefined) continue;
        hidden.add(name);
        if (!isWhiteoutDevice(stat)) out.set(name, { path, stat });
      }
      // Whiteouts in this layer hide the name in the layers below, not in this one.
      for (const m of masked) hidden.add(m);
    }
    return new Map([...out].sort((a, b) => compareBytes(a[0], b[0])));
  }
}
