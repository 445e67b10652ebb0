/** What the e2e flow must report whoever runs it and on whichever driver. */
import { expect } from 'vitest';
import type { FlowReport } from './flow.js';

export function expectFlow(r: FlowReport): void {
  // Imported once, then every layer and the image found again rather than stored twice.
  expect(r.importedLayers).toEqual([false, false]);
  expect(r.reimportedLayers).toEqual([true, true]);
  expect(r.reimportedImage).toBe(true);
  expect(r.layersAfterImports).toBe(2);
  expect(r.motd).toBe('second\n');
  expect(r.changes).toEqual([
    'add /etc/hostname',
    'add /etc/new.conf',
    'delete /etc/obsolete.conf',
    'delete /etc/old.conf',
    'modify /etc',
    'modify /etc/motd',
  ]);
  // The committed layer records container owners: root for what root (or the user mapped to it) wrote.
  expect(r.committedEntries).toEqual(['etc/ 0:0', 'etc/hostname 0:0', 'etc/motd 0:0', 'etc/new.conf 0:0', 'etc/.wh.obsolete.conf', 'etc/.wh.old.conf']);
  expect(r.exportedEntries).toEqual(r.committedEntries);
  expect(r.committedNames).toEqual(['e2e.example/committed:1']);
  expect(r.committedDiffIDs).toBe(3);
  expect(r.committedContent).toEqual({ motd: 'changed\n', hostname: 'box\n', oldConf: false });
  expect(r.left).toEqual({ images: 0, layers: 0, containers: 0, homeLayers: [] });
  expect(r.reopened.driver).toBe(r.driver);
  expect(r.reopened.decisions).toEqual([expect.stringMatching(new RegExp(`^chosen ${r.driver}: prior storage driver: .*/${r.driver} exists$`))]);
}
