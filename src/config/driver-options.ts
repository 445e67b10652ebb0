/**
 * [storage.options] tables become `driver.key=value` strings (DriverOptions.driverOptions) the
 * way containers/storage builds them: generic options take the configured driver's prefix, and
 * a driver's own table ([storage.options.overlay]) applies only when that driver is configured,
 * falling back to the generic value of the same key. With no driver configured the prefix is
 * empty (`.mountopt=…`), as in Go, since the choice is made later.
 */
import type { OptionsTable, OverlayTable } from './storage-conf.js';

/** Drivers that read [storage.options.overlay]: the kernel overlay and our FUSE overlay. */
const OVERLAY_FAMILY = new Set(['overlay', 'overlay2', 'fuse-overlay']);

export function driverOptionStrings(driver: string, o: OptionsTable): string[] {
  const out: string[] = [];
  const add = (key: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') out.push(`${driver}.${key}=${value}`);
  };
  for (const store of o.additionalimagestores) add('imagestore', store);
  add('size', o.size);
  add('mount_program', o.mount_program);
  add('skip_mount_home', o.skip_mount_home);
  add('ignore_chown_errors', o.ignore_chown_errors);
  add('force_mask', o.force_mask);
  add('mountopt', o.mountopt);
  if (OVERLAY_FAMILY.has(driver)) {
    const table: OverlayTable = o.overlay;
    add('ignore_chown_errors', table.ignore_chown_errors ?? o.ignore_chown_errors);
    add('mount_program', table.mount_program ?? o.mount_program);
    add('mountopt', table.mountopt ?? o.mountopt);
    add('size', table.size ?? o.size);
    add('inodes', table.inodes);
    add('skip_mount_home', table.skip_mount_home ?? o.skip_mount_home);
    add('force_mask', table.force_mask ?? o.force_mask);
  } else if (driver === 'vfs') {
    add('ignore_chown_errors', o.vfs.ignore_chown_errors ?? o.ignore_chown_errors);
  }
  // Go lists a generic value and its table fallback both; one of each is enough.
  return [...new Set(out)];
}
