/**
 * The `fuse-overlay` driver: the same on-disk layers as `overlay`, mounted in userspace by
 * strata-fuse (or overlay.mount_program), for hosts and users without overlay mount rights.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Driver, DriverOptions } from '../../src/driver.js';
import { ErrPrerequisites } from '../../src/errors.js';
import { mustRegister } from '../../src/registry.js';
import { OverlayFamilyDriver } from '../overlay-layout/driver-base.js';
import { imageStoreHomes, linkDir, OverlayLayout } from '../overlay-layout/layout.js';
import { parseOverlayOptions } from '../overlay-layout/options.js';
import { mountRights } from '../overlay-layout/privilege.js';
import { backingFsName } from '../../src/fs/backing-fs.js';
import { serverMain } from '../../src/fuse/launch.js';
import { FuseMounter, programName, type MountProgram } from './mounter.js';
import { canMknodWhiteouts, checkFuse } from './probe.js';

/** strata-fuse's server as built into dist/, run by this Node so it works without a global install. */
export function strataFuseProgram(): MountProgram {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  const main = serverMain(dir);
  if (!existsSync(main)) throw new ErrPrerequisites(`fuse-overlay: ${main} is not built; run "npm run build"`);
  return { kind: 'strata-fuse', node: process.execPath, main };
}

export async function initFuseOverlay(home: string, options: DriverOptions): Promise<Driver> {
  const opts = parseOverlayOptions(options.driverOptions ?? [], ['fuse-overlay.', 'overlay.', 'overlay2.']);
  const { fusermount } = checkFuse();
  const program: MountProgram = opts.mountProgram !== undefined ? { kind: 'external', path: opts.mountProgram } : strataFuseProgram();
  mkdirSync(join(home, linkDir), { recursive: true, mode: 0o700 });
  // trusted.* xattrs need real root; root of a user namespace keeps overlay xattrs in user.* too.
  const userXattr = mountRights() !== 'root';
  // 0/0 devices are what the kernel driver reads too; without mknod rights `.wh.` files are the fallback.
  const mknodOk = canMknodWhiteouts(home);
  const layout = new OverlayLayout(home, imageStoreHomes(opts.imageStores, 'fuse-overlay'));
  await layout.repairLinks();
  const extra = opts.forceMask !== undefined ? ['xattr_permissions=2'] : [];
  return new OverlayFamilyDriver({
    name: 'fuse-overlay',
    layout,
    options: opts,
    mounter: new FuseMounter(home, program, fusermount, extra),
    whiteoutFormat: mknodOk ? 'overlay' : 'aufs',
    userXattr,
    nativeDiff: true,
    owner: { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 },
    shifting: true,
    status: [
      ['Backing Filesystem', backingFsName(home)],
      ['Supports d_type', 'true'],
      ['Mount Program', programName(program)],
      ['Whiteouts', mknodOk ? 'char 0/0 devices' : '.wh. files'],
    ],
  });
}

mustRegister('fuse-overlay', initFuseOverlay);
