/**
 * How the kernel `overlay` driver decides it can take a home: probes run once and cached in
 * <runroot>/overlay, incompatible backing filesystems, kernels too old or limited to one lower
 * (decided by pure functions, since this host cannot be one), and no home left by a failed init.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/drivers.js';
import { initOverlay } from '../../drivers/overlay/index.js';
import { kernelVersionProblem, lowerMountsVerdict } from '../../drivers/overlay/probe.js';
import { parseOverlayOptions } from '../../drivers/overlay-layout/options.js';
import { ErrIncompatibleFS, ErrNotSupported, is } from '../../src/errors.js';
import { mount } from '../../src/native.js';
import { newDriver } from '../../src/registry.js';
import { tempDir } from '../helpers/tmp.js';

function runHome(root: string): string {
  return join(root, 'run', 'overlay');
}

async function initIn(root: string, driverOptions: string[] = []) {
  return initOverlay(join(root, 'overlay'), { root, runRoot: join(root, 'run'), driverOptions });
}

describe('overlay probes are cached per run root', () => {
  it('a recorded verdict is used instead of probing again', async () => {
    const root = tempDir();
    // Probed for real, a mount option the kernel rejects fails the test mount…
    const err = await initIn(root, ['overlay.mountopt=strata_bogus']).catch((e: unknown) => e);
    expect(is(err, ErrNotSupported)).toBe(true);
    expect(String(err)).toMatch(/overlay test mount failed/);
    expect(readdirSync(runHome(root))).toEqual(['overlay(strata_bogus)-false']);

    // …while cached verdicts saying it works are believed without a test mount.
    const other = tempDir();
    mkdirSync(runHome(other), { recursive: true });
    writeFileSync(join(runHome(other), 'overlay(strata_bogus)-true'), '');
    writeFileSync(join(runHome(other), 'native-diff(strata_bogus)-true'), '');
    const d = await initIn(other, ['overlay.mountopt=strata_bogus']);
    await d.cleanup();
  });

  it('a first init records both verdicts and leaves no probe directories in the home', async () => {
    const root = tempDir();
    const d = await initIn(root);
    expect(readdirSync(runHome(root)).sort()).toEqual(['native-diff()-true', 'overlay()-true']);
    expect(readdirSync(join(root, 'overlay'))).toEqual(['l']);
    await d.cleanup();
  });

  it('a failed init on a fresh root leaves no overlay home for newDriver to mistake as prior', async () => {
    const root = tempDir();
    mkdirSync(runHome(root), { recursive: true });
    writeFileSync(join(runHome(root), 'overlay()-false'), 'overlay test mount failed: ENODEV');
    await expect(initIn(root)).rejects.toThrow(/ENODEV/);
    expect(existsSync(join(root, 'overlay'))).toBe(false);
  });
});

describe('overlay refuses homes on filesystems it cannot stack on', () => {
  it('a home on an overlay mount is ErrIncompatibleFS, and newDriver moves on to fuse-overlay', async () => {
    const base = tempDir();
    for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(base, d));
    mount('overlay', join(base, 'merged'), 'overlay', 0, `lowerdir=${join(base, 'lower')},upperdir=${join(base, 'upper')},workdir=${join(base, 'work')}`);
    const root = join(base, 'merged', 'root');
    const err = await initIn(root).catch((e: unknown) => e);
    expect(is(err, ErrIncompatibleFS)).toBe(true);
    expect(String(err)).toMatch(/'overlay' is not supported over overlayfs/);
    expect(existsSync(join(root, 'overlay'))).toBe(false);

    const sel = await newDriver('', { root, runRoot: join(base, 'run') });
    expect(sel.name).toBe('fuse-overlay');
    expect(sel.decisions[0]).toMatchObject({ name: 'overlay', outcome: 'skipped' });
    await sel.driver.cleanup();
  });
});

describe('kernels overlay cannot serve', () => {
  it('a kernel before 4.0 lacks multiple lowers, unless override_kernel_check says otherwise', () => {
    expect(kernelVersionProblem('3.19.0-84-generic')).toMatch(/kernel 3\.19\.0-84-generic too old to provide multiple lowers/);
    expect(kernelVersionProblem('4.0.0')).toBeUndefined();
    expect(kernelVersionProblem('6.18.44-fc-v669')).toBeUndefined();
    expect(kernelVersionProblem('not-a-version')).toBeUndefined();
    expect(parseOverlayOptions(['overlay.override_kernel_check=true'], ['overlay.']).overrideKernelCheck).toBe(true);
    expect(parseOverlayOptions([], ['overlay.']).overrideKernelCheck).toBe(false);
  });

  it('one lower mounting where two fail is a single-lower kernel; both failing is a broken overlay', () => {
    expect(lowerMountsVerdict({})).toBeUndefined();
    expect(lowerMountsVerdict({ twoLowers: 'EINVAL: invalid argument' })).toMatch(
      /^kernel supports a single lower layer only: .*two lower layers failed \(EINVAL: invalid argument\)/,
    );
    expect(lowerMountsVerdict({ twoLowers: 'EINVAL', oneLower: 'ENODEV' })).toBe('overlay test mount failed: EINVAL');
  });

  it('a single-lower verdict makes init ErrNotSupported, so newDriver picks fuse-overlay', async () => {
    const base = tempDir();
    const root = join(base, 'root');
    const runRoot = join(base, 'run');
    mkdirSync(join(runRoot, 'overlay'), { recursive: true });
    writeFileSync(join(runRoot, 'overlay', 'overlay()-false'), lowerMountsVerdict({ twoLowers: 'EINVAL' })!);
    const sel = await newDriver('', { root, runRoot });
    expect(sel.name).toBe('fuse-overlay');
    expect(sel.decisions[0]?.reason).toMatch(/single lower layer only/);
    expect(existsSync(join(root, 'overlay'))).toBe(false);
    await sel.driver.cleanup();
  });
});
