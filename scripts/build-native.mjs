#!/usr/bin/env node
/**
 * Builds strata's C addon (native/ → native/build/Release/strata_native.node) with node-gyp, then the
 * patched fuse-native when scripts/build-fuse-native.mjs exists.
 * Quick when nothing changed: the addon is rebuilt only when a native source is newer than it, or with --force.
 * Usage: node scripts/build-native.mjs [--force]
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const addonPath = join(nativeDir, 'build', 'Release', 'strata_native.node');
const fuseScript = join(root, 'scripts', 'build-fuse-native.mjs');

/** A prerequisite or build failure, printed without a stack trace. */
class BuildError extends Error {}

function log(message) {
  console.log(`build-native: ${message}`);
}

/** The sources whose change makes the addon stale. */
function nativeSources() {
  return readdirSync(nativeDir)
    .filter((f) => /\.(c|h)$/.test(f) || f === 'binding.gyp')
    .map((f) => join(nativeDir, f));
}

function upToDate() {
  if (!existsSync(addonPath)) return false;
  const built = statSync(addonPath).mtimeMs;
  return nativeSources().every((f) => statSync(f).mtimeMs < built);
}

/** The first executable named `name` on PATH, or undefined. */
function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/**
 * Where node_api.h lives, as node-gyp options: an explicit nodedir (npm's `nodedir` config, or the prefix
 * node itself was installed under, e.g. /usr for /usr/bin/node) is passed on, so node-gyp never downloads
 * headers; node-gyp's own cache needs no option.
 */
function findHeaders() {
  const prefix = dirname(dirname(process.execPath));
  const nodedirs = [process.env.npm_config_nodedir, prefix].filter((d) => d);
  for (const dir of nodedirs) {
    if (existsSync(join(dir, 'include', 'node', 'node_api.h'))) return { args: [`--nodedir=${dir}`], where: dir };
  }
  const devdir = process.env.npm_config_devdir ?? join(homedir(), '.cache', 'node-gyp');
  const cached = join(devdir, process.versions.node);
  if (existsSync(join(cached, 'include', 'node', 'node_api.h'))) return { args: [], where: cached };
  const looked = [...nodedirs, cached].map((d) => join(d, 'include', 'node', 'node_api.h')).join(', ');
  throw new BuildError(
    `Node headers not found (no node_api.h at ${looked}). Install them with \`apt-get install libnode-dev\` ` +
      `(Debian's nodejs), or fetch them into node-gyp's cache with \`npx node-gyp install\`.`,
  );
}

/** Fails naming each missing tool and the Debian packages that provide them. */
function checkPrerequisites() {
  const missing = [];
  const has = (preferred, fallback) => onPath(preferred) ?? onPath(fallback);
  if (!has(process.env.CC ?? 'cc', 'gcc')) missing.push(['a C compiler (cc or gcc)', 'build-essential']);
  // gyp's Makefiles link with the C++ driver even for plain C.
  if (!has(process.env.CXX ?? 'c++', 'g++')) missing.push(['the C++ linker driver g++', 'build-essential']);
  if (!onPath('make')) missing.push(['make', 'build-essential']);
  if (!onPath('python3') && !process.env.PYTHON) missing.push(['python3 (node-gyp runs gyp with it)', 'python3']);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
  throw new BuildError(
    `cannot build the native addon: missing ${missing.map(([what]) => what).join(', ')}; ` +
      `install with \`apt-get install ${packages}\``,
  );
}

/** node-gyp as [command, ...leading args]: npm's own, the project's, or one on PATH. */
function findNodeGyp() {
  const local = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  for (const script of [process.env.npm_config_node_gyp, local]) {
    if (script && existsSync(script)) return [process.execPath, script];
  }
  const global = onPath('node-gyp');
  if (global) return [global];
  throw new BuildError('node-gyp not found: run `npm install` (it is a devDependency) or `npm install -g node-gyp`');
}

/** Builds the addon unless it is current; returns whether it built. */
export async function buildAddon({ force = false } = {}) {
  if (!force && upToDate()) {
    log(`${relative(root, addonPath)} is up to date`);
    return false;
  }
  checkPrerequisites();
  const headers = findHeaders();
  const [cmd, ...pre] = findNodeGyp();
  log(`building ${relative(root, addonPath)} against the headers in ${headers.where}`);
  const args = [...pre, 'rebuild', '--loglevel=warn', ...headers.args];
  const res = spawnSync(cmd, args, { cwd: nativeDir, stdio: 'inherit' });
  if (res.error) throw new BuildError(`could not run node-gyp (${cmd}): ${res.error.message}`);
  if (res.status !== 0) {
    throw new BuildError(`node-gyp rebuild failed in ${nativeDir} (exit ${res.status ?? res.signal})`);
  }
  if (!existsSync(addonPath)) throw new BuildError(`node-gyp reported success but ${addonPath} is missing`);
  return true;
}

/** The follow-on native build (patched fuse-native), when its script is present. */
async function buildFuseNative({ force }) {
  if (!existsSync(fuseScript)) return;
  try {
    const mod = await import(pathToFileURL(fuseScript).href);
    await mod.default({ force });
  } catch (err) {
    throw new BuildError(`building fuse-native (${relative(root, fuseScript)}) failed: ${err?.message ?? err}`, {
      cause: err,
    });
  }
}

export default async function buildNative({ force = false } = {}) {
  await buildAddon({ force });
  await buildFuseNative({ force });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await buildNative({ force: process.argv.includes('--force') });
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    console.error(`build-native: ${err.message}`);
    process.exitCode = 1;
  }
}
