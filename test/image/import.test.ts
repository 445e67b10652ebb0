/**
 * import-image on the kernel overlay driver: docker-archive and OCI layouts become layers (chain
 * IDs, verified diff IDs) and an image keyed as containers/storage keys it; layers are reused; and
 * every kind of broken archive fails with a clear error leaving the store exactly as it was.
 */
import { lstatSync, readFileSync, readlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, gunzipSync, constants as zlib } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ErrInvalidArchive, is } from '../../src/errors.js';
import {
  assembleImage,
  buildImage,
  dockerArchiveFiles,
  ErrBlobUnknown,
  ErrDigestMismatch,
  ErrImageFormat,
  importImage,
  ociLayoutFiles,
  sha256,
  writeArchive,
  type ArchiveFiles,
  type ArchiveForm,
} from '../../src/image/index.js';
import { blobMember } from '../../src/image/source.js';
import { Compression } from '../../src/store/types.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/tmp.js';
import { strata } from '../cli/helpers.js';
import { baseEntries, openStore, sampleImage, storeState } from './helpers.js';

async function archive(files: ArchiveFiles, form: ArchiveForm = 'tar'): Promise<string> {
  const target = join(tempDir(), form === 'dir' ? 'layout' : `image.${form}`);
  await writeArchive(files, target, form);
  return target;
}

describe('import-image', () => {
  it('imports a docker-archive: chain-ID layers with verified diff IDs, the image keyed as containers/storage keys it', async () => {
    const store = await openStore('overlay');
    const image = sampleImage();
    const [imported] = await importImage(store, await archive(dockerArchiveFiles([image])));
    expect(imported!.format).toBe('docker-archive');
    const got = imported!.image;
    expect(got.id).toBe(image.configDigest.slice('sha256:'.length));
    expect(got.names).toEqual(['example.com/sample:1']);

    const [base, top] = imported!.layers;
    expect(base!.id).toBe(image.layers[0]!.diffID.slice('sha256:'.length));
    const topLayer = await store.layer(top!.id);
    expect(topLayer.parent).toBe(base!.id);
    expect(got.topLayer).toBe(top!.id);
    const baseLayer = await store.layer(base!.id);
    expect([baseLayer.uncompressedDigest, baseLayer.compressionType]).toEqual([image.layers[0]!.diffID, Compression.Gzip]);
    expect([topLayer.uncompressedDigest, topLayer.compressionType]).toEqual([image.layers[1]!.diffID, Compression.Uncompressed]);

    // Config under its digest, the manifest under "manifest" and "manifest-<digest>"; Digest is the manifest's.
    expect((await store.imageBigData(got.id, image.configDigest)).equals(image.configBlob)).toBe(true);
    const manifest = await store.imageBigData(got.id, 'manifest');
    expect(got.digest).toBe(sha256(manifest));
    expect(got.digests).toEqual([got.digest]);
    expect((await store.imageBigData(got.id, `manifest-${got.digest}`)).equals(manifest)).toBe(true);
    const m = JSON.parse(manifest.toString()) as { config: { digest: string }; layers: Array<{ digest: string }> };
    expect(m.config.digest).toBe(image.configDigest);
    expect(m.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => l.diffID));

    const root = await store.mountImage(got.id);
    try {
      expect(readFileSync(join(root, 'etc/motd'), 'utf8')).toBe('hello from the second layer\n');
      expect(existsSync(join(root, 'etc/obsolete.conf'))).toBe(false);
      const notes = lstatSync(join(root, 'home/user/notes'));
      expect([notes.uid, notes.gid, notes.mode & 0o777]).toEqual([1000, 1000, 0o600]);
      expect(readlinkSync(join(root, 'bin/sh'))).toBe('busybox');
    } finally {
      await store.unmountImage(got.id);
    }
  });

  it('imports an OCI layout with zstd layers; the image is found by its manifest digest', async () => {
    const store = await openStore('overlay');
    const image = sampleImage(['example.com/zstd:1'], ['zstd', 'zstd']);
    const [imported] = await importImage(store, await archive(ociLayoutFiles([image]), 'dir'));
    expect(imported!.format).toBe('oci-layout');
    expect(imported!.image.digest).toBe(image.manifestDigest);
    expect((await store.imagesByDigest(image.manifestDigest)).map((i) => i.id)).toEqual([imported!.image.id]);
    for (const l of imported!.layers) expect((await store.layer(l.id)).compressionType).toBe(Compression.Zstd);
    expect((await store.changes('', imported!.layers[1]!.id)).map((c) => `${c.kind} ${c.path}`).sort()).toEqual([
      'delete /etc/obsolete.conf',
      'modify /etc',
      'modify /etc/motd',
    ]);
  });

  it('reuses layers already present: the same base under another image, the same image again, from another format', async () => {
    const store = await openStore('overlay');
    const a = sampleImage(['a:1']);
    const b = buildImage({
      names: ['b:1'],
      layers: [{ compression: 'gzip', entries: baseEntries() }, { entries: [{ path: 'b.txt', content: 'b\n' }] }],
    });
    const [first] = await importImage(store, await archive(dockerArchiveFiles([a])));
    expect(first!.layers.map((l) => l.reused)).toEqual([false, false]);
    const [second] = await importImage(store, await archive(ociLayoutFiles([b]), 'tar'));
    expect(second!.layers.map((l) => l.reused)).toEqual([true, false]);
    expect(second!.layers[0]!.id).toBe(first!.layers[0]!.id);
    expect(await store.layers()).toHaveLength(3);

    const [again] = await importImage(store, await archive(ociLayoutFiles([a]), 'tar.gz'));
    expect(again!.reused).toBe(true);
    expect(again!.layers.every((l) => l.reused)).toBe(true);
    expect(await store.layers()).toHaveLength(3);
    expect(await store.images()).toHaveLength(2);
    // Found by both manifests now: the docker-archive one written on import and the OCI one.
    expect(again!.image.digests).toEqual([first!.image.digest, a.manifestDigest]);
  });

  it('gives the image the names asked for, taking a name from the image that had it', async () => {
    const store = await openStore('vfs');
    const [one] = await importImage(store, await archive(dockerArchiveFiles([sampleImage(['x:1'])])), { names: ['mine:1', 'mine:latest'] });
    expect(one!.image.names).toEqual(['mine:1', 'mine:latest']);
    const other = buildImage({ layers: [{ entries: [{ path: 'o', content: 'o' }] }] });
    const [two] = await importImage(store, await archive(ociLayoutFiles([other]), 'dir'), { names: ['mine:latest'] });
    expect(two!.image.names).toEqual(['mine:latest']);
    expect((await store.image(one!.image.id)).names).toEqual(['mine:1']);
  });

  it('imports every image of a multi-image archive, and refuses names for it', async () => {
    const store = await openStore('vfs');
    const files = dockerArchiveFiles([sampleImage(['m:1']), buildImage({ names: ['m:2'], layers: [{ entries: [{ path: 'x', content: 'x' }] }] })]);
    const path = await archive(files);
    await expect(importImage(store, path, { names: ['n'] })).rejects.toThrow(/holds 2 images; names can only be given for one/);
    const imported = await importImage(store, path);
    expect(imported.map((i) => i.image.names)).toEqual([['m:1'], ['m:2']]);
  });
});

describe('import-image failures leave the store exactly as before', () => {
  /** A store that already holds an image, so "as before" is not just "empty". */
  async function seeded(): Promise<{ store: Store; before: unknown }> {
    const store = await openStore('overlay');
    await importImage(store, await archive(dockerArchiveFiles([buildImage({ names: ['kept:1'], layers: [{ entries: [{ path: 'k', content: 'k' }] }] })])));
    return { store, before: await storeState(store) };
  }

  const cases: Array<[string, () => Promise<string>, typeof ErrImageFormat | typeof ErrInvalidArchive, RegExp]> = [
    [
      'a layer whose diff ID is not the config\'s (the first layer is already in by then)',
      async () => {
        const image = sampleImage();
        const lie = { ...image.config, rootfs: { type: 'layers', diff_ids: [image.layers[0]!.diffID, sha256(Buffer.from('other'))] } };
        return archive(dockerArchiveFiles([assembleImage(image.layers, lie, ['bad:1'])]));
      },
      ErrDigestMismatch,
      /manifest\.json\[0\]: layer 2 of 2 \(.*\/layer\.tar\): its diff ID is sha256:[0-9a-f]{64} but the image config says sha256:[0-9a-f]{64}: digest mismatch$/,
    ],
    [
      'an OCI layer blob recompressed behind the manifest\'s back (same tar, other blob digest)',
      async () => {
        const image = sampleImage();
        const files = ociLayoutFiles([image]);
        const gz = image.layers[0]!;
        files.set(blobMember(gz.digest), gzipSync(gunzipSync(gz.blob), { level: zlib.Z_NO_COMPRESSION }));
        return archive(files, 'dir');
      },
      ErrDigestMismatch,
      /layer 1 of 2 \(blobs\/sha256\/[0-9a-f]{64}\): the blob's digest is sha256:[0-9a-f]{64} but the manifest says sha256:/,
    ],
    [
      'a missing layer blob in an OCI layout',
      async () => {
        const image = sampleImage();
        const files = ociLayoutFiles([image]);
        files.delete(blobMember(image.layers[1]!.digest));
        return archive(files, 'tar');
      },
      ErrBlobUnknown,
      /index\.json manifests\[0\]: layers\[1\]: blobs\/sha256\/[0-9a-f]{64}: blob not found in the image archive/,
    ],
    [
      'a missing config in a docker-archive',
      async () => {
        const image = sampleImage();
        const files = dockerArchiveFiles([image]);
        files.delete(`${image.configDigest.slice(7)}.json`);
        return archive(files);
      },
      ErrBlobUnknown,
      /manifest\.json\[0\]: config [0-9a-f]{64}\.json: blob not found/,
    ],
    [
      'a broken manifest.json',
      async () => {
        const files = dockerArchiveFiles([sampleImage()]);
        files.set('manifest.json', Buffer.from('{"Config": "x.json"}'));
        return archive(files);
      },
      ErrImageFormat,
      /manifest\.json is not a non-empty list of images/,
    ],
    [
      'a broken index.json',
      async () => {
        const files = ociLayoutFiles([sampleImage()]);
        files.set('index.json', Buffer.from('{"schemaVersion": 2, "manifests": [{"digest": "sha256:nothex"}]}'));
        return archive(files, 'dir');
      },
      ErrImageFormat,
      /index\.json: manifests\[0\]: digest "sha256:nothex": invalid checksum digest length/,
    ],
    [
      'a manifest whose layer count differs from the config\'s diff IDs',
      async () => {
        const image = sampleImage();
        const files = dockerArchiveFiles([image]);
        const list = JSON.parse(files.get('manifest.json')!.toString()) as Array<{ Layers: string[] }>;
        list[0]!.Layers.pop();
        files.set('manifest.json', Buffer.from(JSON.stringify(list)));
        return archive(files);
      },
      ErrImageFormat,
      /manifest\.json\[0\] lists 1 layers but its config has 2 diff IDs/,
    ],
    [
      'a truncated layer (the tar ends early)',
      async () => {
        const image = sampleImage(['t:1'], ['none', 'none']);
        const files = dockerArchiveFiles([image]);
        const member = `${image.layers[1]!.digest.slice(7)}/layer.tar`;
        files.set(member, files.get(member)!.subarray(0, 700));
        return archive(files);
      },
      ErrInvalidArchive,
      /manifest\.json\[0\]: layer 2 of 2 \(.*\/layer\.tar\): invalid layer archive at byte \d+: truncated archive/,
    ],
  ];

  for (const [what, make, cls, message] of cases) {
    it(what, async () => {
      const { store, before } = await seeded();
      const err = await importImage(store, await make()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(is(err, cls), String(err)).toBe(true);
      expect(String((err as Error).message)).toMatch(message);
      expect(await storeState(store)).toEqual(before);
    });
  }
});

describe('strata import-image', () => {
  it('prints the image ID and names, or JSON', async () => {
    const dir = tempDir();
    const path = await archive(dockerArchiveFiles([sampleImage()]));
    const cli = (...argv: string[]) => strata(['-g', `${dir}/g`, '-R', `${dir}/r`, '-s', 'vfs', ...argv]);
    const image = sampleImage();
    const r = await cli('import-image', '--name', 'renamed:1', path);
    expect(r).toEqual({ code: 0, stdout: `${image.configDigest.slice(7)}\n\trenamed:1\n`, stderr: '' });
    const j = await cli('import-image', '--json', path);
    // The same image again: the archive's own name is added to the one given before.
    expect(JSON.parse(j.stdout)[0]).toMatchObject({ id: image.configDigest.slice(7), names: ['example.com/sample:1', 'renamed:1'] });
    const bad = await cli('import-image', join(dir, 'nope.tar'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/nope\.tar: cannot read the image archive/);
  });
});
