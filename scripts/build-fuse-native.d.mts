/** Types of build-fuse-native.mjs's default export, for its callers in TypeScript. */
export default function buildFuseNative(opts?: { force?: boolean; log?: (line: string) => void }): Promise<{ dir: string; built: boolean }>;
