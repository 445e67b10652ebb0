/**
 * Rootless end to end, as the unprivileged user strata-rootless (no user namespace, /dev/fuse
 * usable by everyone): the store picks fuse-overlay by itself and every step works without root,
 * container root shown as that user through fuse-overlay's uidmapping/gidmapping.
 */
import { chownSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerArchiveFiles, ociLayoutFiles, writeArchive } from '../../src/image/index.js';
import { repoRoot, rootlessUser, runAs, runTsAs, type TestUser } from '../helpers/rootless.js';
import { tempDir } from '../helpers/tmp.js';
import { expectFlow } from './expect-flow.js';
import { flowImage, type FlowReport } from './flow.js';

const user = rootlessUser();

/** A directory the user owns, in a temp dir root can clean up (unmounting first). */
function userDir(base: string, name: string, u: TestUser): string {
  const dir = join(base, name);
  mkdirSync(dir);
  chownSync(dir, u.uid, u.gid);
  return dir;
}

/** Paths under `dir` not owned by `uid`. */
function notOwnedBy(dir: string, uid: number): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    if (lstatSync(p).uid !== uid) out.push(p);
  }
  return out;
}

/** The strata CLI run as `u` on a store in `work`, with `opts` before each command's own arguments. */
function cliAs(u: TestUser, work: string, ...opts: string[]) {
  return (...argv: string[]) =>
    runAs(u, process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), '-g', join(work, 'g'), '-R', join(work, 'r'), ...opts, ...argv]);
}

/** The flow image as an OCI layout, and a work directory `u` owns, in a fresh temp dir. */
async function layoutAndWork(u: TestUser): Promise<{ archive: string; image: ReturnType<typeof flowImage>; work: string }> {
  const base = tempDir();
  const archive = join(base, 'layout');
  const image = flowImage();
  await writeArchive(ociLayoutFiles([image]), archive, 'dir');
  return { archive, image, work: userDir(base, 'work', u) };
}

describe.skipIf(user === undefined)('rootless, as strata-rootless', () => {
  it('an empty store picks fuse-overlay; import, mount, write, commit, diff, delete all work, root files shown as the user', async () => {
    const u = user!;
    const base = tempDir();
    const archive = join(base, 'image.tar');
    await writeArchive(dockerArchiveFiles([flowImage()]), archive, 'tar');
    const work = userDir(base, 'work', u);
    const args = [join(work, 'graph'), join(work, 'run'), archive, join(work, 'export.tar')];
    const res = runTsAs(u, join(repoRoot, 'test/e2e/fixtures/rootless-flow.ts'), args);
    const line = res.stdout.trim().split('\n').at(-1) ?? '';
    const out = JSON.parse(line || '{}') as { ok: boolean; uid: number; error?: string; report: FlowReport };
    expect(out.ok, `${out.error ?? ''}\n${res.stderr}`).toBe(true);
    expect(out.uid).toBe(u.uid);
    const r = out.report;

    expect(r.driver).toBe('fuse-overlay');
    expect(r.decisions.map((d) => `${d.outcome} ${d.name}`)).toEqual(['skipped overlay', 'chosen fuse-overlay']);
    expect(r.decisions[0]!.reason).toMatch(/needs root or a user namespace/);
    expectFlow(r);
    // Container root is the user through the mount; ids outside the mapping show as the overflow id.
    expect(r.owners).toEqual({ motd: [u.uid, u.gid], notes: [65534, 65534], written: [u.uid, u.gid] });
    // Nothing the flow left on disk belongs to anyone but the user: no step needed root.
    expect(notOwnedBy(work, u.uid)).toEqual([]);
  });

  it('strata import-image, images and status from the command line, without root', async () => {
    const u = user!;
    const { archive, image, work } = await layoutAndWork(u);
    const cli = cliAs(u, work, '--storage-opt', 'fuse-overlay.force_mask=shared');
    const imported = cli('import-image', archive);
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toBe(`${image.configDigest.slice(7)}\n\te2e.example/base:1\n`);
    expect(cli('images', '--quiet').stdout).toBe(`${image.configDigest.slice(7)}\n`);
    const status = cli('status');
    expect(status.status).toBe(0);
    // The first command found no home and picked fuse-overlay; from then on its home decides.
    expect(status.stdout + status.stderr).toMatch(/Driver Chosen: fuse-overlay \(prior storage driver: .*\/g\/fuse-overlay exists\)/);
  });

  it('a failed import without root leaves nothing behind, so the next one (with force_mask) succeeds', async () => {
    const u = user!;
    const { archive, image, work } = await layoutAndWork(u);
    const cli = cliAs(u, work);
    // Root-owned layer entries cannot be chowned without root or a user namespace.
    const failed = cli('import-image', archive);
    expect(failed.status).not.toBe(0);
    expect(failed.stderr).toMatch(/chown to 0:0 failed \(without root or a user namespace, set the storage option/);
    // The half-applied layer (read-only directories included) was removed: only the l/ link dir is left.
    expect(readdirSync(join(work, 'g', 'fuse-overlay'))).toEqual(['l']);
    expect(readdirSync(join(work, 'g', 'fuse-overlay', 'l'))).toEqual([]);
    const imported = cli('--storage-opt', 'fuse-overlay.force_mask=shared', 'import-image', archive);
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toBe(`${image.configDigest.slice(7)}\n\te2e.example/base:1\n`);
  });
});
