/** The same end-to-end flow as root, where newDriver picks the kernel overlay driver. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerArchiveFiles, writeArchive } from '../../src/image/index.js';
import { tempDir } from '../helpers/tmp.js';
import { expectFlow } from './expect-flow.js';
import { flowImage, runFlow } from './flow.js';

describe.skipIf(process.geteuid?.() !== 0)('as root', () => {
  it('an empty store picks overlay; import, mount, write, commit, diff, delete keep every owner', async () => {
    const dir = tempDir();
    const archive = join(dir, 'image.tar');
    await writeArchive(dockerArchiveFiles([flowImage()]), archive, 'tar');
    const r = await runFlow({ graphRoot: join(dir, 'graph'), runRoot: join(dir, 'run'), archive, exportFile: join(dir, 'export.tar') });
    expect(r.driver).toBe('overlay');
    expect(r.decisions.map((d) => `${d.outcome} ${d.name}: ${d.reason}`)).toEqual(['chosen overlay: first supported driver in the priority list']);
    expectFlow(r);
    expect(r.owners).toEqual({ motd: [0, 0], notes: [1000, 1000], written: [0, 0] });
  });
});
