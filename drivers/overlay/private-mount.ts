/**
 * The home is bind-mounted on itself and made private, as containers/storage does, so layer
 * mounts under it never propagate into other mount namespaces (and theirs never into ours).
 */
import { readFileSync } from 'node:fs';
import { constants, mount, umount2 } from '../../src/native.js';

function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

export function makePrivateMount(home: string): void {
  if (!mountPoints().includes(home)) mount(home, home, '', constants.MS_BIND);
  mount('', home, '', constants.MS_PRIVATE);
}

/** Undoes makePrivateMount, but only once no layer is mounted below the home (another user may be). */
export function releasePrivateMount(home: string): void {
  const points = mountPoints();
  if (!points.includes(home)) return;
  if (points.some((p) => p.startsWith(home + '/'))) return;
  umount2(home, constants.MNT_DETACH);
}
