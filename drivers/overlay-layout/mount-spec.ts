/**
 * What a mount of a layer stacks, decided once for both overlay drivers; a Mounter (kernel or
 * FUSE) only turns the MountSpec into its own syntax.
 */
import { join } from 'node:path';
import type { MountOpts } from '../../src/driver.js';
import { hasCode } from '../../src/errors.js';
import { constants, umount2 } from '../../src/native.js';
import { diffDirName, emptyDirName, ErrMaxDepth, maxDepth, mergedDirName, workDirName, type OverlayLayout } from './layout.js';

/** One mount request: absolute lowers (uppermost first) and, unless read-only, an upper and work dir. */
export interface MountSpec {
  id: string;
  target: string;
  lowers: string[];
  /** The same lowers as mount options name them: `l/<LID>` relative to the home, absolute outside it. */
  lowerLinks: string[];
  upper?: string;
  work?: string;
  /** Extra options from the caller and the driver's mountopt. */
  options: string[];
  uidMaps?: MountOpts['uidMaps'];
  gidMaps?: MountOpts['gidMaps'];
}

export interface Mounter {
  mount(spec: MountSpec): Promise<void>;
  unmount(target: string): Promise<void>;
  /** True when `target` currently holds one of this mounter's mounts. */
  isMounted(target: string): boolean;
}

export interface PlanOptions {
  readOnly: boolean;
  /** Mount options, `ro` already taken out. */
  options: string[];
  uidMaps?: MountOpts['uidMaps'];
  gidMaps?: MountOpts['gidMaps'];
}

/**
 * Read-only, the layer's own diff becomes the top lower and there is no upper. overlay wants
 * one lower beside an upper and two without one, so a parentless layer adds its `empty` dir.
 */
export function planMount(layout: OverlayLayout, id: string, driverName: string, opts: PlanOptions): MountSpec {
  const dir = layout.mustExist(id);
  const diff = join(dir, diffDirName);
  const stacked = layout.stackedDiffs(id);
  let lowers = [...stacked, ...layout.lowerDirs(id)];
  let lowerLinks = [...stacked.map((d) => layout.homeRelative(d)), ...layout.mountLowers(id)];
  if (opts.readOnly) {
    lowers = [diff, ...lowers];
    lowerLinks = [layout.homeRelative(diff), ...lowerLinks];
  }
  if (lowers.length < (opts.readOnly ? 2 : 1)) {
    const empty = join(dir, emptyDirName);
    lowers = [...lowers, empty];
    lowerLinks = [...lowerLinks, layout.homeRelative(empty)];
  }
  if (lowers.length > maxDepth) {
    throw new ErrMaxDepth(`${driverName}: mounting layer ${id} read-only would stack ${lowers.length} lower layers (limit ${maxDepth})`);
  }
  const spec: MountSpec = {
    id,
    target: join(dir, mergedDirName),
    lowers,
    lowerLinks,
    options: opts.options,
    uidMaps: opts.uidMaps,
    gidMaps: opts.gidMaps,
  };
  if (!opts.readOnly) {
    spec.upper = diff;
    spec.work = join(dir, workDirName);
  }
  return spec;
}

/** Lazily detaches a mount; a target that is no longer mounted (EINVAL) or gone (ENOENT) is fine. */
export function detachMount(target: string): void {
  try {
    umount2(target, constants.MNT_DETACH);
  } catch (err) {
    if (!hasCode(err, 'EINVAL') && !hasCode(err, 'ENOENT')) throw err;
  }
}
