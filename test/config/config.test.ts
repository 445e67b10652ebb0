import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { driverOptionStrings } from '../../src/config/driver-options.js';
import { loadStorageConfig, type ConfigEnv } from '../../src/config/load.js';
import { parseStorageConf } from '../../src/config/storage-conf.js';
import { is, ErrInvalidOption } from '../../src/errors.js';
import { strata } from '../cli/helpers.js';
import { tempDir } from '../helpers/tmp.js';

const full = `
[storage]
driver = "overlay"
driver_priority = ["overlay", "vfs"]
graphroot = "/srv/strata"
runroot = "/run/x"
rootless_storage_path = "$HOME/.strata"

[storage.options]
additionalimagestores = ["/ro/store"]
mount_program = "/usr/bin/generic"
ignore_chown_errors = "true"
force_mask = 0o700
remap-uids = "0:100000:65536"
remap-gids = "0:100000:65536"
pull_options = { enable_partial_images = "false" }

[storage.options.overlay]
mount_program = "/usr/bin/fuse-overlayfs"
mountopt = "nodev,metacopy=on"
force_mask = "shared"

[storage.options.vfs]
ignore_chown_errors = true
`;

function ctxFor(dir: string, uid: number, env: Record<string, string> = {}): ConfigEnv {
  return { env, uid, home: join(dir, 'home'), user: 'someone', tmpdir: join(dir, 'tmp'), systemConfig: join(dir, 'etc', 'storage.conf') };
}

function write(path: string, text: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe('storage.conf', () => {
  it('reads the [storage] table and its options tables', () => {
    const conf = parseStorageConf(full, 'storage.conf');
    expect(conf).toMatchObject({
      driver: 'overlay',
      driverPriority: ['overlay', 'vfs'],
      graphRoot: '/srv/strata',
      runRoot: '/run/x',
      rootlessStoragePath: '$HOME/.strata',
      unknownKeys: [],
    });
    expect(conf.options).toMatchObject({
      additionalimagestores: ['/ro/store'],
      mount_program: '/usr/bin/generic',
      force_mask: '700',
      pullOptions: { enable_partial_images: 'false' },
      overlay: { mount_program: '/usr/bin/fuse-overlayfs', mountopt: 'nodev,metacopy=on', force_mask: 'shared' },
      vfs: { ignore_chown_errors: 'true' },
    });
  });

  it('names the file and key of a bad value, and the line of a syntax error', () => {
    const err = (() => {
      try {
        parseStorageConf('[storage]\ngraphroot = ["a"]\n', '/etc/strata/storage.conf');
      } catch (e) {
        return e;
      }
    })();
    expect(is(err, ErrInvalidOption)).toBe(true);
    expect((err as Error).message).toBe('/etc/strata/storage.conf: storage.graphroot must be a string, not ["a"]');
    expect(() => parseStorageConf('[storage\n', 'x.conf')).toThrow(/^x\.conf:1:\d+: /);
    expect(parseStorageConf('[storage]\nfuture = 1\n', 'x').unknownKeys).toEqual(['storage.future']);
  });

  it('turns options into driver option strings as containers/storage does', () => {
    const o = parseStorageConf(full, 'c').options;
    expect(driverOptionStrings('overlay', o)).toEqual([
      'overlay.imagestore=/ro/store',
      'overlay.mount_program=/usr/bin/generic',
      'overlay.ignore_chown_errors=true',
      'overlay.force_mask=700',
      'overlay.mount_program=/usr/bin/fuse-overlayfs',
      'overlay.mountopt=nodev,metacopy=on',
      'overlay.force_mask=shared',
    ]);
    expect(driverOptionStrings('vfs', o)).toContain('vfs.ignore_chown_errors=true');
    expect(driverOptionStrings('vfs', o).some((s) => s.includes('fuse-overlayfs'))).toBe(false);
    // No driver chosen yet: generic options keep an empty prefix, driver tables are not used.
    expect(driverOptionStrings('', o)).toContain('.mount_program=/usr/bin/generic');
  });
});

describe('configuration search and defaults', () => {
  it('uses root defaults without a file', () => {
    const dir = tempDir();
    const c = loadStorageConfig(ctxFor(dir, 0));
    expect(c).toMatchObject({ graphRoot: '/var/lib/strata', runRoot: '/run/strata', driver: '', driverOptions: [], file: undefined });
  });

  it('uses XDG directories for other users', () => {
    const dir = tempDir();
    const c = loadStorageConfig(ctxFor(dir, 1234, { XDG_DATA_HOME: '/data', XDG_RUNTIME_DIR: '/run/user/1234' }));
    expect(c).toMatchObject({ graphRoot: '/data/strata', runRoot: '/run/user/1234/strata' });
    const bare = loadStorageConfig(ctxFor(dir, 1234));
    expect(bare).toMatchObject({ graphRoot: join(dir, 'home', '.local', 'share', 'strata'), runRoot: join(dir, 'tmp', 'strata-run-1234') });
  });

  it('searches $STRATA_STORAGE_CONF, then the user file, then the system file', () => {
    const dir = tempDir();
    const system = write(join(dir, 'etc', 'storage.conf'), '[storage]\ndriver = "vfs"\ngraphroot = "/sys-root"\n');
    expect(loadStorageConfig(ctxFor(dir, 0)).file).toBe(system);
    const user = write(join(dir, 'home', '.config', 'strata', 'storage.conf'), '[storage]\ndriver = "overlay2"\ngraphroot = "/user-root"\n');
    expect(loadStorageConfig(ctxFor(dir, 1000))).toMatchObject({ file: user, graphRoot: '/user-root', driver: 'overlay' });
    // root never reads a user file.
    expect(loadStorageConfig(ctxFor(dir, 0)).file).toBe(system);
    const xdg = write(join(dir, 'xdg', 'strata', 'storage.conf'), '[storage]\ndriver = "vfs"\n');
    expect(loadStorageConfig(ctxFor(dir, 1000, { XDG_CONFIG_HOME: join(dir, 'xdg') })).file).toBe(xdg);
    const explicit = write(join(dir, 'explicit.conf'), '[storage]\nrunroot = "/run/explicit"\n');
    expect(loadStorageConfig(ctxFor(dir, 1000, { STRATA_STORAGE_CONF: explicit }))).toMatchObject({ file: explicit, runRoot: '/run/explicit' });
    expect(() => loadStorageConfig(ctxFor(dir, 0, { STRATA_STORAGE_CONF: join(dir, 'missing.conf') }))).toThrow(/missing\.conf/);
  });

  it("keeps a user's own roots when only the system file exists", () => {
    const dir = tempDir();
    write(join(dir, 'etc', 'storage.conf'), '[storage]\ndriver = "vfs"\ngraphroot = "/var/lib/strata"\nrootless_storage_path = "$HOME/rootless/$UID"\n');
    const c = loadStorageConfig(ctxFor(dir, 1000, { XDG_RUNTIME_DIR: '/run/user/1000' }));
    expect(c).toMatchObject({ driver: 'vfs', graphRoot: join(dir, 'home', 'rootless', '1000'), runRoot: '/run/user/1000/strata' });
  });

  it('lets STORAGE_DRIVER and STORAGE_OPTS override the file', () => {
    const dir = tempDir();
    write(join(dir, 'etc', 'storage.conf'), full);
    const c = loadStorageConfig(ctxFor(dir, 0, { STORAGE_DRIVER: 'vfs', STORAGE_OPTS: 'vfs.ignore_chown_errors=false,x=y' }));
    expect(c.driver).toBe('vfs');
    expect(c.driverOptions).toEqual(['vfs.ignore_chown_errors=false', 'x=y']);
    expect(c.uidMap).toEqual([{ containerID: 0, hostID: 100000, size: 65536 }]);
    expect(loadStorageConfig(ctxFor(dir, 0, { STORAGE_DRIVER: 'vfs' })).driverOptions).toEqual([
      'vfs.imagestore=/ro/store',
      'vfs.mount_program=/usr/bin/generic',
      'vfs.ignore_chown_errors=true',
      'vfs.force_mask=700',
    ]);
  });

  it('is what the CLI uses when no root or driver flag is given', async () => {
    const dir = tempDir();
    const conf = write(
      join(dir, 'my.conf'),
      `[storage]\ndriver = "vfs"\ngraphroot = "${dir}/cg"\nrunroot = "${dir}/cr"\n[storage.options.vfs]\nignore_chown_errors = "true"\n`,
    );
    const env = { PATH: process.env.PATH, STRATA_STORAGE_CONF: conf };
    const r = await strata(['status'], { env });
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n').slice(0, 4)).toEqual([
      `Root: ${dir}/cg`,
      `Run Root: ${dir}/cr`,
      'Driver Name: vfs',
      'Driver Options: [vfs.ignore_chown_errors=true]',
    ]);
    // Any root flag switches the file's driver options off (containers-storage does the same).
    const flagged = await strata(['-g', `${dir}/fg`, '-s', 'vfs', 'status'], { env });
    expect(flagged.stderr.split('\n').slice(0, 4)).toEqual([`Root: ${dir}/fg`, `Run Root: ${dir}/cr`, 'Driver Name: vfs', 'Driver Options: []']);
    const bad = write(join(dir, 'bad.conf'), '[storage]\ndriver = 3\n');
    const broken = await strata(['layers'], { env: { ...env, STRATA_STORAGE_CONF: bad } });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toBe(`${bad}: storage.driver must be a string, not 3\n`);
  });
});
