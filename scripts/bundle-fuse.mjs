#!/usr/bin/env node
// Bundles strata-fuse's server (src/fuse/main.ts and everything it imports) into one CommonJS file,
// dist/strata-fuse.cjs, which bin/strata-fuse and the fuse-overlay driver run. Node resolves and
// loads each of ~30 ES modules on its own, and an ES import of a builtin builds a facade over all of
// its exports (node:fs's lazy ReadStream getter alone loads node:stream); one CommonJS file with
// plain require()s of builtins starts ~35 ms of CPU sooner. fuse-native stays outside: it finds its
// compiled addon relative to its own directory.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [join(root, 'src', 'fuse', 'main.ts')],
  outfile: join(root, 'dist', 'strata-fuse.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['fuse-native'],
  // The sources locate the package and load addons from import.meta.url, which CommonJS lacks;
  // strict mode first, as the ES modules had it (a directive after the banner would not count).
  banner: { js: "'use strict';\nconst __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__importMetaUrl' },
  sourcemap: 'linked',
  logLevel: 'warning',
});
