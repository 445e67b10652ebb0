/**
 * Images in and out of the store: docker-archive and OCI layout import, commit of a container's
 * changes as a new layer and image, layer export, and a builder of small image archives.
 */
export { importImage, readArchive, type ArchiveFormat, type ImportOptions, type ImportedImage, type ImportedLayer } from './import.js';
export { commitContainer, imageConfig, shortID, type CommitOptions, type Committed } from './commit.js';
export { exportLayer, resolveLayer, type ExportLayerOptions } from './export-layer.js';
export { chainLayerID, MANIFEST_KEY, manifestKey } from './image-record.js';
export * from './build.js';
export * from './write-archive.js';
export * from './errors.js';
export type { ImageConfig } from './recipe.js';
