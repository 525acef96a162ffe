/**
 * A hand-written SVG bar chart of throughput: one panel per scenario, one horizontal bar per
 * client (the median), a thin line from min to max, each panel scaled to its own largest
 * value (scenarios differ by orders of magnitude). No dependency.
 */

export interface ChartBar {
  label: string;
  median: number;
  min: number;
  max: number;
  /** Bars of the same group share a colour (smtpcm, Nodemailer, others). */
  group: 'smtpcm' | 'nodemailer' | 'other';
}

export interface ChartPanel {
  title: string;
  /** The unit printed after each value, e.g. `msg/s`. */
  unit: string;
  bars: ChartBar[];
}

const COLOURS: Record<ChartBar['group'], string> = {
  smtpcm: '#1f77b4',
  nodemailer: '#ff7f0e',
  other: '#7f7f7f',
};

const WIDTH = 900;
const LABEL_WIDTH = 260;
const VALUE_WIDTH = 110;
const BAR_HEIGHT = 16;
const BAR_GAP = 6;
const PANEL_TITLE = 26;
const PANEL_GAP = 18;

/** Escapes text for SVG content and attributes. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** Formats a value with three significant digits (whole numbers from 100), k/M above 10,000. */
export function formatValue(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toPrecision(3)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toPrecision(3)}k`;
  if (abs >= 100) return String(Math.round(value));
  return value.toPrecision(3);
}

/** The whole SVG document for `panels`, titled `title`. */
export function renderChart(title: string, panels: ChartPanel[]): string {
  const plotWidth = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20;
  const parts: string[] = [];
  let y = 40;
  for (const panel of panels) {
    parts.push(
      `<text x="10" y="${y + 16}" font-weight="bold" font-size="14">` +
        `${escapeXml(panel.title)}</text>`,
    );
    y += PANEL_TITLE;
    const scale = Math.max(...panel.bars.map((bar) => bar.max), 1e-9);
    for (const bar of panel.bars) {
      const width = (bar.median / scale) * plotWidth;
      const x0 = LABEL_WIDTH + (bar.min / scale) * plotWidth;
      const x1 = LABEL_WIDTH + (bar.max / scale) * plotWidth;
      const middle = y + BAR_HEIGHT / 2;
      parts.push(
        `<text x="${LABEL_WIDTH - 8}" y="${middle + 4}" text-anchor="end" font-size="12">` +
          `${escapeXml(bar.label)}</text>`,
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" ` +
          `height="${BAR_HEIGHT}" fill="${COLOURS[bar.group]}"/>`,
        `<line x1="${x0.toFixed(1)}" y1="${middle}" x2="${x1.toFixed(1)}" y2="${middle}" ` +
          `stroke="#000" stroke-width="1.5"/>`,
        `<text x="${LABEL_WIDTH + plotWidth + 8}" y="${middle + 4}" font-size="12">` +
          `${escapeXml(`${formatValue(bar.median)} ${panel.unit}`)}</text>`,
      );
      y += BAR_HEIGHT + BAR_GAP;
    }
    y += PANEL_GAP;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
      `viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="24" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
