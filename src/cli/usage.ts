/**
 * Usage text in containers-storage's layout: the synopsis and command list on stdout, the flag
 * defaults on stderr (where Go's flag package prints them).
 */
import type { CommandSpec, FlagSpec, Options } from './spec.js';

export const PROGRAM = 'strata';

export const globalFlags: FlagSpec[] = [
  { long: ['run'], short: 'R', kind: 'string', help: 'Root of the runtime state tree' },
  { long: ['graph'], short: 'g', kind: 'string', help: 'Root of the storage tree' },
  { long: ['storage-driver'], short: 's', kind: 'string', help: 'Storage driver to use ($STORAGE_DRIVER)' },
  { long: ['storage-opt'], kind: 'list', help: 'Set storage driver options ($STORAGE_OPTS)' },
  { long: ['debug'], short: 'D', kind: 'bool', help: 'Print debugging information' },
];

/** The option key commander gives a flag (camelCase of its first long name). */
export function optionKey(f: FlagSpec): string {
  return (f.long[0] as string).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Flag lines as Go's PrintDefaults writes them, sorted by name, values shown as `=value`. */
export function flagDefaults(flags: FlagSpec[], values: Options = {}): string {
  const rows = [...flags]
    .sort((a, b) => (a.long[0] as string).localeCompare(b.long[0] as string))
    .map((f) => {
      let names = [...f.long.map((l) => `--${l}`), ...(f.short !== undefined ? [`-${f.short}`] : [])].join(', ');
      const v = values[optionKey(f)];
      if (f.kind === 'list') names += `=[${Array.isArray(v) ? v.join(' ') : ''}]`;
      else if (f.kind === 'string' && typeof v === 'string' && v !== '') names += `=${v}`;
      return [names, f.help] as const;
    });
  const width = Math.max(...rows.map(([n]) => n.length)) + 4;
  return `\n${rows.map(([n, h]) => `  ${n.padEnd(width)}${h}\n`).join('')}`;
}

export function programUsage(commands: CommandSpec[]): string {
  const lines = commands.map((c) => `  ${(c.names[0] as string).padEnd(30)}${c.usage}\n`).join('');
  return `Usage: ${PROGRAM} command [options [...]]\n\nCommands:\n\n${lines}\nOptions:\n`;
}

export function commandUsage(name: string, c: CommandSpec): string {
  return `Usage: ${PROGRAM} ${name} ${c.optionsHelp}\n\n${c.usage}\n\nOptions:\n`;
}
