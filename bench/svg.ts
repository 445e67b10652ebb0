/**
 * Hand-written SVG bar charts, one per workload group: a row per workload, a bar per subject. Units
 * differ between rows, so each row is scaled to its own slowest subject; the label carries the value.
 */
import { escapeXml, formatValue } from './format.js';
import type { WorkloadResult } from './types.js';

const COLORS: Record<string, string> = {
  'strata-fuse': '#e4572e',
  strata: '#e4572e',
  'fuse-overlayfs': '#4c78a8',
  'containers-storage': '#4c78a8',
  kernel: '#9d9d9d',
};

const WIDTH = 820;
const LABEL_W = 190;
const BAR_MAX = 470;
const BAR_H = 13;
const GAP = 3;
const ROW_PAD = 12;
const TOP = 62;

function subjectsOf(results: readonly WorkloadResult[]): string[] {
  const seen: string[] = [];
  for (const r of results) for (const s of r.subjects) if (!seen.includes(s)) seen.push(s);
  return seen;
}

export function barChart(title: string, results: readonly WorkloadResult[]): string {
  const subjects = subjectsOf(results);
  const parts: string[] = [];
  let y = TOP;
  for (const r of results) {
    const ok = r.subjects.map((s) => r.outcomes[s]).flatMap((o) => (o?.status === 'ok' ? [o.median] : []));
    const max = Math.max(...ok, Number.MIN_VALUE);
    const rowH = r.subjects.length * (BAR_H + GAP);
    parts.push(`<text x="${LABEL_W - 8}" y="${y + rowH / 2 + 4}" text-anchor="end" class="row">${escapeXml(r.id)}${r.unit === 'MiB' ? ' (memory)' : ''}</text>`);
    r.subjects.forEach((s, i) => {
      const o = r.outcomes[s];
      const by = y + i * (BAR_H + GAP);
      if (o?.status === 'ok') {
        const w = Math.max(1, (o.median / max) * BAR_MAX);
        parts.push(`<rect x="${LABEL_W}" y="${by}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${COLORS[s] ?? '#666'}"><title>${escapeXml(`${s}: ${formatValue(o.median, r.unit)}`)}</title></rect>`);
        parts.push(`<text x="${(LABEL_W + w + 4).toFixed(1)}" y="${by + BAR_H - 2}" class="val">${escapeXml(formatValue(o.median, r.unit))}</text>`);
      } else {
        parts.push(`<text x="${LABEL_W + 2}" y="${by + BAR_H - 2}" class="na">${escapeXml(`${s}: ${o?.status ?? 'n/a'}`)}</text>`);
      }
    });
    y += rowH + ROW_PAD;
  }
  const legend = subjects
    .map((s, i) => `<rect x="${LABEL_W + i * 170}" y="34" width="12" height="12" fill="${COLORS[s] ?? '#666'}"/><text x="${LABEL_W + i * 170 + 17}" y="44" class="leg">${escapeXml(s)}</text>`)
    .join('');
  const height = y + 8;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif">`,
    '<style>.t{font-size:15px;font-weight:600}.row{font-size:12px}.val{font-size:11px}.na{font-size:11px;fill:#888;font-style:italic}.leg{font-size:12px}.sub{font-size:11px;fill:#555}</style>',
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" class="t">${escapeXml(title)}</text>`,
    `<text x="${WIDTH - 10}" y="20" text-anchor="end" class="sub">shorter is better; each row scaled to its longest bar</text>`,
    legend,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
