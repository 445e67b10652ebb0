/**
 * The kernel `overlay` driver: the shared overlay layout mounted by the kernel. Init refuses with
 * ErrNotSupported when this process cannot mount overlay, so newDriver moves on to fuse-overlay.
 */
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Driver, DriverOptions } from '../../src/driver.js';
import { ErrNotSupported, ErrInvalidOption } from '../../src/errors.js';
import { mustRegister } from '../../src/registry.js';
import { OverlayFamilyDriver } from '../overlay-layout/driver-base.js';
import { imageStoreHomes, linkDir, OverlayLayout } from '../overlay-layout/layout.js';
import { parseOverlayOptions } from '../overlay-layout/options.js';
import {
  cachedCheck,
  cachedFlag,
  checkBackingFs,
  checkMountRights,
  kernelVersionProblem,
  nativeDiffProblem,
  testMount,
} from './probe.js';
import { KernelMounter } from './mounter.js';
import { makePrivateMount, releasePrivateMount } from './private-mount.js';

/** Where the probes' verdicts are cached: `<runroot>/overlay`, or beside the home without a run root. */
export function runHomeFor(home: string, options: DriverOptions): string {
  return join(options.runRoot ?? join(dirname(home), '.run'), 'overlay');
}

export async function initOverlay(home: string, options: DriverOptions): Promise<Driver> {
  const opts = parseOverlayOptions(options.driverOptions ?? [], ['overlay.', 'overlay2.']);
  if (opts.mountProgram !== undefined) {
    // containers/storage's overlay with a mount program is our fuse-overlay driver.
    throw new ErrNotSupported(`overlay: mount_program ${opts.mountProgram} is set: layers are mounted by fuse-overlay`);
  }
  if (opts.forceMask !== undefined) {
    throw new ErrInvalidOption('overlay: force_mask option for writeable layers is only supported with a mount program (fuse-overlay)');
  }
  // Checks that need no home first: a failed init must not leave a home newDriver would take as prior.
  const rights = checkMountRights();
  const tooOld = opts.overrideKernelCheck ? undefined : kernelVersionProblem();
  if (tooOld !== undefined) throw new ErrNotSupported(tooOld);
  const userXattr = rights === 'userns';
  const madeHome = !existsSync(home);
  mkdirSync(join(home, linkDir), { recursive: true, mode: 0o700 });
  let host: ReturnType<typeof checkBackingFs>;
  let nativeDiff: boolean;
  try {
    host = checkBackingFs(home, rights);
    const runHome = runHomeFor(home, options);
    const variant = `${opts.mountOptions}${userXattr ? ',userxattr' : ''}`;
    cachedCheck(runHome, `overlay(${variant})`, () => testMount(home, userXattr, opts.mountOptions));
    nativeDiff = cachedFlag(runHome, `native-diff(${variant})`, () => nativeDiffProblem(home, userXattr, opts.mountOptions)).ok;
  } catch (err) {
    if (madeHome) removeEmptyHome(home);
    throw err;
  }
  if (!opts.skipMountHome) makePrivateMount(home);

  const layout = new OverlayLayout(home, imageStoreHomes(opts.imageStores, 'overlay'));
  await layout.repairLinks();
  return new OverlayFamilyDriver({
    name: 'overlay',
    layout,
    options: opts,
    mounter: new KernelMounter(home, userXattr),
    whiteoutFormat: 'overlay',
    userXattr,
    nativeDiff,
    owner: { uid: 0, gid: 0 },
    // Idmapped lower layers (mount_setattr) are not used: mappings need a mapped copy instead.
    shifting: false,
    release: opts.skipMountHome ? undefined : () => releasePrivateMount(home),
    status: [
      ['Backing Filesystem', host.backingFs],
      ['Supports d_type', String(host.dType)],
      ['Using user xattrs', String(userXattr)],
    ],
  });
}

/** Removes a home this init created, only while it holds nothing but the empty l/ dir. */
function removeEmptyHome(home: string): void {
  try {
    rmdirSync(join(home, linkDir));
    rmdirSync(home);
  } catch {
    // not empty after all: keep it
  }
}

mustRegister('overlay', initOverlay);
