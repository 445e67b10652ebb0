/** How numbers read in the report and the charts. */
import type { Unit, WorkloadResult } from './types.js';

export function formatValue(v: number, unit: Unit): string {
  if (unit === 'MiB') return `${v.toFixed(v < 10 ? 1 : 0)} MiB`;
  if (v < 1) {
    const ms = v * 1000;
    return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} s`;
}

/** MiB/s for workloads that move a known number of bytes. */
export function throughput(r: WorkloadResult, seconds: number): string | undefined {
  if (!r.bytes || r.unit !== 's' || seconds <= 0) return undefined;
  return `${(r.bytes / 2 ** 20 / seconds).toFixed(0)} MiB/s`;
}

export function formatRatio(x: number | undefined): string {
  return x === undefined ? '–' : `${x.toFixed(2)}×`;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}
