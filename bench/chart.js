// @ts-check
// One SVG: p99 latency of the app per scenario, as a ratio to the baseline of the same round
// (bar: median of the rounds; line: lowest to highest round). Scenarios in an idle app (no HTTP
// load, no ratio) are left out.
/** @import { Report } from './messages/report.ts' */

/** @type {Record<string, string>} */
const entities = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const escapeXml = (/** @type {unknown} */ text) => String(text).replace(/[&<>"]/g, (c) => entities[c]);

/**
 * The chart of a report, as SVG text.
 * @param {Report} report
 */
export function renderChart(report) {
  const rows = report.scenarios.filter((row) => row.p99Ratio !== undefined);
  const left = 230;
  const width = 760;
  const barHeight = 22;
  const gap = 10;
  const top = 56;
  const plot = width - left - 60;
  const max = Math.max(2, ...rows.map((r) => r.p99RatioMax ?? r.p99Ratio ?? 1)) * 1.05;
  const x = (/** @type {number} */ value) => left + (Math.min(value, max) / max) * plot;
  const height = top + rows.length * (barHeight + gap) + 40;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">App p99 latency, ratio to the app alone (median of ${report.settings.rounds} round(s); line: lowest to highest)</text>`,
    `<text x="10" y="38" fill="#555">${escapeXml(`Node ${report.machine.node}, ${report.machine.cores} cores, ${report.settings.rate} req/s (45% of capacity), ${report.machine.date.slice(0, 10)}`)}</text>`,
  ];
  for (const tick of [1, 1.5, 2, 3, 5, 10, 20].filter((t) => t <= max)) {
    parts.push(`<line x1="${x(tick)}" y1="${top - 6}" x2="${x(tick)}" y2="${height - 30}" stroke="${tick === 1 ? '#000' : '#ddd'}"/>`);
    parts.push(`<text x="${x(tick)}" y="${height - 14}" text-anchor="middle">${tick}x</text>`);
  }
  rows.forEach((row, i) => {
    const y = top + i * (barHeight + gap);
    const peer = row.scenario.startsWith('node repl');
    const ratio = row.p99Ratio ?? 0;
    parts.push(`<text x="${left - 8}" y="${y + barHeight * 0.7}" text-anchor="end">${escapeXml(row.scenario)}</text>`);
    parts.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x(ratio) - left)}" height="${barHeight}" fill="${peer ? '#d9822b' : '#2b7bb9'}"/>`);
    if (row.p99RatioMin !== undefined && row.p99RatioMax !== undefined) {
      const mid = y + barHeight / 2;
      parts.push(`<line x1="${x(row.p99RatioMin)}" y1="${mid}" x2="${x(row.p99RatioMax)}" y2="${mid}" stroke="#222" stroke-width="1.5"/>`);
    }
    parts.push(`<text x="${x(ratio) + 4}" y="${y + barHeight * 0.7}">${ratio.toFixed(2)}x</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
