/**
 * The report charts: histogram and (grouped, horizontal) bar chart here; reliability diagram, ROC /
 * precision-recall curves and a confusion-matrix heatmap from model-charts.ts; {@link lineChart} from
 * svg-chart.ts for curves such as robust accuracy vs epsilon. Each is a pure function from data to a
 * self-contained SVG string. Non-finite values
 * are skipped, empty inputs give a titled "no data" chart, long labels are truncated with an ellipsis (the
 * full text stays in a tooltip).
 */
import type { Histogram } from '../audit/types.ts';
import { axesFrame, emptyChart, escapeXml, finiteExtent, formatNumber, formatPercent, legend, niceTicks, PALETTE, r1, scale, svgOpen, svgText, type ChartBase } from './svg.ts';

/**
 * Options of {@link histogramChart}.
 *
 * @example
 * const o: HistogramChartOptions = { title: 'age', histogram: { edges: [0, 10, 20], counts: [4, 6] }, overlay: { name: 'test', histogram: { edges: [0, 10, 20], counts: [1, 2] } } };
 */
export interface HistogramChartOptions extends ChartBase {
  histogram: Histogram;
  xLabel?: string;
  yLabel?: string;
  /** Name of the main histogram in the legend (shown only with `overlay`). */
  name?: string;
  /** A second histogram drawn as an outline on top (e.g. the test split); with it, both are shown as shares. */
  overlay?: { name: string; histogram: Histogram };
}

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
  parts.push(...axesFrame({ width: W, height: H, m, title: o.title, xLabel: o.xLabel, yLabel: o.yLabel ?? (share ? 'share of rows' : 'count'), xTicks: niceTicks(lo, hi, 5), px, yTicks, py, yFormat: share ? formatPercent : formatNumber }));
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

/**
 * One series of a {@link barChart}: one value per category (NaN or missing = no bar).
 *
 * @example
 * const s: BarSeries = { name: 'train', values: [0.2, 0.5] };
 */
export interface BarSeries {
  name: string;
  values: number[];
  color?: string;
}

/**
 * Options of {@link barChart}.
 *
 * @example
 * const o: BarChartOptions = { title: 'base rate', categories: ['a', 'b'], series: [{ name: 'rate', values: [0.2, 0.5] }], percent: true, reference: { value: 0.3, label: 'overall' } };
 */
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
  const fmt = o.percent ? formatPercent : formatNumber;
  const groupPx = Math.max(o.horizontal ? 24 : 14, series.length * 12 + 8);
  const labelChars = o.horizontal ? Math.min(28, Math.max(...cats.map((c) => Array.from(c).length))) : Math.max(4, Math.floor(groupPx / 7));
  const hasLegend = series.length > 1 || !!o.reference;
  // Value labels sit above vertical bars: keep a label's height between the legend and the top of the plot.
  const top = 40 + (hasLegend ? (series.length + (o.reference ? 1 : 0)) * 18 + (o.horizontal ? 0 : 14) : 0);
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

export { intervalChart, lineChart, type ChartSeries, type IntervalChartOptions, type IntervalRow, type LineChartOptions } from './svg-chart.ts';
export { reliabilityDiagram, rocChart, confusionHeatmap, type ReliabilityBin, type ReliabilityOptions, type Curve, type RocChartOptions, type ConfusionOptions } from './model-charts.ts';
export type { ChartBase } from './svg.ts';
