#!/usr/bin/env node
/**
 * Makes node_modules/fuse-native the build strata needs: applies patches/fuse-native+2.2.6.patch
 * (once; a changed patch replaces the applied one) and compiles it with node-gyp against the
 * system libfuse.so.2, but only when the sources are newer than the built addon. A no-op in a few
 * milliseconds otherwise. scripts/build-native.mjs awaits the default export; `node
 * scripts/build-fuse-native.mjs [--force]` runs it directly.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const VERSION = '2.2.6';
const PATCH_NAME = `fuse-native+${VERSION}.patch`;
/** The line the patch adds to fuse-native.c; its presence means "a strata patch is applied". */
const MARKER = '#define FUSE_NATIVE_STRATA_PATCH';
/** A copy of the applied patch, so an updated patch can first reverse the old one. */
const APPLIED = '.strata-patch';
/** patch-package paths are a/node_modules/fuse-native/FILE: strip three components. */
const STRIP = '-p3';
/** Sources whose change requires a rebuild. */
const SOURCES = [
  'fuse-native.c', 'strata-fast.h', 'strata-internal.h', 'strata-cache.c', 'strata-fdio.c', 'strata-channel.c',
  'strata-own.c', 'strata-passthrough.c', 'binding.gyp', 'semaphore.h',
];
const ADDON = join('build', 'Release', 'fuse.node');

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

class BuildError extends Error {
  constructor(message) {
    super(`build-fuse-native: ${message}`);
    this.name = 'BuildError';
  }
}

function fuseNativeDir() {
  let pkgJson;
  try {
    pkgJson = createRequire(join(repoRoot, 'package.json')).resolve('fuse-native/package.json');
  } catch {
    throw new BuildError(`fuse-native is not installed under ${repoRoot}: run "npm ci"`);
  }
  const dir = dirname(pkgJson);
  const { version } = JSON.parse(readFileSync(pkgJson, 'utf8'));
  if (version !== VERSION) {
    throw new BuildError(`${dir} is fuse-native ${version}, but ${PATCH_NAME} is for ${VERSION}`);
  }
  return dir;
}

function runPatch(dir, patchText, args) {
  const r = spawnSync('patch', [STRIP, '--batch', '--no-backup-if-mismatch', ...args], {
    cwd: dir,
    input: patchText,
    encoding: 'utf8',
  });
  if (r.error?.code === 'ENOENT') {
    throw new BuildError('GNU patch is missing: apt-get install patch (it comes with build-essential)');
  }
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

function applyPatch(dir, patchText, reverse = false) {
  const extra = reverse ? ['--reverse'] : ['--forward'];
  const dry = runPatch(dir, patchText, [...extra, '--dry-run']);
  if (!dry.ok) return dry;
  return runPatch(dir, patchText, extra);
}

/** Ensures the current patch is applied; returns true when the sources changed. */
function ensurePatched(dir, log) {
  const patchFile = join(repoRoot, 'patches', PATCH_NAME);
  if (!existsSync(patchFile)) throw new BuildError(`missing ${patchFile}`);
  const patch = readFileSync(patchFile, 'utf8');
  const cFile = join(dir, 'fuse-native.c');
  const appliedFile = join(dir, APPLIED);
  const marked = readFileSync(cFile, 'utf8').includes(MARKER);
  const applied = existsSync(appliedFile) ? readFileSync(appliedFile, 'utf8') : undefined;

  if (marked && applied === patch) return false;
  if (marked && runPatch(dir, patch, ['--reverse', '--dry-run']).ok) {
    // Already this patch (applied by hand, or the tree the patch was just made from).
    writeFileSync(appliedFile, patch);
    return true;
  }
  if (marked) {
    // An older patch we kept a copy of: take it out before applying the current one.
    const undo = applied !== undefined ? applyPatch(dir, applied, true) : { ok: false, output: 'no copy of it was kept' };
    if (!undo.ok) {
      throw new BuildError(
        `${dir} carries a strata patch that cannot be reversed; reinstall it ` +
          `(rm -rf ${dir} && npm ci) and run again:\n${undo.output}`,
      );
    }
  }
  const r = applyPatch(dir, patch);
  if (!r.ok) throw new BuildError(`${PATCH_NAME} does not apply to ${dir}:\n${r.output}`);
  writeFileSync(appliedFile, patch);
  log(`build-fuse-native: applied ${PATCH_NAME}`);
  return true;
}

function hasCommand(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** The directory holding libfuse.so.2, from the loader cache or the usual multiarch paths. */
function findLibfuse() {
  const cache = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
  const line = (cache.stdout ?? '').split('\n').find((l) => /^\s*libfuse\.so\.2\s/.test(l));
  if (line) return line.split('=>')[1]?.trim();
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];
  return dirs.map((d) => join(d, 'libfuse.so.2')).find((p) => existsSync(p));
}

function checkPrerequisites(dir) {
  if (!findLibfuse()) {
    throw new BuildError('libfuse2 is not installed (no libfuse.so.2 found): apt-get install libfuse2');
  }
  // fuse-native compiles against the libfuse 2.9.9 headers that fuse-shared-library-linux ships.
  let headers;
  try {
    const req = createRequire(join(dir, 'package.json'));
    headers = join(dirname(req.resolve('fuse-shared-library-linux/package.json')), 'libfuse', 'include', 'fuse.h');
  } catch {
    headers = undefined;
  }
  if (!headers || !existsSync(headers)) {
    throw new BuildError(
      `the libfuse 2 headers are missing (${headers ?? 'fuse-shared-library-linux not installed'}): ` +
        'reinstall the npm dependencies (npm ci)',
    );
  }
  const missing = ['make', 'python3'].filter((c) => !hasCommand(c));
  if (!hasCommand('cc') && !hasCommand('gcc')) missing.unshift('a C compiler');
  if (missing.length) {
    throw new BuildError(`cannot compile fuse-native: missing ${missing.join(', ')} (apt-get install build-essential python3)`);
  }
}

function needsBuild(dir) {
  const addon = join(dir, ADDON);
  if (!existsSync(addon)) return true;
  const built = statSync(addon).mtimeMs;
  if (SOURCES.some((f) => statSync(join(dir, f)).mtimeMs > built)) return true;
  // A build from unpatched sources (e.g. an install script that ran before us) lacks the marker.
  return !readFileSync(addon).includes('FUSE_NATIVE_STRATA_PATCH');
}

function nodeGypScript() {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(createRequire(join(repoRoot, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not a dev install; npm's own copy below
  }
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new BuildError('node-gyp not found (neither a dev dependency nor bundled with npm)');
  return found;
}

/** node-gyp downloads Node's headers unless told where installed ones are; offline that fails. */
function nodedirArgs() {
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'common.gypi'))) return [`--nodedir=${prefix}`];
  const cached = join(homedir(), '.cache', 'node-gyp', process.versions.node);
  if (existsSync(cached)) return [];
  throw new BuildError(
    `no Node headers: neither ${prefix}/include/node nor ${cached} exists; install Node's headers ` +
      '(the nodejs package ships them) or run node-gyp install once with network access',
  );
}

function build(dir, log) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [nodeGypScript(), 'rebuild', ...nodedirArgs()], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, npm_config_loglevel: 'warn' },
  });
  if (r.status !== 0) {
    throw new BuildError(`node-gyp rebuild failed in ${dir}:\n${`${r.stdout}${r.stderr}`.trim()}`);
  }
  // Prove the result loads and is ours; index.js refuses anything else.
  const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(dir)})`], { encoding: 'utf8' });
  if (check.status !== 0) throw new BuildError(`the rebuilt fuse-native does not load:\n${check.stderr.trim()}`);
  log(`build-fuse-native: built ${join(dir, ADDON)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * Patches and builds fuse-native when needed. Options: `force` rebuilds regardless, `log`
 * receives progress lines (default: stderr). Throws a BuildError naming what is missing.
 */
export default async function buildFuseNative({ force = false, log = (line) => console.error(line) } = {}) {
  const dir = fuseNativeDir();
  const patched = ensurePatched(dir, log);
  if (!force && !patched && !needsBuild(dir)) return { dir, built: false };
  checkPrerequisites(dir);
  build(dir, log);
  return { dir, built: true };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  buildFuseNative({ force: process.argv.includes('--force') }).catch((err) => {
    console.error(err instanceof BuildError ? err.message : err);
    process.exit(1);
  });
}
