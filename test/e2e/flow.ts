/**
 * The end-to-end flow the e2e tests run as root (in process) and as the unprivileged user (through
 * fixtures/rootless-flow.ts): fresh store on the driver newDriver picks, import, reuse, a container
 * mounted and changed, changes, commit, export, delete, and the store reopened. It reports what it
 * saw as plain JSON so both callers assert the same things.
 */
import { createWriteStream, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import '../../src/drivers.js';
import { TarReader } from '../../src/archive/tar/reader.js';
import { buildImage, type BuiltImage } from '../../src/image/build.js';
import { commitContainer } from '../../src/image/commit.js';
import { exportLayer } from '../../src/image/export-layer.js';
import { importImage } from '../../src/image/import.js';
import { Store } from '../../src/store/store.js';

export const FLOW_IMAGE = 'e2e.example/base:1';
export const FLOW_COMMITTED = 'e2e.example/committed:1';

export function flowImage(): BuiltImage {
  return buildImage({
    names: [FLOW_IMAGE],
    layers: [
      {
        compression: 'gzip',
        entries: [
          { path: 'etc', type: 'dir' },
          { path: 'etc/motd', content: 'base\n' },
          { path: 'etc/obsolete.conf', content: 'old\n' },
          { path: 'etc/old.conf', content: 'renamed\n' },
          { path: 'home', type: 'dir' },
          { path: 'home/user', type: 'dir', uid: 1000, gid: 1000, mode: 0o755 },
          { path: 'home/user/notes', content: 'mine\n', uid: 1000, gid: 1000 },
        ],
      },
      { compression: 'zstd', entries: [{ path: 'etc', type: 'dir' }, { path: 'etc/motd', content: 'second\n' }] },
    ],
  });
}

export interface FlowOptions {
  graphRoot: string;
  runRoot: string;
  archive: string;
  driverOptions?: string[];
  /** Show container root as this host user through the mount (fuse-overlay's uidmapping/gidmapping). */
  mapRootTo?: { uid: number; gid: number };
  /** Where export-layer writes the container's diff. */
  exportFile: string;
}

export interface FlowReport {
  driver: string;
  decisions: Array<{ name: string; outcome: string; reason: string }>;
  importedLayers: boolean[];
  reimportedLayers: boolean[];
  reimportedImage: boolean;
  layersAfterImports: number;
  motd: string;
  /** Owners as the mount shows them: a root-owned file, a file owned by 1000, a file the caller wrote. */
  owners: { motd: number[]; notes: number[]; written: number[] };
  changes: string[];
  committedNames: string[];
  committedDiffIDs: number;
  committedEntries: string[];
  committedContent: { motd: string; hostname: string; oldConf: boolean };
  exportedEntries: string[];
  left: { images: number; layers: number; containers: number; homeLayers: string[] };
  reopened: { driver: string; decisions: string[] };
}

/** `name uid:gid` per entry (whiteouts by name only: their owner is whoever wrote them). */
export async function tarEntries(tar: Readable): Promise<string[]> {
  const reader = new TarReader(tar);
  const out: string[] = [];
  for (let h = await reader.next(); h !== undefined; h = await reader.next()) {
    out.push(h.name.split('/').at(-1)?.startsWith('.wh.') === true ? h.name : `${h.name} ${h.uid}:${h.gid}`);
  }
  return out;
}

const owner = (path: string): number[] => {
  const st = statSync(path);
  return [st.uid, st.gid];
};

export async function runFlow(o: FlowOptions): Promise<FlowReport> {
  const open = () => Store.open({ graphRoot: o.graphRoot, runRoot: o.runRoot, driverOptions: o.driverOptions });
  const store = await open();
  try {
    const [first] = await importImage(store, o.archive);
    const [again] = await importImage(store, o.archive);
    const layersAfterImports = (await store.layers()).length;

    const mountOpts = o.mapRootTo && [`uidmapping=0:${o.mapRootTo.uid}:1`, `gidmapping=0:${o.mapRootTo.gid}:1`];
    await store.createContainer({ image: FLOW_IMAGE, names: ['c'], mountOpts });
    const m = await store.mount('c');
    const motd = readFileSync(join(m, 'etc/motd'), 'utf8');
    writeFileSync(join(m, 'etc/motd'), 'changed\n');
    writeFileSync(join(m, 'etc/hostname'), 'box\n');
    unlinkSync(join(m, 'etc/obsolete.conf'));
    renameSync(join(m, 'etc/old.conf'), join(m, 'etc/new.conf'));
    const owners = { motd: owner(join(m, 'etc/motd')), notes: owner(join(m, 'home/user/notes')), written: owner(join(m, 'etc/hostname')) };
    await store.unmount('c');

    const container = await store.container('c');
    const changes = (await store.changes('', container.layerID)).map((c) => `${c.kind} ${c.path}`).sort();
    const { image, layer } = await commitContainer(store, 'c', { names: [FLOW_COMMITTED] });
    const committedEntries = await tarEntries(await store.diff('', layer.id));
    const root = await store.mountImage(image.id);
    const committedContent = {
      motd: readFileSync(join(root, 'etc/motd'), 'utf8'),
      hostname: readFileSync(join(root, 'etc/hostname'), 'utf8'),
      oldConf: readdirSync(join(root, 'etc')).includes('old.conf'),
    };
    await store.unmountImage(image.id);
    await exportLayer(store, 'c', createWriteStream(o.exportFile));
    const exportedEntries = await tarEntries(Readable.from([readFileSync(o.exportFile)]));
    const config = JSON.parse((await store.imageBigData(image.id, `sha256:${image.id}`)).toString()) as { rootfs: { diff_ids: string[] } };

    await store.deleteContainer('c');
    await store.deleteImage(FLOW_COMMITTED);
    await store.deleteImage(FLOW_IMAGE);
    const left = {
      images: (await store.images()).length,
      layers: (await store.layers()).length,
      containers: (await store.containers()).length,
      homeLayers: (await store.driver.listLayers()).sort(),
    };
    const report = {
      driver: store.driverName,
      decisions: store.decisions,
      importedLayers: first!.layers.map((l) => l.reused),
      reimportedLayers: again!.layers.map((l) => l.reused),
      reimportedImage: again!.reused,
      layersAfterImports,
      motd,
      owners,
      changes,
      committedNames: image.names,
      committedDiffIDs: config.rootfs.diff_ids.length,
      committedEntries,
      committedContent,
      exportedEntries,
      left,
    };
    await store.shutdown();
    // Opened again with no driver named: the home it left behind decides.
    const reopened = await open();
    const r = { driver: reopened.driverName, decisions: reopened.decisions.map((d) => `${d.outcome} ${d.name}: ${d.reason}`) };
    await reopened.shutdown();
    return { ...report, reopened: r };
  } catch (err) {
    await store.shutdown(true).catch(() => undefined);
    throw err;
  }
}
