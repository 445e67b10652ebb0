/**
 * The main job, as the README's first command runs it: build a small image archive here (no
 * registry), import it into a fresh store on the driver the registry picks (saying why), run a
 * container on it, change files inside through the mount, show the changes, commit them as a new
 * image, and clean everything up. Run as root it uses `overlay`; run as an unprivileged user,
 * `fuse-overlay`, with container root mapped to that user — and otherwise the same output.
 */
import { mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import './drivers.js';
import { TarReader } from './archive/tar/reader.js';
import { buildImage, type BuiltImage } from './image/build.js';
import { commitContainer, shortID } from './image/commit.js';
import { importImage } from './image/import.js';
import { dockerArchiveFiles, ociLayoutFiles, writeArchive } from './image/write-archive.js';
import { Store } from './store/store.js';

const IMAGE = 'demo.example/hello:1';
const COMMITTED = 'demo.example/hello:2';
const CONTAINER = 'demo';

const log = (s = ''): void => void process.stdout.write(`${s}\n`);

function demoImage(): BuiltImage {
  return buildImage({
    names: [IMAGE],
    runConfig: { Cmd: ['/bin/sh'] },
    layers: [
      {
        compression: 'gzip',
        entries: [
          { path: 'etc', type: 'dir' },
          { path: 'etc/motd', content: 'hello from the base layer\n' },
          { path: 'etc/obsolete.conf', content: 'to be removed\n' },
          { path: 'etc/old.conf', content: 'to be renamed\n' },
          { path: 'bin', type: 'dir' },
          { path: 'bin/sh', type: 'symlink', linkname: 'busybox' },
        ],
      },
      {
        compression: 'zstd',
        entries: [
          { path: 'etc', type: 'dir' },
          { path: 'etc/motd', content: 'hello from the second layer\n' },
        ],
      },
    ],
  });
}

/** Container root as the calling user: what a rootless FUSE mount needs to let that user write. */
function rootlessMapping(store: Store): string[] | undefined {
  const uid = process.geteuid?.() ?? 0;
  if (uid === 0 || store.driverName !== 'fuse-overlay') return undefined;
  return [`uidmapping=0:${uid}:1`, `gidmapping=0:${process.getegid?.() ?? 0}:1`];
}

/** `type name owner` for each entry of a layer tar; whiteouts without owner (they belong to no file). */
async function describeTar(tar: Readable): Promise<string[]> {
  const reader = new TarReader(tar);
  const out: string[] = [];
  for (let h = await reader.next(); h !== undefined; h = await reader.next()) {
    const whiteout = h.name.split('/').at(-1)?.startsWith('.wh.') === true;
    out.push(`${h.type.padEnd(7)} ${h.name}${whiteout ? '' : `  (${h.uid}:${h.gid})`}`);
  }
  return out;
}

/** Mount points at or under `dir` (so nothing is ever removed through a live mount). */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

async function run(root: string): Promise<void> {
  const store = await Store.open({
    graphRoot: join(root, 'graph'),
    runRoot: join(root, 'run'),
    // Without root, layers keep their real owners in an xattr (fuse-overlay only; others skip it).
    driverOptions: ['fuse-overlay.force_mask=shared'],
  });
  try {
    log('driver choice (the registry, in priority order):');
    for (const d of store.decisions) log(`  ${d.outcome === 'chosen' ? '✔' : '✘'} ${d.name}: ${d.reason}`);
    log(`driver: ${store.driverName}`);

    const image = demoImage();
    const archive = join(root, 'hello.tar');
    await writeArchive(dockerArchiveFiles([image]), archive, 'tar');
    log(`\n1. built ${IMAGE} here as a docker-archive: ${image.layers.length} layers (gzip, zstd), no registry`);
    const [imported] = await importImage(store, archive);
    const layers = imported!.layers.map((l) => shortID(l.id)).join(', ');
    log(`2. imported image ${shortID(imported!.image.id)} with layers ${layers} (each diff ID checked against the config)`);
    const layout = join(root, 'hello-oci');
    await writeArchive(ociLayoutFiles([image]), layout, 'dir');
    const [again] = await importImage(store, layout);
    const reused = again!.layers.filter((l) => l.reused).length;
    log(`   the same image as an OCI layout: image ${again!.reused ? 'already there' : 'new'}, ${reused} of ${again!.layers.length} layers reused`);

    await store.createContainer({ image: IMAGE, names: [CONTAINER], mountOpts: rootlessMapping(store) });
    const mnt = await store.mount(CONTAINER);
    log(`3. container "${CONTAINER}" mounted; inside it:`);
    log(`   /etc/motd says: ${readFileSync(join(mnt, 'etc/motd'), 'utf8').trim()}`);
    writeFileSync(join(mnt, 'etc/motd'), 'changed in the container\n');
    writeFileSync(join(mnt, 'etc/hostname'), 'demo\n');
    unlinkSync(join(mnt, 'etc/obsolete.conf'));
    renameSync(join(mnt, 'etc/old.conf'), join(mnt, 'etc/new.conf'));
    log('   changed /etc/motd, wrote /etc/hostname, deleted /etc/obsolete.conf, renamed /etc/old.conf to /etc/new.conf');
    await store.unmount(CONTAINER);

    const container = await store.container(CONTAINER);
    log('\n4. changes of the container:');
    const changes = await store.changes('', container.layerID);
    for (const c of changes.sort((a, b) => a.path.localeCompare(b.path))) log(`   ${c.kind.padEnd(6)} ${c.path}`);

    const { image: committed, layer } = await commitContainer(store, CONTAINER, { names: [COMMITTED] });
    log(`\n5. committed as ${committed.names.join(', ')}: a new layer on the image's top layer, ${layer.uncompressedSize} bytes; its tar:`);
    for (const e of await describeTar(await store.diff('', layer.id))) log(`   ${e}`);

    await store.deleteContainer(CONTAINER);
    for (const name of [COMMITTED, IMAGE]) await store.deleteImage(name);
    log(`\n6. cleaned up: ${(await store.images()).length} images, ${(await store.layers()).length} layers left`);
  } finally {
    await store.shutdown(true);
  }
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'strata-demo-'));
  try {
    await run(root);
  } finally {
    const live = mountsUnder(root);
    if (live.length === 0) rmSync(root, { recursive: true, force: true });
    else process.stderr.write(`strata demo: not removing ${root}, still mounted: ${live.join(', ')}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`strata demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
