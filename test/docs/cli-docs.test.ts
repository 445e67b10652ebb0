/**
 * docs/cli.md is generated from the CLI's own help (scripts/gen-cli-docs.ts); these tests keep it
 * from drifting: a changed or added command fails here until the file is regenerated.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { captureCli, CLI_DOC, listedCommands, renderCliDocs } from '../../scripts/gen-cli-docs.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('docs/cli.md', () => {
  it('is exactly what scripts/gen-cli-docs.ts renders from the current CLI', async () => {
    const rendered = await renderCliDocs();
    const committed = readFileSync(CLI_DOC, 'utf8');
    // One line of advice instead of a 1000-line diff when only the file is stale.
    expect(committed === rendered, 'docs/cli.md is out of date: run "npx tsx scripts/gen-cli-docs.ts"').toBe(true);
  });

  it('has a section with the help text of every registered command and alias', async () => {
    const doc = readFileSync(CLI_DOC, 'utf8');
    for (const spec of commands) {
      const [name, ...aliases] = spec.names as [string, ...string[]];
      expect(doc, name).toContain(`### \`${name}\`\n`);
      expect(doc, name).toContain(`Usage: strata ${name} `);
      for (const alias of aliases) expect(doc, alias).toContain(`\`${alias}\``);
    }
  });
});

describe('scripts/gen-cli-docs.ts', () => {
  it('finds commands in the top-level help, so a new command is documented without editing the script', () => {
    const help = 'Usage: strata command [options [...]]\n\nCommands:\n\n  layers      List layers\n  brand-new   Does a new thing\n\nOptions:\n\n  --debug\n';
    expect(listedCommands(help)).toEqual([
      { name: 'layers', summary: 'List layers' },
      { name: 'brand-new', summary: 'Does a new thing' },
    ]);
    expect(() => listedCommands('Usage: nothing\n')).toThrow(/Commands:/);
  });

  it('captures what the strata executable prints (stdout and stderr) for help', async () => {
    const main = join(repo, 'src', 'cli', 'main.ts');
    for (const argv of [['--help'], ['layers', '--help']]) {
      const real = spawnSync(process.execPath, ['--import', 'tsx', main, ...argv], { cwd: repo, encoding: 'utf8', env: { ...process.env, STRATA_DEBUG: '' } });
      const captured = await captureCli(argv);
      expect(captured.stdout, argv.join(' ')).toBe(real.stdout);
      expect(captured.stderr, argv.join(' ')).toBe(real.stderr);
      expect(captured.code, argv.join(' ')).toBe(real.status);
    }
  });
});
