/**
 * The Linux priority list: kernel overlay first (fastest, needs mount rights), then our FUSE
 * overlay (rootless, same on-disk layers), then vfs (full copies, works anywhere).
 */
export const defaultPriority: readonly string[] = ['overlay', 'fuse-overlay', 'vfs'];
