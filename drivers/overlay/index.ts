/**
 * The kernel `overlay` driver: the shared overlay layout mounted by the kernel. Init refuses with
 * ErrNotSupported when this process cannot mount overlay, so newDriver moves on to fuse-overlay.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Driver, DriverOptions } from '../../src/driver.js';
import { ErrNotSupported, ErrInvalidOption } from '../../src/errors.js';
import { mustRegister } from '../../src/registry.js';
import { OverlayFamilyDriver } from '../overlay-layout/driver-base.js';
import { linkDir, OverlayLayout } from '../overlay-layout/layout.js';
import { parseOverlayOptions } from '../overlay-layout/options.js';
import { cachedCheck, cachedFlag, checkHost, nativeDiffProblem, testMount } from './probe.js';
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
  mkdirSync(join(home, linkDir), { recursive: true, mode: 0o700 });
  const host = checkHost(home);
  const userXattr = host.rights === 'userns';
  const runHome = runHomeFor(home, options);
  const feature = `overlay(${opts.mountOptions}${userXattr ? ',userxattr' : ''})`;
  cachedCheck(runHome, feature, () => testMount(home, userXattr, opts.mountOptions));
  const native = cachedFlag(runHome, `native-diff(${opts.mountOptions}${userXattr ? ',userxattr' : ''})`, () =>
    nativeDiffProblem(home, userXattr, opts.mountOptions),
  );
  if (!opts.skipMountHome) makePrivateMount(home);

  const layout = new OverlayLayout(home, opts.imageStores);
  await layout.repairLinks();
  return new OverlayFamilyDriver({
    name: 'overlay',
    layout,
    options: opts,
    mounter: new KernelMounter(home, userXattr),
    whiteoutFormat: 'overlay',
    userXattr,
    nativeDiff: native.ok,
    owner: { uid: 0, gid: 0 },
    release: opts.skipMountHome ? undefined : () => releasePrivateMount(home),
    status: [
      ['Backing Filesystem', host.backingFs],
      ['Supports d_type', String(host.dType)],
      ['Using user xattrs', String(userXattr)],
    ],
  });
}

mustRegister('overlay', initOverlay);
