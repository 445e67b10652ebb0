/** Process streams for the CLI, and small stream helpers the commands share. */
import type { CliIO } from './spec.js';

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}

/** An object with sorted keys, as Go's encoding/json writes a map. */
export function sortedMap<V>(entries: Iterable<[string, V]>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const [k, v] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = v;
  return out;
}

/**
 * An error message for a line that already starts with `what: `: drops the store's own
 * `layer "what": ` lead so the name is not printed twice.
 */
export function messageAbout(err: unknown, what: string): string {
  const msg = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
  const lead = new RegExp(`^(?:layer|image|container) ${JSON.stringify(what).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `);
  return msg.replace(lead, '');
}
