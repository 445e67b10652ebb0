/** mount, unmount and mounted, with containers-storage's per-argument output. */
import { flag, jsonFlag, text, type CommandSpec, type Ctx, type Options } from '../spec.js';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');

async function mount(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  const results: Array<{ id: string; mountpoint: string; error: string }> = [];
  for (const id of args) {
    try {
      const label = text(opts, 'label');
      const mountpoint = flag(opts, 'ro')
        ? await ctx.store.mountImage(id, ['noexec', 'nosuid'], label)
        : await ctx.store.mount(id, label);
      results.push({ id, mountpoint, error: '' });
    } catch (err) {
      results.push({ id, mountpoint: '', error: message(err) });
    }
  }
  if (flag(opts, 'json')) ctx.json(results);
  else {
    for (const r of results) {
      if (r.error !== '') ctx.err(`${r.error} while mounting ${r.id}\n`);
      ctx.out(`${r.mountpoint}\n`);
    }
  }
  return results.some((r) => r.error !== '') ? 1 : 0;
}

async function unmount(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  const results: Array<{ id: string; error: string }> = [];
  for (const id of args) {
    let error = '';
    try {
      const still = await ctx.store.unmount(id, flag(opts, 'force'));
      if (!still) ctx.out(`${id} mountpoint unmounted\n`);
    } catch (err) {
      // Not a layer or container: perhaps an image mounted with --ro.
      await ctx.store.unmountImage(id, flag(opts, 'force')).catch(() => {
        error = message(err);
      });
    }
    results.push({ id, error });
  }
  if (flag(opts, 'json')) ctx.json(results);
  else for (const r of results) if (r.error !== '') ctx.err(`${r.error} while unmounting ${r.id}\n`);
  return results.some((r) => r.error !== '') ? 1 : 0;
}

async function mounted(ctx: Ctx, args: string[], opts: Options): Promise<number> {
  const results: Array<{ id: string; error: string }> = [];
  for (const id of args) {
    try {
      if ((await ctx.store.mounted(id)) > 0) ctx.out(`${id} mounted\n`);
      results.push({ id, error: '' });
    } catch (err) {
      results.push({ id, error: message(err) });
    }
  }
  if (flag(opts, 'json')) ctx.json(results);
  else for (const r of results) if (r.error !== '') ctx.err(`${r.error} checking if ${r.id} is mounted\n`);
  return results.some((r) => r.error !== '') ? 1 : 0;
}

export const mountCommands: CommandSpec[] = [
  {
    names: ['mount'],
    optionsHelp: '[options [...]] LayerOrContainerNameOrID',
    usage: 'Mount a layer or container',
    minArgs: 1,
    maxArgs: 0,
    flags: [
      { long: ['opt'], short: 'o', kind: 'string', help: 'Mount Options' },
      { long: ['label'], short: 'l', kind: 'string', help: 'Mount Label' },
      { long: ['ro'], short: 'r', kind: 'bool', help: 'Mount image readonly' },
      jsonFlag,
    ],
    action: mount,
  },
  {
    names: ['unmount', 'umount'],
    optionsHelp: 'LayerOrContainerNameOrID',
    usage: 'Unmount an image, layer or container',
    minArgs: 1,
    maxArgs: 0,
    flags: [jsonFlag, { long: ['force'], short: 'f', kind: 'bool', help: 'Force the umount' }],
    action: unmount,
  },
  {
    names: ['mounted'],
    optionsHelp: 'LayerOrContainerNameOrID',
    usage: 'Check if a file system is mounted',
    minArgs: 1,
    maxArgs: 0,
    flags: [jsonFlag],
    action: mounted,
  },
];
