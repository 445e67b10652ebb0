/** What the numbers were measured on: hardware, kernel and the versions of every subject. */
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { csVersion } from './cs.js';
import { REPO_ROOT } from './paths.js';
import { probe } from './proc.js';

export interface MachineInfo {
  cpu: string;
  cores: number;
  ramGiB: number;
  kernel: string;
  versions: {
    node: string;
    strata: string;
    fuseOverlayfs?: string;
    containersStorage?: string;
    libfuse?: string;
  };
}

function cpuModel(): string {
  const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
  return line?.split(':')[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
}

/** The checked-out commit, marked -dirty when the work tree has uncommitted changes. */
function strataRev(): string {
  const rev = probe('git', ['-C', REPO_ROOT, 'rev-parse', '--short=12', 'HEAD']) ?? 'unknown';
  const dirty = probe('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--untracked-files=no']);
  return dirty ? `${rev}-dirty` : rev;
}

export function machineInfo(): MachineInfo {
  const fo = probe('fuse-overlayfs', ['--version']);
  return {
    cpu: cpuModel(),
    cores: cpus().length,
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    versions: {
      node: process.version,
      strata: strataRev(),
      fuseOverlayfs: fo?.match(/fuse-overlayfs: version (\S+)/)?.[1],
      containersStorage: csVersion(),
      libfuse: fo?.match(/FUSE library version (\S+)/)?.[1],
    },
  };
}
