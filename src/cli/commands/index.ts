/** Every command, in containers-storage's order (the order of its source files), then strata's additions. */
import type { CommandSpec } from '../spec.js';
import { gcCommand, shutdownCommand, statusCommand, versionCommand, wipeCommand } from './admin.js';
import { containerCommands } from './containers.js';
import { deleteCommands } from './delete.js';
import { diffCommands } from './diff.js';
import { imageCommands } from './images.js';
import { imageIOCommands } from './image-io.js';
import { layerCommands } from './layers.js';
import { metadataCommands } from './metadata.js';
import { mountCommands } from './mount.js';
import { nameCommands } from './names.js';

const all = [
  ...containerCommands,
  ...layerCommands,
  ...imageCommands,
  ...deleteCommands,
  ...diffCommands,
  ...metadataCommands,
  ...mountCommands,
  ...nameCommands,
  shutdownCommand,
  statusCommand,
  versionCommand,
  wipeCommand,
  gcCommand,
  ...imageIOCommands,
];

const ORDER = [
  'container', 'list-container-data', 'get-container-data', 'get-container-data-size', 'get-container-data-digest',
  'set-container-data', 'get-container-dir', 'get-container-run-dir', 'container-parent-owners', 'containers',
  'create-layer', 'import-layer', 'create-image', 'create-container', 'delete', 'delete-layer', 'delete-image',
  'delete-container', 'changes', 'diffsize', 'diff', 'applydiff', 'exists', 'image', 'list-image-data',
  'get-image-data', 'get-image-data-size', 'get-image-data-digest', 'set-image-data', 'get-image-dir',
  'get-image-run-dir', 'images', 'images-by-digest', 'layer', 'layer-parent-owners', 'list-layer-data',
  'get-layer-data', 'set-layer-data', 'layers', 'metadata', 'set-metadata', 'mount', 'unmount', 'mounted',
  'get-names', 'add-names', 'set-names', 'remove-names', 'shutdown', 'status', 'version', 'wipe', 'gc',
];

const rank = (c: CommandSpec): number => {
  const i = ORDER.indexOf(c.names[0] as string);
  return i < 0 ? ORDER.length : i;
};

export const commands: CommandSpec[] = [...all].sort((a, b) => rank(a) - rank(b));
