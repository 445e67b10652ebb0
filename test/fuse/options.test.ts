/** The strata-fuse command line and id mappings, as mount.fuse, podman and people write them. */
import { describe, expect, it } from 'vitest';
import { is, ErrInvalidOption } from '../../src/errors.js';
import { IdMapper, parseIdMappings } from '../../src/fuse/mapping.js';
import { parseCommandLine, parseLowerdirs } from '../../src/fuse/options.js';

function parseError(argv: string[]): unknown {
  try {
    parseCommandLine(argv, '/cwd');
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('parseCommandLine', () => {
  it('takes SOURCE first as mount.fuse passes it, with options after', () => {
    const cl = parseCommandLine(['overlay', '/mnt', '-o', 'rw,lowerdir=/a:/b,upperdir=/u,workdir=/w,nodev'], '/');
    expect(cl.source).toBe('overlay');
    expect(cl.mountpoint).toBe('/mnt');
    expect(cl.config.lowerdirs).toEqual(['/a', '/b']);
    expect(cl.config.upperdir).toBe('/u');
    expect(cl.config.kernelOptions).toEqual(['rw', 'nodev']);
    expect(cl.foreground).toBe(false);
  });

  it('resolves podman-style relative lowers against the cwd and skips empty options', () => {
    const cl = parseCommandLine(['-o', 'lowerdir=l/A:l/B,upperdir=d/diff,workdir=d/work,,volatile', 'merged', '-f'], '/home/drv');
    expect(cl.config.lowerdirs).toEqual(['/home/drv/l/A', '/home/drv/l/B']);
    expect(cl.config.upperdir).toBe('/home/drv/d/diff');
    expect(cl.mountpoint).toBe('/home/drv/merged');
    expect(cl.config.fsync).toBe(false);
    expect(cl.foreground).toBe(true);
    expect(cl.warnings).toEqual([]);
  });

  it('keeps escaped colons in lower paths and joins repeated -o arguments', () => {
    expect(parseLowerdirs('/x\\:y:/z', '/')).toEqual(['/x:y', '/z']);
    const cl = parseCommandLine(['-olowerdir=/l', '-o', 'upperdir=/u', '-o', 'workdir=/w,squash_to_uid=5,xattr_permissions=2', '/m'], '/');
    expect(cl.config.squashToUid).toBe(5);
    expect(cl.config.xattrPermissions).toBe(2);
    expect(cl.config.readOnly).toBe(false);
  });

  it('accepts the fuse-overlayfs options and warns about unknown ones', () => {
    const cl = parseCommandLine(
      ['-o', 'lowerdir=/l,static_nlink,noacl,fsync=0,timeout=5,attr_timeout=0.5,allow_other,default_permissions,context="system_u:object_r:container_file_t:s0",frobnicate=1', '-x', '/m'],
      '/',
    );
    expect(cl.config).toMatchObject({ staticNlink: true, noacl: true, fsync: false, timeout: 5, attrTimeout: 0.5, allowOther: true });
    expect(cl.config.context).toBe('"system_u:object_r:container_file_t:s0"');
    expect(cl.warnings).toEqual(['unknown argument ignored: frobnicate=1', 'unknown argument ignored: -x']);
  });

  it('makes a mount without upperdir (or with ro) read-only', () => {
    expect(parseCommandLine(['-o', 'lowerdir=/l', '/m'], '/').config.readOnly).toBe(true);
    expect(parseCommandLine(['-o', 'lowerdir=/l,upperdir=/u,workdir=/w,ro', '/m'], '/').config.readOnly).toBe(true);
  });

  it('refuses bad command lines with ErrInvalidOption naming the problem', () => {
    const cases: Array<[string[], RegExp]> = [
      [['-o', 'lowerdir=/l'], /no mount point/],
      [['/m'], /no lowerdir/],
      [['-o', 'lowerdir=/l,upperdir=/u', '/m'], /upperdir \/u given without workdir/],
      [['-o', 'lowerdir=/l,xattr_permissions=3', '/m'], /xattr_permissions/],
      [['-o', 'lowerdir=/l,uidmapping=0:1', '/m'], /invalid id mapping "0:1"/],
      [['a', 'b', 'c', '-o', 'lowerdir=/l'], /too many arguments/],
    ];
    for (const [argv, message] of cases) {
      const err = parseError(argv);
      expect(is(err, ErrInvalidOption), argv.join(' ')).toBe(true);
      expect((err as Error).message).toMatch(message);
    }
  });
});

describe('id mapping', () => {
  it('parses triples, tolerating a leading colon', () => {
    expect(parseIdMappings(':0:100000:65536:65536:1000:1')).toEqual([
      { disk: 0, shown: 100000, size: 65536 },
      { disk: 65536, shown: 1000, size: 1 },
    ]);
  });

  it('maps both ways, with the overflow id outside every range and squash on the way out', () => {
    const m = new IdMapper(parseIdMappings('0:1000:10'), undefined, 65534);
    expect([m.toShown(0), m.toShown(9), m.toShown(10)]).toEqual([1000, 1009, 65534]);
    expect([m.toDisk(1000), m.toDisk(1005), m.toDisk(5)]).toEqual([0, 5, 65534]);
    const squash = new IdMapper([], 0, 65534);
    expect([squash.toShown(1234), squash.toDisk(1234)]).toEqual([0, 1234]);
  });
});
