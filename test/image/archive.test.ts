/**
 * The builder and the archive readers: what `docker save` and OCI layouts look like on disk, read
 * back member by member (tar index, directory), with names and diff IDs as the config has them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decompress } from 'fzstd';
import { describe, expect, it } from 'vitest';
import {
  archiveTar,
  buildLayer,
  dockerArchiveFiles,
  ErrBlobUnknown,
  ErrImageFormat,
  ociLayoutFiles,
  readArchive,
  tarArchive,
  writeArchive,
  type ArchiveForm,
} from '../../src/image/index.js';
import { openSource } from '../../src/image/source.js';
import { zstdRawFrame } from '../../src/image/zstd-raw.js';
import { is } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { sampleImage } from './helpers.js';

describe('image builder', () => {
  it('is deterministic: the same description gives the same digests', () => {
    const a = sampleImage();
    const b = sampleImage();
    expect(a.configDigest).toBe(b.configDigest);
    expect(a.manifestDigest).toBe(b.manifestDigest);
    expect(a.layers.map((l) => l.diffID)).toEqual(b.layers.map((l) => l.diffID));
    expect(a.config.rootfs.diff_ids).toEqual(a.layers.map((l) => l.diffID));
  });

  it('compresses layers with gzip and zstd (raw blocks any zstd decoder reads), the diff ID staying that of the tar', () => {
    const entries = [{ path: 'f', content: 'x'.repeat(300_000) }];
    const plain = buildLayer({ entries });
    const gz = buildLayer({ entries, compression: 'gzip' });
    const zst = buildLayer({ entries, compression: 'zstd' });
    expect(gz.diffID).toBe(plain.diffID);
    expect(zst.diffID).toBe(plain.diffID);
    expect(gunzipSync(gz.blob).equals(plain.blob)).toBe(true);
    expect(Buffer.from(decompress(zst.blob)).equals(plain.blob)).toBe(true);
    expect(Buffer.from(decompress(zstdRawFrame(Buffer.alloc(0)))).length).toBe(0);
    expect(zst.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
  });
});

describe('archive readers', () => {
  const forms: Array<[string, (img: ReturnType<typeof sampleImage>) => Map<string, Buffer>, ArchiveForm, string]> = [
    ['docker-archive tar', (i) => dockerArchiveFiles([i]), 'tar', 'docker-archive'],
    ['docker-archive, gzip-compressed', (i) => dockerArchiveFiles([i]), 'tar.gz', 'docker-archive'],
    ['OCI layout directory', (i) => ociLayoutFiles([i]), 'dir', 'oci-layout'],
    ['OCI layout tar', (i) => ociLayoutFiles([i]), 'tar', 'oci-layout'],
  ];
  for (const [what, files, form, format] of forms) {
    it(`reads a ${what}: names, config and layer members with their diff IDs`, async () => {
      const image = sampleImage();
      const target = join(tempDir(), 'archive');
      await writeArchive(files(image), target, form);
      const src = await openSource(target);
      try {
        const read = await readArchive(src);
        expect(read.format).toBe(format);
        expect(read.recipes).toHaveLength(1);
        const r = read.recipes[0]!;
        expect(r.names).toEqual(['example.com/sample:1']);
        expect(r.configDigest).toBe(image.configDigest);
        expect(r.layers.map((l) => l.diffID)).toEqual(image.layers.map((l) => l.diffID));
        expect(r.manifest?.equals(image.manifest) ?? format === 'docker-archive').toBe(true);
        for (const [i, l] of r.layers.entries()) {
          const chunks: Buffer[] = [];
          for await (const c of src.stream(l.member)) chunks.push(c as Buffer);
          expect(Buffer.concat(chunks).equals(image.layers[i]!.blob)).toBe(true);
        }
      } finally {
        await src.close();
      }
    });
  }

  it('indexes PAX long member names and hardlinks in a tar', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}.json`;
    const tar = tarArchive([
      { header: { name: long, type: 'file' }, content: Buffer.from('{"a":1}') },
      { header: { name: 'link.json', type: 'hardlink', linkname: long } },
    ]);
    const file = join(tempDir(), 'x.tar');
    writeFileSync(file, tar);
    const src = await openSource(file);
    try {
      expect((await src.read(long)).toString()).toBe('{"a":1}');
      expect((await src.read('./link.json')).toString()).toBe('{"a":1}');
      expect(await src.has('missing')).toBe(false);
      await expect(src.read('../escape')).rejects.toThrow(/points outside the archive/);
    } finally {
      await src.close();
    }
  });

  it('names what is wrong: not an archive, a bad tar, a garbled manifest.json, a missing layer member', async () => {
    const dir = tempDir();
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const err1 = await readArchive(await openSource(empty)).catch((e: unknown) => e);
    expect(is(err1, ErrImageFormat)).toBe(true);
    expect(String(err1)).toMatch(/neither manifest\.json \(docker-archive\) nor index\.json \(OCI layout\)/);

    const junk = join(dir, 'junk.tar');
    writeFileSync(junk, Buffer.alloc(1024, 0x41));
    await expect(openSource(junk)).rejects.toThrow(/bad header checksum \(not a tar archive\?\)/);

    const files = dockerArchiveFiles([sampleImage()]);
    files.set('manifest.json', Buffer.from('[{"Config": '));
    const broken = join(dir, 'broken.tar');
    writeFileSync(broken, archiveTar(files));
    await expect(readArchive(await openSource(broken))).rejects.toThrow(/broken\.tar: manifest\.json is not valid JSON/);

    const image = sampleImage();
    const missing = dockerArchiveFiles([image]);
    const member = [...missing.keys()].find((k) => k.endsWith('layer.tar'))!;
    missing.delete(member);
    const m = join(dir, 'missing.tar');
    writeFileSync(m, archiveTar(missing));
    const err2 = await readArchive(await openSource(m)).catch((e: unknown) => e);
    expect(is(err2, ErrBlobUnknown)).toBe(true);
    expect(String(err2)).toContain(`manifest.json[0]: layer ${member}: blob not found in the image archive`);
  });
});
