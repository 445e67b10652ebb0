/**
 * The dataset cache: each dataset is built once per (generator version, scale) under the data dir
 * and reused by later runs; a build that dies half-way is never mistaken for a finished one
 * because the manifest is written last.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unmountUnderSync } from './cleanup.js';
import { buildArchive, type ArchiveManifest } from './data/archive.js';
import { buildChanges, type ChangesManifest } from './data/changes.js';
import { buildCsChanges, type CsChangesManifest } from './data/cs-changes.js';
import { buildLowers, type LowersManifest } from './data/lowers.js';
import { buildLayers128, buildWalk100k, type ManyManifest } from './data/many.js';

/** Bump when a generator changes what it writes, so cached data is rebuilt. */
const GENERATOR_VERSION = 1;

interface Stamp<M> {
  version: number;
  scale: number;
  builtMs: number;
  manifest: M;
}

export class DataStore {
  private readonly memo = new Map<string, unknown>();

  constructor(
    readonly dir: string,
    readonly scale: number,
    private readonly log: (msg: string) => void,
  ) {}

  private ensure<M>(name: string, build: (root: string, scale: number) => M): M {
    const hit = this.memo.get(name);
    if (hit) return hit as M;
    const root = join(this.dir, `${name}@${this.scale}`);
    const stampFile = join(root, 'manifest.json');
    if (existsSync(stampFile)) {
      const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as Stamp<M>;
      if (stamp.version === GENERATOR_VERSION && stamp.scale === this.scale) {
        this.memo.set(name, stamp.manifest);
        return stamp.manifest;
      }
    }
    this.log(`building dataset ${name} (scale ${this.scale}) in ${root}`);
    const building = `${root}.building`;
    // A containers-storage store keeps a bind mount on itself while in use; never recurse into one.
    unmountUnderSync(root);
    unmountUnderSync(building);
    rmSync(root, { recursive: true, force: true });
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true });
    const start = Date.now();
    // Generators write absolute paths into the manifest; build under the final name's twin and
    // rewrite, so a rename is all that separates a finished dataset from a half-built one.
    const manifest = JSON.parse(JSON.stringify(build(building, this.scale)).split(building).join(root)) as M;
    renameSync(building, root);
    const stamp: Stamp<M> = { version: GENERATOR_VERSION, scale: this.scale, builtMs: Date.now() - start, manifest };
    writeFileSync(stampFile, JSON.stringify(stamp));
    this.log(`built ${name} in ${((Date.now() - start) / 1000).toFixed(1)} s`);
    this.memo.set(name, manifest);
    return manifest;
  }

  lowers(): LowersManifest {
    return this.ensure('lowers5', buildLowers);
  }

  walk100k(): ManyManifest {
    return this.ensure('walk100k', buildWalk100k);
  }

  layers128(): ManyManifest {
    return this.ensure('layers128', buildLayers128);
  }

  archive(): ArchiveManifest {
    return this.ensure('archive', buildArchive);
  }

  changes(): ChangesManifest {
    return this.ensure('changes', buildChanges);
  }

  /** The changes dataset loaded into a containers-storage store (needs the CLI). */
  csChanges(): CsChangesManifest {
    const changes = this.changes();
    return this.ensure('cs-changes', (root) => buildCsChanges(root, changes));
  }
}
