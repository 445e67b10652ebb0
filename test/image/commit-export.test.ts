/**
 * commit and export-layer: a container's changes (with their owners) become a layer and an image
 * whose config extends the base image's; export writes the same diff as a tar, plain or gzip;
 * progress is drawn only on a terminal.
 */
import { chownSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  commitContainer,
  dockerArchiveFiles,
  exportLayer,
  imageConfig,
  importImage,
  writeArchive,
} from '../../src/image/index.js';
import { progressBar, type ProgressStream } from '../../src/progress.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/tmp.js';
import { strata } from '../cli/helpers.js';
import { drain, tarListing } from '../store/helpers.js';
import { openStore, sampleImage, storeState } from './helpers.js';

async function withImage(driver: string): Promise<{ store: Store; dir: string; archive: string }> {
  const dir = tempDir();
  const store = await openStore(driver, dir);
  const archive = join(dir, 'sample.tar');
  await writeArchive(dockerArchiveFiles([sampleImage()]), archive, 'tar');
  await importImage(store, archive);
  return { store, dir, archive };
}

/** Modify, add (owned by someone else), delete and rename inside a container. */
async function changeContainer(store: Store, name: string): Promise<void> {
  const root = await store.mount(name);
  try {
    writeFileSync(join(root, 'etc/motd'), 'changed in the container\n');
    writeFileSync(join(root, 'etc/hostname'), 'box\n');
    chownSync(join(root, 'etc/hostname'), 1234, 5678);
    unlinkSync(join(root, 'home/user/notes'));
    renameSync(join(root, 'bin/sh'), join(root, 'bin/ash'));
    mkdirSync(join(root, 'srv'));
  } finally {
    await store.unmount(name);
  }
}

function fakeTerminal(): { stream: ProgressStream; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('commit', () => {
  it("turns a container's changes into a layer on the image's top layer and an image extending its config", async () => {
    const { store } = await withImage('overlay');
    const base = (await store.images())[0]!;
    await store.createContainer({ image: base.id, names: ['box'] });
    await changeContainer(store, 'box');
    const { image, layer, reusedLayer } = await commitContainer(store, 'box', { names: ['example.com/committed:1'], comment: 'first' });
    expect(reusedLayer).toBe(false);
    expect(image.names).toEqual(['example.com/committed:1']);
    expect(layer.parent).toBe(base.topLayer);
    expect(image.topLayer).toBe(layer.id);

    const baseConfig = (await imageConfig(store, base))!;
    const config = (await imageConfig(store, image))!;
    expect(config.rootfs.diff_ids).toEqual([...baseConfig.rootfs.diff_ids, layer.uncompressedDigest]);
    expect(config.config).toEqual(baseConfig.config);
    expect(config.history?.at(-1)).toMatchObject({ created_by: 'strata commit', comment: 'first' });
    const manifest = JSON.parse((await store.imageBigData(image.id, 'manifest')).toString()) as { layers: Array<{ digest: string }> };
    expect(manifest.layers.map((l) => l.digest)).toEqual(config.rootfs.diff_ids);

    // The new layer holds exactly the container's changes, owners included.
    const container = await store.container('box');
    expect((await store.changes('', layer.id)).sort((a, b) => a.path.localeCompare(b.path))).toEqual(
      (await store.changes('', container.layerID)).sort((a, b) => a.path.localeCompare(b.path)),
    );
    const entries = await tarListing(await drain(await store.diff('', layer.id)));
    expect(entries).toContain('etc/hostname 1234:5678');
    expect(entries.filter((e) => e.startsWith('home/user/.'))).toEqual([expect.stringMatching(/^home\/user\/\.wh\.notes \d+:\d+$/)]);
    expect(entries).toContain('home/user/ 1000:1000');
    const root = await store.mountImage(image.id);
    try {
      expect(readFileSync(join(root, 'etc/motd'), 'utf8')).toBe('changed in the container\n');
    } finally {
      await store.unmountImage(image.id);
    }

    // Committing the same changes again reuses the layer (same diff ID on the same parent).
    const again = await commitContainer(store, 'box');
    expect(again.reusedLayer).toBe(true);
    expect(again.layer.id).toBe(layer.id);
  });

  it('fails without leaving anything behind when the base layer has no diff ID to put in a config', async () => {
    const store = await openStore('overlay');
    const bare = await store.createLayer();
    await store.createImage({ id: 'f'.repeat(64), layer: bare.id });
    await store.createContainer({ image: 'f'.repeat(64), names: ['c'] });
    const before = await storeState(store);
    await expect(commitContainer(store, 'c')).rejects.toThrow(`layer ${bare.id} has no recorded diff ID`);
    expect(await storeState(store)).toEqual(before);
  });
});

describe('export-layer', () => {
  it("writes a container's diff, plain or gzip, the same tar the store's diff gives", async () => {
    const { store, dir } = await withImage('vfs');
    await store.createContainer({ image: 'example.com/sample:1', names: ['box'] });
    await changeContainer(store, 'box');
    const container = await store.container('box');
    const expected = await drain(await store.diff('', container.layerID));

    const plain = join(dir, 'plain.tar');
    const { createWriteStream } = await import('node:fs');
    expect(await exportLayer(store, 'box', createWriteStream(plain))).toBe(container.layerID);
    expect(readFileSync(plain).equals(expected)).toBe(true);
    const gz = join(dir, 'diff.tar.gz');
    await exportLayer(store, container.layerID, createWriteStream(gz), { compress: true });
    expect(gunzipSync(readFileSync(gz)).equals(expected)).toBe(true);
    await expect(exportLayer(store, 'nothing', new PassThrough())).rejects.toThrow(/layer "nothing": layer not known/);
  });

  it('strata export-layer and commit from the command line, with a progress bar only on a terminal', async () => {
    const { dir, archive } = await withImage('vfs');
    const g = ['-g', join(dir, 'graph'), '-R', join(dir, 'run'), '-s', 'vfs'];
    const store = await openStore('vfs', dir);
    await store.createContainer({ image: 'example.com/sample:1', names: ['box'] });
    await changeContainer(store, 'box');
    const file = join(dir, 'out.tar.gz');
    expect(await strata([...g, 'export-layer', '-f', file, '--compress', 'box'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await tarListing(readFileSync(file))).toContain('etc/hostname 1234:5678');
    const toStdout = await strata([...g, 'export-layer', 'box']);
    expect(toStdout.stdout).toContain('ustar');

    const c = await strata([...g, 'commit', '-n', 'mine:1', '--json', 'box']);
    expect(c.code).toBe(0);
    expect(JSON.parse(c.stdout)[0].names).toEqual(['mine:1']);
    const help = await strata([...g, 'export-layer', '--help']);
    expect(help.stdout).toContain("Write a container's (or a layer's) changes as a layer tar to --file or stdout, gzip with --compress");
    expect(help.stderr).toMatch(/--compress, -c\s+Compress using gzip/);

    // The same import through a terminal draws bytes and layers; to a pipe, nothing.
    const tty = fakeTerminal();
    const other = await openStore('vfs');
    await importImage(other, archive, { progress: progressBar(tty.stream) });
    expect(tty.text()).toMatch(/importing sample\.tar \[[=-]+\] 100% \| [\d.]+ KiB\/[\d.]+ KiB \| layers 2\/2/);
    const pipe = Object.assign(new PassThrough(), { isTTY: false });
    let written = 0;
    pipe.on('data', () => written++);
    await importImage(await openStore('vfs'), archive, { progress: progressBar(pipe) });
    expect(written).toBe(0);
  });
});
