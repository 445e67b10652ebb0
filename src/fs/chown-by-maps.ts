/**
 * Re-owning a layer's tree for other ID mappings, as containers/storage's ChownPathByMaps (the
 * naive UpdateLayerIDMap): every entry below the root goes from host to container IDs through
 * the old mappings, then back to host IDs through the new ones. An ID the old mappings do not
 * know is an error, except 0:0, which a parent layer may have left unmapped; one the new mappings
 * do not know becomes the overflow ID. A changed owner keeps its setuid/setgid bits and its file
 * capabilities, which chown would clear.
 */
import { chmodSync, lchownSync, linkSync, unlinkSync } from 'node:fs';
import { mapID, overflowID, toContainer } from '../archive/idmap.js';
import type { IDMappings } from '../driver.js';
import { ErrInvalidOption } from '../errors.js';
import { lgetxattrOptional, lsetxattr } from '../native.js';
import { walkTree } from './walk.js';

const CAPABILITY = 'security.capability';
const S_ISUID_ISGID = 0o6000;

export function chownByMaps(root: string, from: IDMappings | undefined, to: IDMappings | undefined): void {
  const overflow = { uid: overflowID('uid'), gid: overflowID('gid') };
  const seen = new Map<string, string>();
  for (const e of walkTree(root)) {
    if (e.rel === '') continue;
    // A hardlinked inode is re-owned once, through its first name; later names are linked to it
    // again, since an overlay copies each name up apart (as containers/storage does).
    if (e.stat.nlink > 1n) {
      const key = `${e.stat.dev}:${e.stat.ino}`;
      const first = seen.get(key);
      if (first !== undefined) {
        unlinkSync(e.path);
        linkSync(first, e.path);
        continue;
      }
      seen.set(key, e.path);
    }
    const uid = Number(e.stat.uid);
    const gid = Number(e.stat.gid);
    let inContainer = toContainer({ uid, gid }, from);
    if (inContainer === undefined) {
      if (uid !== 0 || gid !== 0) throw new ErrInvalidOption(`mapping host ID pair ${uid}:${gid} of ${e.path} to the container: outside the layer's mappings`);
      inContainer = { uid, gid };
    }
    const newUid = mapID(inContainer.uid, to?.uidMap ?? [], 'containerID', 'hostID') ?? overflow.uid;
    const newGid = mapID(inContainer.gid, to?.gidMap ?? [], 'containerID', 'hostID') ?? overflow.gid;
    if (newUid === uid && newGid === gid) continue;
    const isLink = e.stat.isSymbolicLink();
    const caps = isLink ? undefined : lgetxattrOptional(e.path, CAPABILITY);
    lchownSync(e.path, newUid, newGid);
    const mode = Number(e.stat.mode);
    if (!isLink && (mode & S_ISUID_ISGID) !== 0) chmodSync(e.path, mode & 0o7777);
    if (caps !== undefined) lsetxattr(e.path, CAPABILITY, caps);
  }
}
