/**
 * SVG building blocks shared by every chart of the reports: escaping, nice axis ticks, number formatting,
 * label truncation, the accessible `<svg>` opening and the axis frame. Charts are plain strings: no DOM, no
 * scripts, no fonts from the network. Every element carries a `sy-*` class so the HTML page can restyle it
 * for dark mode; the presentation attributes keep a standalone `.svg` file readable on its own.
 */

/**
 * Colour-blind-friendly palette (Okabe–Ito order after the first two, which match earlier charts).
 *
 * @example
 * const color = PALETTE[i % PALETTE.length];
 */
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/**
 * Escapes text for use inside XML/HTML text and double- or single-quoted attributes.
 *
 * @example
 * escapeXml('<b a="1">'); // '&lt;b a=&quot;1&quot;&gt;'
 */
export function escapeXml(s: unknown): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/**
 * Round ("nice") tick positions covering `[lo, hi]`: steps of 1, 2 or 5 times a power of ten. Returns `[]`
 * for non-finite bounds and one tick for an empty span.
 *
 * @example
 * niceTicks(0, 0.93); // [0, 0.2, 0.4, 0.6, 0.8]
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) return [lo];
  const step0 = (hi - lo) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0 * (1 - 1e-9)) ?? step0;
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  const decimals = Math.min(20, Math.max(0, 1 - Math.floor(Math.log10(step))));
  for (let k = first; k * step <= hi + step * 1e-9 && out.length < 100; k++) out.push(Number((k * step).toFixed(decimals)));
  return out;
}

/**
 * Short human number for tick and value labels: 4 significant digits, exponent form for very large or
 * small magnitudes, thousands grouped for large integers.
 *
 * @example
 * formatNumber(1234567); // '1.2e6'
 * formatNumber(0.12345); // '0.1235'
 */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(1).replace('e+', 'e').replace('.0e', 'e');
  if (Number.isInteger(v) && a >= 1e4) return v.toLocaleString('en-US');
  return Number(v.toPrecision(4)).toString();
}

/**
 * A share of 1 as a percentage with up to 4 significant digits.
 *
 * @example
 * formatPercent(0.2534); // '25.3%'
 */
export function formatPercent(v: number): string {
  return `${formatNumber(Math.round(v * 1000) / 10)}%`;
}

/**
 * Options every chart takes.
 *
 * @example
 * const base: ChartBase = { title: 'age', width: 480, height: 280 };
 */
export interface ChartBase {
  title: string;
  width?: number;
  height?: number;
}

/**
 * Shortens `s` to at most `max` characters, ending with an ellipsis when cut.
 *
 * @example
 * truncate('a very long column name', 10); // 'a very lo…'
 */
export function truncate(s: string, max: number): string {
  const chars = Array.from(s);
  return chars.length <= max ? s : chars.slice(0, Math.max(1, max - 1)).join('') + '…';
}

/**
 * A text label, truncated to `max` characters; when cut, the full text is kept in a `<title>` tooltip.
 *
 * @example
 * svgText('petal length (cm)', { x: 10, y: 20, max: 8, anchor: 'end' });
 */
export function svgText(label: string, o: { x: number; y: number; max?: number; anchor?: 'start' | 'middle' | 'end'; size?: number; cls?: string; transform?: string; fill?: string }): string {
  const shown = o.max ? truncate(label, o.max) : label;
  const attrs = [`x="${r1(o.x)}"`, `y="${r1(o.y)}"`];
  if (o.anchor && o.anchor !== 'start') attrs.push(`text-anchor="${o.anchor}"`);
  if (o.size) attrs.push(`font-size="${o.size}"`);
  if (o.fill) attrs.push(`fill="${o.fill}"`);
  if (o.transform) attrs.push(`transform="${o.transform}"`);
  attrs.push(`class="${o.cls ?? 'sy-text'}"`);
  const tip = shown !== label ? `<title>${escapeXml(label)}</title>` : '';
  return `<text ${attrs.join(' ')}>${tip}${escapeXml(shown)}</text>`;
}

/**
 * Rounds a coordinate to one decimal for compact output.
 *
 * @example
 * r1(12.345); // '12.3'
 */
export function r1(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

/**
 * Opens an accessible SVG: `role="img"`, an `aria-label`, a `<title>` and a `<desc>` describing the data,
 * and a background rect. Close it with `'</svg>'`.
 *
 * @example
 * const parts = [svgOpen(400, 300, 'loss', 'one line, 10 points'), '</svg>'];
 */
export function svgOpen(width: number, height: number, title: string, desc: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="sy-chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}" font-family="system-ui, sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<desc>${escapeXml(desc)}</desc>`,
    `<rect class="sy-bg" width="${width}" height="${height}" fill="white"/>`,
  ].join('\n');
}

/**
 * A chart with nothing to plot: the title and a centred message instead of axes.
 *
 * @example
 * emptyChart('missing values', 'no column has missing values');
 */
export function emptyChart(title: string, message: string, width = 480, height = 160): string {
  return [
    svgOpen(width, height, title, message),
    svgText(title, { x: width / 2, y: 24, anchor: 'middle', size: 15, max: Math.floor(width / 8) }),
    svgText(message, { x: width / 2, y: height / 2 + 8, anchor: 'middle', cls: 'sy-muted', fill: '#666' }),
    '</svg>',
  ].join('\n');
}

/**
 * A linear map from a data domain to a pixel range (an empty domain maps to `p0`).
 *
 * @example
 * scale(0, 1, 50, 450)(0.5); // 250
 */
export function scale(d0: number, d1: number, p0: number, p1: number): (v: number) => number {
  const span = d1 - d0 || 1;
  return (v) => p0 + ((v - d0) / span) * (p1 - p0);
}

/**
 * Plot margins in pixels.
 *
 * @example
 * const m: Margins = { l: 60, r: 16, t: 40, b: 50 };
 */
export interface Margins {
  l: number;
  r: number;
  t: number;
  b: number;
}

/**
 * What {@link axesFrame} draws: plot area, ticks (already in data units) and their pixel maps.
 *
 * @example
 * axesFrame({ width: 400, height: 300, m: { l: 60, r: 20, t: 40, b: 50 }, title: 'loss', yTicks: [0, 1], py: (v) => 250 - v * 210 });
 */
export interface FrameSpec {
  width: number;
  height: number;
  m: Margins;
  title: string;
  xLabel?: string;
  yLabel?: string;
  xTicks?: number[];
  yTicks?: number[];
  px?: (v: number) => number;
  py?: (v: number) => number;
  /** Tick label text (default {@link formatNumber}). */
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
}

/**
 * Title, grid lines, tick labels, the plot border and the axis labels of a cartesian chart.
 *
 * @example
 * const f = axesFrame({ width: 400, height: 300, m: { l: 60, r: 20, t: 40, b: 50 }, title: 't', xTicks: [0, 1], px: (v) => 60 + v * 320 });
 */
export function axesFrame(f: FrameSpec): string[] {
  const { width: W, height: H, m } = f;
  const out: string[] = [svgText(f.title, { x: W / 2, y: 22, anchor: 'middle', size: 15, max: Math.floor(W / 8.5) })];
  const xf = f.xFormat ?? formatNumber;
  const yf = f.yFormat ?? formatNumber;
  for (const v of f.xTicks ?? []) {
    const x = r1(f.px!(v));
    out.push(`<line class="sy-grid" x1="${x}" y1="${m.t}" x2="${x}" y2="${H - m.b}" stroke="#e5e5e5"/>`, svgText(xf(v), { x: f.px!(v), y: H - m.b + 16, anchor: 'middle' }));
  }
  for (const v of f.yTicks ?? []) {
    const y = r1(f.py!(v));
    out.push(`<line class="sy-grid" x1="${m.l}" y1="${y}" x2="${W - m.r}" y2="${y}" stroke="#e5e5e5"/>`, svgText(yf(v), { x: m.l - 6, y: f.py!(v) + 4, anchor: 'end' }));
  }
  out.push(`<rect class="sy-axis" x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`);
  if (f.xLabel) out.push(svgText(f.xLabel, { x: (m.l + W - m.r) / 2, y: H - 12, anchor: 'middle', max: Math.floor((W - m.l - m.r) / 7) }));
  if (f.yLabel) {
    const cy = (m.t + H - m.b) / 2;
    out.push(svgText(f.yLabel, { x: 16, y: cy, anchor: 'middle', transform: `rotate(-90 16 ${r1(cy)})`, max: Math.floor((H - m.t - m.b) / 7) }));
  }
  return out;
}

/**
 * A legend: one coloured swatch (a line or a square; `swatch` per entry overrides the default) and a label per
 * entry, stacked from `(x, y)`.
 *
 * @example
 * legend([{ label: 'train', color: '#1f77b4' }], 300, 50, 'line');
 */
export function legend(entries: { label: string; color: string; dash?: boolean; swatch?: 'line' | 'box' }[], x: number, y: number, swatch: 'line' | 'box' = 'line', maxChars = 28): string[] {
  const out: string[] = [];
  entries.forEach((e, i) => {
    const ly = y + i * 18;
    if ((e.swatch ?? swatch) === 'line') out.push(`<line x1="${r1(x)}" y1="${r1(ly - 4)}" x2="${r1(x + 20)}" y2="${r1(ly - 4)}" stroke="${e.color}" stroke-width="2"${e.dash ? ' stroke-dasharray="4 3"' : ''}/>`);
    else out.push(`<rect x="${r1(x + 6)}" y="${r1(ly - 10)}" width="10" height="10" fill="${e.color}"/>`);
    out.push(svgText(e.label, { x: x + 25, y: ly, max: maxChars }));
  });
  return out;
}

/**
 * Keeps at most `max` points of a long polyline (evenly strided, first and last kept).
 *
 * @example
 * thin(rocPoints, 2000).length <= 2000; // true
 */
export function thin<T>(points: readonly T[], max = 2000): T[] {
  if (points.length <= max) return points.slice();
  const step = (points.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => points[Math.round(i * step)]);
}

/**
 * Finite-only minimum and maximum; `[NaN, NaN]` when nothing is finite.
 *
 * @example
 * finiteExtent([3, NaN, -1, Infinity]); // [-1, 3]
 */
export function finiteExtent(values: Iterable<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [NaN, NaN];
}
