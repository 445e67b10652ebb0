#!/usr/bin/env node
// Bundles strata-fuse's server (src/fuse/main.ts and everything it imports) into one ES module,
// dist/strata-fuse.mjs, which bin/strata-fuse and the fuse-overlay driver run. Node resolves and
// loads each of ~30 modules on its own; as one file the server reaches its mount ~25 ms sooner.
// fuse-native stays outside: it finds its compiled addon relative to its own directory.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [join(root, 'src', 'fuse', 'main.ts')],
  outfile: join(root, 'dist', 'strata-fuse.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['fuse-native'],
  sourcemap: 'linked',
  logLevel: 'warning',
});
