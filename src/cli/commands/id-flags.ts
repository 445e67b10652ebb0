/** The ID mapping flags of create-layer, import-layer and create-container (create.go's paramIDMapping). */
import { ErrInvalidOption } from '../../errors.js';
import { parseIDMap, subIDMappings } from '../../store/idmap.js';
import type { IDMappingOptions } from '../../store/types.js';
import { flag, text, type FlagSpec, type Options } from '../spec.js';

export const idMappingFlags: FlagSpec[] = [
  { long: ['hostuidmap'], kind: 'bool', help: 'Force host UID map' },
  { long: ['hostgidmap'], kind: 'bool', help: 'Force host GID map' },
  { long: ['uidmap'], kind: 'string', help: 'UID map' },
  { long: ['gidmap'], kind: 'string', help: 'GID map' },
  { long: ['subuidmap'], kind: 'string', help: 'subuid UID map for a user' },
  { long: ['subgidmap'], kind: 'string', help: 'subgid GID map for a group' },
];

export function idMappingOptions(opts: Options): IDMappingOptions {
  const hostUID = flag(opts, 'hostuidmap');
  const hostGID = flag(opts, 'hostgidmap');
  const uidmap = text(opts, 'uidmap');
  const gidmap = text(opts, 'gidmap');
  let subuid = text(opts, 'subuidmap');
  let subgid = text(opts, 'subgidmap');
  if (hostUID && (uidmap !== '' || subuid !== '')) throw new ErrInvalidOption('host uid map specified along with UID mapping');
  if (hostGID && (gidmap !== '' || subgid !== '')) throw new ErrInvalidOption('host gid map specified along with GID mapping');
  if (subgid === '' && subuid !== '') subgid = subuid;
  if (subuid === '' && subgid !== '') subuid = subgid;
  const result: IDMappingOptions = { hostUIDMapping: hostUID, hostGIDMapping: hostGID, uidMap: [], gidMap: [] };
  if (subuid !== '') {
    const sub = subIDMappings(subuid, subgid);
    result.uidMap = sub.uidMap;
    result.gidMap = sub.gidMap;
  }
  result.uidMap = [...(result.uidMap ?? []), ...parseIDMap([uidmap], 'uid')];
  result.gidMap = [...(result.gidMap ?? []), ...parseIDMap([gidmap], 'gid')];
  return result;
}
