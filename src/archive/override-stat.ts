/**
 * The `user.containers.override_stat` value (`uid:gid:mode:type`) that keeps a file's real
 * owner, mode and type when it is stored under a forced mask, in containers/storage's format:
 * mode as four octal digits, type `file`, `dir`, `symlink`, `pipe`, `socket`,
 * `block-MAJ-MIN` or `char-MAJ-MIN`.
 */
import type { EntryType } from './tar/header.js';

export interface OverrideStat {
  uid: number;
  gid: number;
  /** Permission bits with setuid, setgid and sticky. */
  mode: number;
  type: EntryType | 'socket';
  devmajor: number;
  devminor: number;
}

export function formatOverrideStat(s: OverrideStat): string {
  let type: string;
  switch (s.type) {
    case 'dir':
      type = 'dir';
      break;
    case 'symlink':
      type = 'symlink';
      break;
    case 'fifo':
      type = 'pipe';
      break;
    case 'socket':
      type = 'socket';
      break;
    case 'block':
      type = `block-${s.devmajor}-${s.devminor}`;
      break;
    case 'char':
      type = `char-${s.devmajor}-${s.devminor}`;
      break;
    default:
      type = 'file';
  }
  return `${s.uid}:${s.gid}:${(s.mode & 0o7777).toString(8).padStart(4, '0')}:${type}`;
}

/** Parses an override value; undefined when it is malformed (then the on-disk stat stands). */
export function parseOverrideStat(value: string): OverrideStat | undefined {
  const parts = value.split(':');
  if (parts.length < 3) return undefined;
  const [uidText, gidText, modeText, typeText] = parts as [string, string, string, string | undefined];
  if (!/^\d+$/.test(uidText) || !/^\d+$/.test(gidText) || !/^[0-7]+$/.test(modeText)) return undefined;
  const result: OverrideStat = {
    uid: Number(uidText),
    gid: Number(gidText),
    mode: parseInt(modeText, 8) & 0o7777,
    type: 'file',
    devmajor: 0,
    devminor: 0,
  };
  if (typeText === undefined) return result;
  const dev = /^(block|char)-(\d+)-(\d+)/.exec(typeText);
  if (dev !== null) {
    result.type = dev[1] === 'block' ? 'block' : 'char';
    result.devmajor = Number(dev[2]);
    result.devminor = Number(dev[3]);
  } else if (typeText.startsWith('dir')) result.type = 'dir';
  else if (typeText.startsWith('symlink')) result.type = 'symlink';
  else if (typeText.startsWith('pipe')) result.type = 'fifo';
  else if (typeText.startsWith('socket')) result.type = 'socket';
  else if (!typeText.startsWith('file')) return undefined;
  return result;
}
