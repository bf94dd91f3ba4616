/**
 * The report charts: histogram, (grouped, horizontal) bar chart, reliability diagram, ROC / precision-recall
 * curves and a confusion-matrix heatmap. Each is a pure function from data to a self-contained SVG string
 * (see {@link lineChart} in svg-chart.ts for curves such as robust accuracy vs epsilon). Non-finite values
 * are skipped, empty inputs give a titled "no data" chart, long labels are truncated with an ellipsis (the
 * full text stays in a tooltip).
 */
import type { Histogram } from '../audit/types.ts';
import { axesFrame, emptyChart, escapeXml, finiteExtent, formatNumber, legend, niceTicks, PALETTE, r1, scale, svgOpen, svgText, thin } from './svg.ts';

/** Options every chart takes. */
export interface ChartBase {
  title: string;
  width?: number;
  height?: number;
}

/** Options of {@link histogramChart}. */
export interface HistogramChartOptions extends ChartBase {
  histogram: Histogram;
  xLabel?: string;
  yLabel?: string;
  /** Name of the main histogram in the legend (shown only with `overlay`). */
  name?: string;
  /** A second histogram drawn as an outline on top (e.g. the test split); with it, both are shown as shares. */
  overlay?: { name: string; histogram: Histogram };
}

const percent = (v: number) => `${formatNumber(Math.round(v * 1000) / 10)}%`;

function cleanHist(h: Histogram): { edges: number[]; counts: number[] } | null {
  const n = Math.min(h.counts.length, h.edges.length - 1);
  if (n < 1) return null;
  const counts = h.counts.slice(0, n).map((c) => (Number.isFinite(c) && c > 0 ? c : 0));
  const edges = h.edges.slice(0, n + 1);
  if (!edges.every(Number.isFinite)) return null;
  if (edges[n] <= edges[0]) {
    // A constant column: one bin of zero width. Give it a visible width around its value.
    const v = edges[0];
    const w = Math.abs(v) * 0.05 || 0.5;
    return { edges: [v - w, v + w], counts: [counts.reduce((a, b) => a + b, 0)] };
  }
  return { edges, counts };
}

/**
 * A histogram from precomputed bin edges and counts (`edges.length === counts.length + 1`), optionally with
 * a second split overlaid as an outline (then both are drawn as shares of their totals).
 *
 * @example
 * const svg = histogramChart({ title: 'age', xLabel: 'age', histogram: { edges: [0, 10, 20], counts: [3, 5] } });
 */
export function histogramChart(o: HistogramChartOptions): string {
  const W = o.width ?? 480;
  const H = o.height ?? 280;
  const main = cleanHist(o.histogram);
  const over = o.overlay ? cleanHist(o.overlay.histogram) : null;
  const total = (h: { counts: number[] }) => h.counts.reduce((a, b) => a + b, 0);
  if (!main || total(main) === 0) return emptyChart(o.title, 'no values to plot', W);
  const share = !!over && total(over) > 0;
  const val = (h: { counts: number[] }, i: number) => (share ? h.counts[i] / total(h) : h.counts[i]);
  const lo = Math.min(main.edges[0], over?.edges[0] ?? Infinity);
  const hi = Math.max(main.edges[main.edges.length - 1], over?.edges[over.edges.length - 1] ?? -Infinity);
  let top = Math.max(...main.counts.map((_, i) => val(main, i)));
  if (share && over) top = Math.max(top, ...over.counts.map((_, i) => val(over, i)));
  const m = { l: 60, r: 16, t: share ? 80 : 40, b: 50 };
  const px = scale(lo, hi, m.l, W - m.r);
  const yTicks = niceTicks(0, top * 1.05, 4);
  const yMax = Math.max(top * 1.05, yTicks[yTicks.length - 1] ?? top);
  const py = scale(0, yMax, H - m.b, m.t);
  const desc = `${main.counts.length} bins from ${formatNumber(lo)} to ${formatNumber(hi)}, ${total(main)} values` + (share ? `; overlay ${o.overlay!.name}, ${total(over!)} values` : '');
  const parts = [svgOpen(W, H, o.title, desc)];
  parts.push(...axesFrame({ width: W, height: H, m, title: o.title, xLabel: o.xLabel, yLabel: o.yLabel ?? (share ? 'share of rows' : 'count'), xTicks: niceTicks(lo, hi, 5), px, yTicks, py, yFormat: share ? percent : formatNumber }));
  main.counts.forEach((_, i) => {
    const x0 = px(main.edges[i]);
    const x1 = px(main.edges[i + 1]);
    const y = py(val(main, i));
    const tip = `${formatNumber(main.edges[i])} – ${formatNumber(main.edges[i + 1])}: ${main.counts[i]}`;
    parts.push(`<rect class="sy-bar" x="${r1(x0 + 0.5)}" y="${r1(y)}" width="${r1(Math.max(1, x1 - x0 - 1))}" height="${r1(H - m.b - y)}" fill="${PALETTE[0]}" fill-opacity="0.75"><title>${escapeXml(tip)}</title></rect>`);
  });
  if (share && over) {
    const path: string[] = [];
    over.counts.forEach((_, i) => {
      const y = r1(py(val(over, i)));
      path.push(`${i ? 'L' : 'M'}${r1(px(over.edges[i]))},${i ? y : r1(H - m.b)}`, `L${r1(px(over.edges[i]))},${y}`, `L${r1(px(over.edges[i + 1]))},${y}`);
    });
    path.push(`L${r1(px(over.edges[over.edges.length - 1]))},${r1(H - m.b)}`);
    parts.push(`<path d="${path.join(' ')}" fill="none" stroke="${PALETTE[1]}" stroke-width="2"/>`);
    parts.push(...legend([{ label: o.name ?? 'reference', color: PALETTE[0] }, { label: o.overlay!.name, color: PALETTE[1], swatch: 'line' }], m.l, 46, 'box', 30));
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** One series of a {@link barChart}: one value per category (NaN or missing = no bar). */
export interface BarSeries {
  name: string;
  values: number[];
  color?: string;
}

/** Options of {@link barChart}. */
export interface BarChartOptions extends ChartBase {
  categories: string[];
  series: BarSeries[];
  /** Bars grow to the right with category labels on the left (best for many or long labels). */
  horizontal?: boolean;
  /** Value axis label. */
  valueLabel?: string;
  /** Format values as percentages of 1 (0.25 → 25%). */
  percent?: boolean;
  /** Fixed value-axis domain, e.g. [0, 1] for rates. */
  domain?: [number, number];
  /** A reference line across the bars, e.g. the overall base rate. */
  reference?: { value: number; label: string };
  /** At most this many categories are drawn (the rest are named in the description). Default 60. */
  maxCategories?: number;
}

/**
 * A bar chart with one or more series per category (grouped), vertical or horizontal, with value labels and
 * an optional reference line.
 *
 * @example
 * const svg = barChart({ title: 'missing values', categories: ['age', 'income'], series: [{ name: 'missing', values: [0.02, 0.3] }], horizontal: true, percent: true });
 */
export function barChart(o: BarChartOptions): string {
  const maxCats = o.maxCategories ?? 60;
  const cats = o.categories.slice(0, maxCats);
  const series = o.series.filter((s) => s.values.some((v) => Number.isFinite(v)));
  const W0 = o.width ?? 560;
  if (!cats.length || !series.length) return emptyChart(o.title, 'no values to plot', W0);
  const dropped = o.categories.length - cats.length;
  const vals = series.flatMap((s) => s.values.slice(0, cats.length));
  let [lo, hi] = finiteExtent([...vals, 0, ...(o.reference && Number.isFinite(o.reference.value) ? [o.reference.value] : [])]);
  if (o.domain) [lo, hi] = [Math.min(o.domain[0], lo), Math.max(o.domain[1], hi)];
  const vTicks = niceTicks(lo, hi, 5);
  if (!o.domain && vTicks.length) hi = Math.max(hi, vTicks[vTicks.length - 1]);
  const fmt = o.percent ? percent : formatNumber;
  const groupPx = Math.max(o.horizontal ? 24 : 14, series.length * 12 + 8);
  const labelChars = o.horizontal ? Math.min(28, Math.max(...cats.map((c) => Array.from(c).length))) : Math.max(4, Math.floor(groupPx / 7));
  const hasLegend = series.length > 1 || !!o.reference;
  const top = 40 + (hasLegend ? (series.length + (o.reference ? 1 : 0)) * 18 : 0);
  const m = o.horizontal ? { l: Math.max(50, labelChars * 7 + 14), r: 56, t: top, b: 46 } : { l: 60, r: 16, t: top, b: 64 };
  const W = o.horizontal ? W0 : Math.max(W0, m.l + m.r + cats.length * groupPx);
  const H = o.height ?? (o.horizontal ? m.t + m.b + cats.length * groupPx : 300);
  const along = o.horizontal ? scale(0, cats.length, m.t, H - m.b) : scale(0, cats.length, m.l, W - m.r);
  const val = o.horizontal ? scale(lo, hi, m.l, W - m.r) : scale(lo, hi, H - m.b, m.t);
  const band = Math.abs(along(1) - along(0));
  const barW = Math.max(2, (band - 6) / series.length);
  const desc =
    `${cats.length} categories, ${series.length} series (${series.map((s) => s.name).join(', ')})` +
    (dropped > 0 ? `; ${dropped} more categories not shown` : '') +
    '. ' + cats.map((c, i) => `${c}: ${series.map((s) => fmt(s.values[i])).join(' / ')}`).join('; ');
  const parts = [svgOpen(W, H, o.title, desc)];
  parts.push(
    ...axesFrame(
      o.horizontal
        ? { width: W, height: H, m, title: o.title, xLabel: o.valueLabel, xTicks: vTicks, px: val, xFormat: fmt }
        : { width: W, height: H, m, title: o.title, yLabel: o.valueLabel, yTicks: vTicks, py: val, yFormat: fmt },
    ),
  );
  const zero = val(Math.max(lo, Math.min(hi, 0)));
  cats.forEach((c, i) => {
    const mid = (along(i) + along(i + 1)) / 2;
    if (o.horizontal) parts.push(svgText(c, { x: m.l - 6, y: mid + 4, anchor: 'end', max: labelChars }));
    else parts.push(svgText(c, { x: mid, y: H - m.b + 14, anchor: 'end', max: 14, transform: `rotate(-35 ${r1(mid)} ${r1(H - m.b + 14)})` }));
    series.forEach((s, k) => {
      const v = s.values[i];
      if (!Number.isFinite(v)) return;
      const color = s.color ?? PALETTE[k % PALETTE.length];
      const a0 = along(i) + 3 + k * barW;
      const end = val(v);
      const [v0, len] = [Math.min(zero, end), Math.max(1, Math.abs(end - zero))];
      const tip = `<title>${escapeXml(`${c} — ${s.name}: ${fmt(v)}`)}</title>`;
      if (o.horizontal) {
        parts.push(`<rect class="sy-bar" x="${r1(v0)}" y="${r1(a0)}" width="${r1(len)}" height="${r1(barW - 1)}" fill="${color}">${tip}</rect>`);
        if (barW >= 10) parts.push(svgText(fmt(v), { x: v0 + len + 4, y: a0 + barW / 2 + 3, size: 10, cls: 'sy-muted' }));
      } else {
        parts.push(`<rect class="sy-bar" x="${r1(a0)}" y="${r1(v0)}" width="${r1(barW - 1)}" height="${r1(len)}" fill="${color}">${tip}</rect>`);
        if (barW >= 22) parts.push(svgText(fmt(v), { x: a0 + barW / 2, y: v0 - 3, anchor: 'middle', size: 10, cls: 'sy-muted' }));
      }
    });
  });
  if (o.reference && Number.isFinite(o.reference.value)) {
    const p = r1(val(o.reference.value));
    const line = o.horizontal ? `x1="${p}" y1="${m.t}" x2="${p}" y2="${H - m.b}"` : `x1="${m.l}" y1="${p}" x2="${W - m.r}" y2="${p}"`;
    parts.push(`<line class="sy-ref" ${line} stroke="#444" stroke-width="1.5" stroke-dasharray="5 4"><title>${escapeXml(`${o.reference.label}: ${fmt(o.reference.value)}`)}</title></line>`);
  }
  const entries: { label: string; color: string; dash?: boolean; swatch?: 'line' | 'box' }[] = series.map((s, k) => ({ label: s.name, color: s.color ?? PALETTE[k % PALETTE.length] }));
  if (o.reference) entries.push({ label: `${o.reference.label} (${fmt(o.reference.value)})`, color: '#444', dash: true, swatch: 'line' });
  if (hasLegend) parts.push(...legend(entries, m.l, 46, 'box', 40));
  parts.push('</svg>');
  return parts.join('\n');
}

/** One bin of a reliability diagram. */
export interface ReliabilityBin {
  lower: number;
  upper: number;
  /** Examples whose confidence fell in the bin. */
  count: number;
  /** Mean predicted confidence in the bin. */
  confidence: number;
  /** Observed accuracy (fraction correct) in the bin. */
  accuracy: number;
}

/** Options of {@link reliabilityDiagram}. */
export interface ReliabilityOptions extends ChartBase {
  bins: ReliabilityBin[];
  /** Shown in the subtitle when given. */
  ece?: number;
}

/**
 * A reliability diagram: observed accuracy per confidence bin as bars against the diagonal of perfect
 * calibration, the gap to each bin's mean confidence outlined, and bin counts in a strip below.
 *
 * @example
 * const svg = reliabilityDiagram({ title: 'calibration', ece: 0.04, bins: [{ lower: 0.5, upper: 0.75, count: 40, confidence: 0.63, accuracy: 0.58 }] });
 */
export function reliabilityDiagram(o: ReliabilityOptions): string {
  const W = o.width ?? 420;
  const H = o.height ?? 460;
  const bins = o.bins.filter((b) => Number.isFinite(b.lower) && Number.isFinite(b.upper) && b.count > 0);
  if (!bins.length) return emptyChart(o.title, 'no predictions to bin', W);
  const m = { l: 60, r: 16, t: 44, b: 150 };
  const px = scale(0, 1, m.l, W - m.r);
  const py = scale(0, 1, H - m.b, m.t);
  const title = o.ece !== undefined && Number.isFinite(o.ece) ? `${o.title} (ECE ${formatNumber(o.ece)})` : o.title;
  const n = bins.reduce((a, b) => a + b.count, 0);
  const desc = `${bins.length} non-empty bins over ${n} predictions. ` + bins.map((b) => `[${formatNumber(b.lower)}, ${formatNumber(b.upper)}): n=${b.count}, confidence ${formatNumber(b.confidence)}, accuracy ${formatNumber(b.accuracy)}`).join('; ');
  const ticks = niceTicks(0, 1, 5);
  const parts = [svgOpen(W, H, title, desc)];
  parts.push(...axesFrame({ width: W, height: H - m.b + 50, m: { ...m, b: 50 }, title, xTicks: ticks, px, yTicks: ticks, py, yLabel: 'observed accuracy' }));
  for (const b of bins) {
    const x0 = px(Math.max(0, b.lower));
    const x1 = px(Math.min(1, b.upper));
    const acc = Math.max(0, Math.min(1, Number.isFinite(b.accuracy) ? b.accuracy : 0));
    const conf = Math.max(0, Math.min(1, Number.isFinite(b.confidence) ? b.confidence : 0));
    const tip = `<title>${escapeXml(`[${formatNumber(b.lower)}, ${formatNumber(b.upper)}): ${b.count} predictions, confidence ${formatNumber(conf)}, accuracy ${formatNumber(acc)}`)}</title>`;
    parts.push(`<rect class="sy-bar" x="${r1(x0 + 1)}" y="${r1(py(acc))}" width="${r1(Math.max(1, x1 - x0 - 2))}" height="${r1(py(0) - py(acc))}" fill="${PALETTE[0]}" fill-opacity="0.8">${tip}</rect>`);
    const [g0, g1] = [Math.min(acc, conf), Math.max(acc, conf)];
    if (g1 - g0 > 1e-6) parts.push(`<rect x="${r1(x0 + 1)}" y="${r1(py(g1))}" width="${r1(Math.max(1, x1 - x0 - 2))}" height="${r1(py(g0) - py(g1))}" fill="${PALETTE[1]}" fill-opacity="0.25" stroke="${PALETTE[1]}" stroke-width="1"/>`);
  }
  parts.push(`<line class="sy-ref" x1="${r1(px(0))}" y1="${r1(py(0))}" x2="${r1(px(1))}" y2="${r1(py(1))}" stroke="#444" stroke-dasharray="5 4"/>`);
  parts.push(...legend([{ label: 'accuracy', color: PALETTE[0] }, { label: 'gap to confidence', color: PALETTE[1] }], m.l + 4, m.t + 16, 'box', 20));
  // Count strip: bars of bin counts on their own axis, below the main panel.
  const s0 = H - m.b + 70;
  const s1 = H - 40;
  const maxC = Math.max(...bins.map((b) => b.count));
  const cy = scale(0, maxC, s1, s0);
  parts.push(`<rect class="sy-axis" x="${m.l}" y="${s0}" width="${W - m.l - m.r}" height="${s1 - s0}" fill="none" stroke="#333"/>`);
  for (const b of bins) {
    const x0 = px(Math.max(0, b.lower));
    const x1 = px(Math.min(1, b.upper));
    parts.push(`<rect class="sy-bar" x="${r1(x0 + 1)}" y="${r1(cy(b.count))}" width="${r1(Math.max(1, x1 - x0 - 2))}" height="${r1(s1 - cy(b.count))}" fill="#888"/>`);
  }
  for (const v of ticks) parts.push(svgText(formatNumber(v), { x: px(v), y: s1 + 14, anchor: 'middle' }));
  parts.push(svgText(formatNumber(maxC), { x: m.l - 6, y: s0 + 10, anchor: 'end' }), svgText('0', { x: m.l - 6, y: s1, anchor: 'end' }));
  parts.push(svgText('count', { x: 16, y: (s0 + s1) / 2, anchor: 'middle', transform: `rotate(-90 16 ${r1((s0 + s1) / 2)})` }));
  parts.push(svgText('predicted confidence', { x: (m.l + W - m.r) / 2, y: H - 8, anchor: 'middle' }));
  parts.push('</svg>');
  return parts.join('\n');
}

/** One curve of {@link rocChart}: `[x, y]` points in order, and its area under the curve when known. */
export interface Curve {
  name: string;
  points: [number, number][];
  auc?: number;
  color?: string;
}

/** Options of {@link rocChart}. */
export interface RocChartOptions extends ChartBase {
  curves: Curve[];
  /** `roc`: false-positive rate vs true-positive rate with the chance diagonal; `pr`: recall vs precision. */
  kind?: 'roc' | 'pr';
  /** PR only: the precision of a random classifier (the positive rate), drawn as a dashed line. */
  baseline?: number;
}

/**
 * ROC or precision-recall curves of several classifiers or classes on the unit square, with a legend that
 * carries each curve's AUC.
 *
 * @example
 * const svg = rocChart({ title: 'ROC', curves: [{ name: 'class a', auc: 0.91, points: [[0, 0], [0.1, 0.8], [1, 1]] }] });
 */
export function rocChart(o: RocChartOptions): string {
  const W = o.width ?? 460;
  const H = o.height ?? 440;
  const kind = o.kind ?? 'roc';
  const curves = o.curves.map((c) => ({ ...c, points: thin(c.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))) })).filter((c) => c.points.length);
  if (!curves.length) return emptyChart(o.title, 'no curve to plot', W);
  const m = { l: 60, r: 16, t: 40, b: 50 };
  const px = scale(0, 1, m.l, W - m.r);
  const py = scale(0, 1, H - m.b, m.t);
  const ticks = niceTicks(0, 1, 5);
  const label = (c: Curve) => (c.auc !== undefined && Number.isFinite(c.auc) ? `${c.name} (AUC ${c.auc.toFixed(3)})` : c.name);
  const desc = `${curves.length} ${kind === 'roc' ? 'ROC' : 'precision-recall'} curves: ${curves.map(label).join(', ')}`;
  const parts = [svgOpen(W, H, o.title, desc)];
  parts.push(...axesFrame({ width: W, height: H, m, title: o.title, xTicks: ticks, yTicks: ticks, px, py, xLabel: kind === 'roc' ? 'false positive rate' : 'recall', yLabel: kind === 'roc' ? 'true positive rate' : 'precision' }));
  if (kind === 'roc') parts.push(`<line class="sy-ref" x1="${r1(px(0))}" y1="${r1(py(0))}" x2="${r1(px(1))}" y2="${r1(py(1))}" stroke="#888" stroke-dasharray="5 4"/>`);
  else if (o.baseline !== undefined && Number.isFinite(o.baseline)) parts.push(`<line class="sy-ref" x1="${r1(px(0))}" y1="${r1(py(o.baseline))}" x2="${r1(px(1))}" y2="${r1(py(o.baseline))}" stroke="#888" stroke-dasharray="5 4"/>`);
  const clamp = (v: number) => Math.max(0, Math.min(1, v));
  curves.forEach((c, i) => {
    const color = c.color ?? PALETTE[i % PALETTE.length];
    parts.push(`<polyline class="sy-line" fill="none" stroke="${color}" stroke-width="2" points="${c.points.map(([x, y]) => `${r1(px(clamp(x)))},${r1(py(clamp(y)))}`).join(' ')}"><title>${escapeXml(label(c))}</title></polyline>`);
  });
  const entries = curves.map((c, i) => ({ label: label(c), color: c.color ?? PALETTE[i % PALETTE.length] }));
  const lx = kind === 'roc' ? W - m.r - 210 : m.l + 10;
  const ly = kind === 'roc' ? H - m.b - 10 - entries.length * 18 + 14 : H - m.b - 10 - entries.length * 18 + 14;
  parts.push(`<rect class="sy-bg" x="${r1(lx - 4)}" y="${r1(ly - 16)}" width="205" height="${entries.length * 18 + 6}" fill="white" fill-opacity="0.85"/>`);
  parts.push(...legend(entries, lx, ly, 'line', 24));
  parts.push('</svg>');
  return parts.join('\n');
}

/** Options of {@link confusionHeatmap}. */
export interface ConfusionOptions extends ChartBase {
  /** Class names, in the order of the matrix rows and columns. */
  labels: string[];
  /** `matrix[actual][predicted]` counts. */
  matrix: number[][];
}

/**
 * A confusion-matrix heatmap: rows are the actual class, columns the predicted class, colour is the share of
 * the row (recall per cell), and each cell prints its count and row share when it is large enough.
 *
 * @example
 * const svg = confusionHeatmap({ title: 'confusion', labels: ['cat', 'dog'], matrix: [[40, 10], [5, 45]] });
 */
export function confusionHeatmap(o: ConfusionOptions): string {
  const k = o.labels.length;
  const ok = k > 0 && o.matrix.length === k && o.matrix.every((r) => r.length === k);
  if (!ok) return emptyChart(o.title, k ? 'matrix shape does not match the labels' : 'no classes', o.width ?? 420);
  const labelChars = Math.min(16, Math.max(...o.labels.map((l) => Array.from(l).length)));
  const m = { l: 40 + labelChars * 7, r: 16, t: 44, b: 40 + labelChars * 6 };
  const cell = Math.max(8, Math.min(64, Math.floor(((o.width ?? 460) - m.l - m.r) / k)));
  const W = m.l + m.r + cell * k;
  const H = o.height ?? m.t + m.b + cell * k;
  const cellH = (H - m.t - m.b) / k;
  const clean = o.matrix.map((r) => r.map((v) => (Number.isFinite(v) && v > 0 ? v : 0)));
  const rowSum = clean.map((r) => r.reduce((a, b) => a + b, 0));
  const total = rowSum.reduce((a, b) => a + b, 0);
  const correct = clean.reduce((a, r, i) => a + r[i], 0);
  const desc = `${k} classes, ${total} examples, ${total ? formatNumber(correct / total) : 0} on the diagonal. Rows: ` + o.labels.map((l, i) => `${l}: ${clean[i].join(' ')}`).join('; ');
  const parts = [svgOpen(W, H, o.title, desc)];
  parts.push(svgText(o.title, { x: W / 2, y: 22, anchor: 'middle', size: 15, max: Math.floor(W / 8.5) }));
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const share = rowSum[i] ? clean[i][j] / rowSum[i] : 0;
      const x = m.l + j * cell;
      const y = m.t + i * cellH;
      const fill = `rgb(${Math.round(247 - share * 239)},${Math.round(251 - share * 203)},${Math.round(255 - share * 148)})`;
      const tip = `<title>${escapeXml(`actual ${o.labels[i]}, predicted ${o.labels[j]}: ${clean[i][j]} (${percent(share)} of row)`)}</title>`;
      parts.push(`<rect x="${r1(x)}" y="${r1(y)}" width="${cell}" height="${r1(cellH)}" fill="${fill}" stroke="#fff">${tip}</rect>`);
      if (cell >= 34 && cellH >= 22) {
        const color = share > 0.5 ? '#fff' : '#111';
        parts.push(svgText(formatNumber(clean[i][j]), { x: x + cell / 2, y: y + cellH / 2 + (cellH >= 34 ? 0 : 4), anchor: 'middle', cls: 'sy-keep', fill: color }));
        if (cellH >= 34) parts.push(svgText(percent(share), { x: x + cell / 2, y: y + cellH / 2 + 13, anchor: 'middle', size: 10, cls: 'sy-keep', fill: color }));
      }
    }
    parts.push(svgText(o.labels[i], { x: m.l - 6, y: m.t + (i + 0.5) * cellH + 4, anchor: 'end', max: labelChars }));
    const cx = m.l + (i + 0.5) * cell;
    parts.push(svgText(o.labels[i], { x: cx, y: H - m.b + 12, anchor: 'end', max: labelChars, transform: `rotate(-45 ${r1(cx)} ${r1(H - m.b + 12)})` }));
  }
  parts.push(`<rect class="sy-axis" x="${m.l}" y="${m.t}" width="${cell * k}" height="${r1(cellH * k)}" fill="none" stroke="#333"/>`);
  parts.push(svgText('actual', { x: 14, y: m.t + (cellH * k) / 2, anchor: 'middle', transform: `rotate(-90 14 ${r1(m.t + (cellH * k) / 2)})` }));
  parts.push(svgText('predicted', { x: m.l + (cell * k) / 2, y: H - 8, anchor: 'middle' }));
  parts.push('</svg>');
  return parts.join('\n');
}

export { lineChart, type ChartSeries, type LineChartOptions } from './svg-chart.ts';
