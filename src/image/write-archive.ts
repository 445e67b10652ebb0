/**
 * Lays built images out as the archives import reads: a docker-archive (`docker save`'s
 * manifest.json, `<hex>.json` configs, `<hex>/layer.tar` layers) or an OCI image layout, as a
 * directory, a tar, or a gzip-compressed tar. The files are a plain map first, so tests can break
 * an archive on purpose (drop a blob, garble manifest.json) before writing it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BuiltImage } from './build.js';
import { tarArchive, type TarMember } from './build.js';
import { DOCKER_MANIFEST_FILE } from './docker-archive.js';
import { NAME_ANNOTATIONS, OCI_MANIFEST } from './media-types.js';
import { OCI_INDEX_FILE, OCI_LAYOUT_FILE } from './oci-layout.js';
import { blobMember } from './source.js';

/** Member name → content. */
export type ArchiveFiles = Map<string, Buffer>;

export type ArchiveForm = 'dir' | 'tar' | 'tar.gz';

const hex = (digest: string): string => digest.slice(digest.indexOf(':') + 1);

export function dockerArchiveFiles(images: BuiltImage[]): ArchiveFiles {
  const files: ArchiveFiles = new Map();
  const manifest = images.map((image) => {
    const config = `${hex(image.configDigest)}.json`;
    files.set(config, image.configBlob);
    const layers = image.layers.map((l) => {
      const member = `${hex(l.digest)}/layer.tar`;
      files.set(member, l.blob);
      return member;
    });
    return { Config: config, RepoTags: image.names, Layers: layers };
  });
  files.set(DOCKER_MANIFEST_FILE, Buffer.from(JSON.stringify(manifest)));
  return files;
}

export function ociLayoutFiles(images: BuiltImage[]): ArchiveFiles {
  const files: ArchiveFiles = new Map();
  files.set(OCI_LAYOUT_FILE, Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  const manifests = images.map((image) => {
    files.set(blobMember(image.configDigest), image.configBlob);
    for (const l of image.layers) files.set(blobMember(l.digest), l.blob);
    files.set(blobMember(image.manifestDigest), image.manifest);
    const name = image.names[0];
    // containerd's full name, and the tag alone as the OCI annotation is meant to hold.
    const annotations = name === undefined ? undefined : { [NAME_ANNOTATIONS[0]]: name, [NAME_ANNOTATIONS[1]]: name.split(':').at(-1) ?? name };
    return { mediaType: OCI_MANIFEST, digest: image.manifestDigest, size: image.manifest.length, ...(annotations ? { annotations } : {}) };
  });
  files.set(OCI_INDEX_FILE, Buffer.from(JSON.stringify({ schemaVersion: 2, manifests })));
  return files;
}

/** A tar of the files, with their parent directories, sorted by name. */
export function archiveTar(files: ArchiveFiles): Buffer {
  const dirs = new Set<string>();
  for (const name of files.keys()) {
    for (let d = dirname(name); d !== '.'; d = dirname(d)) dirs.add(d);
  }
  const members: TarMember[] = [
    ...[...dirs].map((d): TarMember => ({ header: { name: `${d}/`, type: 'dir' } })),
    ...[...files].map(([name, content]): TarMember => ({ header: { name, type: 'file' }, content })),
  ];
  members.sort((a, b) => (a.header.name < b.header.name ? -1 : a.header.name > b.header.name ? 1 : 0));
  return tarArchive(members);
}

/** Writes the archive at `target` (a new directory for `dir`, else a file). */
export async function writeArchive(files: ArchiveFiles, target: string, form: ArchiveForm): Promise<void> {
  if (form !== 'dir') {
    const tar = archiveTar(files);
    await writeFile(target, form === 'tar.gz' ? gzipSync(tar) : tar);
    return;
  }
  for (const [name, content] of files) {
    const path = join(target, ...name.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
}
