/** Importing this module registers every built-in graph driver into the global registry. */
import '../drivers/overlay/index.js';
import '../drivers/fuse-overlay/index.js';
import '../drivers/vfs/index.js';
