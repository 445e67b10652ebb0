/**
 * The layer archive module: applying layer tars to directories, turning directories and
 * change lists back into deterministic layer tars, and computing a layer's changes and size.
 */
export { applyLayer } from './apply.js';
export type { ApplyOptions, WhiteoutFormat } from './apply-context.js';
export { tarDirectory, type TarDirectoryOptions } from './tar-dir.js';
export { changesDirs } from './changes-naive.js';
export { exportChanges, type ExportOptions } from './export-changes.js';
export { changesSize } from './size.js';
export { overlayChanges, type OverlayChangesOptions } from './changes-overlay.js';
export { overlayDiff, type OverlayDiffOptions } from './overlay-diff.js';
export { detectCompression, type Compression } from './compress.js';
export { formatOverrideStat, parseOverrideStat, type OverrideStat } from './override-stat.js';
export * from './whiteout.js';
