/** Shared pieces of the image tests: a small two-layer image, stores, and a snapshot of store state. */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import '../../src/drivers.js';
import { buildImage, type BuiltImage, type LayerCompression, type LayerEntry } from '../../src/image/index.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/tmp.js';

/** The base layer of sampleImage: owners other than root, a symlink, a file the next layer deletes. */
export function baseEntries(): LayerEntry[] {
  return [
    { path: 'etc', type: 'dir' },
    { path: 'etc/motd', content: 'hello from the base layer\n' },
    { path: 'etc/obsolete.conf', content: 'to be removed\n' },
    { path: 'home', type: 'dir' },
    { path: 'home/user', type: 'dir', uid: 1000, gid: 1000, mode: 0o700 },
    { path: 'home/user/notes', content: 'mine\n', uid: 1000, gid: 1000, mode: 0o600 },
    { path: 'bin', type: 'dir' },
    { path: 'bin/sh', type: 'symlink', linkname: 'busybox' },
  ];
}

/** A base layer with owners other than root, and a layer that changes and deletes in it. */
export function sampleImage(names: string[] = ['example.com/sample:1'], compression: [LayerCompression, LayerCompression] = ['gzip', 'none']): BuiltImage {
  return buildImage({
    names,
    layers: [
      {
        compression: compression[0],
        entries: baseEntries(),
      },
      {
        compression: compression[1],
        entries: [
          { path: 'etc', type: 'dir' },
          { path: 'etc/motd', content: 'hello from the second layer\n' },
          { path: 'etc/.wh.obsolete.conf' },
        ],
      },
    ],
  });
}

export async function openStore(driver: string, dir = tempDir()): Promise<Store> {
  return Store.open({ graphRoot: join(dir, 'graph'), runRoot: join(dir, 'run'), driver });
}

/** Every path under `dir`, relative and sorted (the driver home, the images directory…). */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push(relative(dir, p));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** What must not change when an import fails: records and everything on disk that holds layers or images. */
export async function storeState(store: Store): Promise<unknown> {
  return {
    layers: (await store.layers()).map((l) => l.id).sort(),
    images: (await store.images()).map((i) => i.id).sort(),
    home: listTree(store.driver.home).filter((p) => !p.endsWith('.lock')),
    imagesDir: listTree(join(store.graphRoot, `${store.driverName}-images`)).filter((p) => !p.endsWith('.lock')),
    layersDir: listTree(join(store.graphRoot, `${store.driverName}-layers`)).filter((p) => !p.endsWith('.lock')),
  };
}
