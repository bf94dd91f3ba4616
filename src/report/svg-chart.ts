import { axesFrame, emptyChart, escapeXml, finiteExtent, formatNumber, legend, niceTicks, PALETTE, r1, svgOpen, svgText, thin } from './svg.ts';

/**
 * One line of a {@link lineChart}.
 *
 * @example
 * const s: ChartSeries = { name: 'FGSM', points: [[0, 0.91], [0.05, 0.62]] };
 */
export interface ChartSeries {
  name: string;
  points: [number, number][];
  color?: string;
}

/**
 * Options of {@link lineChart}.
 *
 * @example
 * const o: LineChartOptions = { title: 'robust accuracy', xLabel: 'epsilon', yLabel: 'accuracy', yDomain: [0, 1], series: [] };
 */
export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  width?: number;
  height?: number;
  /** Log scale on x (e.g. FLOPs). */
  logX?: boolean;
  /** Fixed y range to include (e.g. [0, 1] for accuracies); default: the data range padded by 5%. */
  yDomain?: [number, number];
}

/**
 * A self-contained SVG line chart (no scripts, no external fonts) for reports and BENCHMARKS.md: several
 * series with markers and a legend, optional log-x. Non-finite points are skipped; no points gives a titled
 * "no data" chart.
 *
 * @example
 * const svg = lineChart({ title: 'validation loss', xLabel: 'step', yLabel: 'loss', series: [{ name: 'dense', points: [[0, 3], [100, 2]] }] });
 */
export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 420;
  // The legend sits above the plot, never over the lines.
  const m = { l: 70, r: 20, t: 40 + (o.series.length > 1 ? o.series.length * 18 : 0), b: 55 };
  const keep = ([x, y]: [number, number]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logX || x > 0);
  const tx = (x: number) => (o.logX ? Math.log10(x) : x);
  const all = o.series.flatMap((s) => s.points).filter(keep);
  if (!all.length) return emptyChart(o.title, 'no data points', W);
  const [x0, x1] = finiteExtent(all.map(([x]) => tx(x)));
  let [y0, y1] = finiteExtent(all.map(([, y]) => y));
  if (o.yDomain) [y0, y1] = [Math.min(o.yDomain[0], y0), Math.max(o.yDomain[1], y1)];
  else {
    const pad = (y1 - y0) * 0.05 || 0.5;
    [y0, y1] = [y0 - pad, y1 + pad];
  }
  const px = (x: number) => m.l + ((tx(x) - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const xt = o.logX ? niceTicks(x0, x1).filter((v) => Number.isInteger(v)).map((v) => Math.pow(10, v)) : niceTicks(x0, x1);
  const desc = `${o.series.length} series (${o.series.map((s) => s.name).join(', ')}), ${all.length} points; x: ${o.xLabel}, y: ${o.yLabel}`;
  const parts: string[] = [svgOpen(W, H, o.title, desc)];
  parts.push(...axesFrame({ width: W, height: H, m, title: o.title, xLabel: o.xLabel, yLabel: o.yLabel, xTicks: xt, px, yTicks: niceTicks(y0, y1), py }));
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = thin(s.points.filter(keep));
    if (pts.length) parts.push(`<polyline class="sy-line" fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([x, y]) => `${r1(px(x))},${r1(py(y))}`).join(' ')}"/>`);
    if (pts.length <= 200) for (const [x, y] of pts) parts.push(`<circle cx="${r1(px(x))}" cy="${r1(py(y))}" r="2.5" fill="${color}"><title>${escapeXml(`${s.name}: (${formatNumber(x)}, ${formatNumber(y)})`)}</title></circle>`);
  });
  if (o.series.length > 1) parts.push(...legend(o.series.map((s, i) => ({ label: s.name, color: s.color ?? PALETTE[i % PALETTE.length] })), m.l, 46, 'line', 60));
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * One row of an {@link intervalChart}: an estimate and its interval (NaN bounds: no interval drawn).
 *
 * @example
 * const r: IntervalRow = { label: 'Biscoe (n=33)', estimate: 0.957, low: 0.88, high: 1 };
 */
export interface IntervalRow {
  label: string;
  estimate: number;
  low: number;
  high: number;
}

/**
 * Options of {@link intervalChart}.
 *
 * @example
 * const o: IntervalChartOptions = { title: 'accuracy by Island', valueLabel: 'accuracy', rows: [], reference: { value: 0.97, label: 'overall' } };
 */
export interface IntervalChartOptions {
  title: string;
  valueLabel: string;
  rows: IntervalRow[];
  reference?: { value: number; label: string };
  width?: number;
}

/**
 * Estimates with their intervals, one row per category (a forest plot). The axis spans the data (estimates,
 * bounds and the reference), not zero to one, so that 0.957 and 1 sit visibly apart; ticks say where it starts.
 *
 * @example
 * const svg = intervalChart({ title: 'accuracy by Island', valueLabel: 'accuracy', rows: [{ label: 'Dream', estimate: 1, low: 1, high: 1 }, { label: 'Biscoe', estimate: 0.957, low: 0.88, high: 1 }] });
 */
export function intervalChart(o: IntervalChartOptions): string {
  const W = o.width ?? 560;
  const rows = o.rows.filter((r) => Number.isFinite(r.estimate));
  if (!rows.length) return emptyChart(o.title, 'no estimates to plot', W);
  const labelChars = Math.min(28, Math.max(...rows.map((r) => Array.from(r.label).length)));
  const legendRows = o.reference ? 1 : 0;
  const m = { l: Math.max(50, labelChars * 7 + 14), r: 24, t: 40 + legendRows * 18, b: 46 };
  const H = m.t + m.b + rows.length * 26;
  const ref = o.reference && Number.isFinite(o.reference.value) ? [o.reference.value] : [];
  let [lo, hi] = finiteExtent([...rows.flatMap((r) => [r.estimate, r.low, r.high]), ...ref]);
  const pad = (hi - lo) * 0.08 || Math.max(Math.abs(hi) * 0.02, 0.01);
  [lo, hi] = [lo - pad, hi + pad];
  const px = (v: number) => m.l + ((v - lo) / (hi - lo)) * (W - m.l - m.r);
  const py = (i: number) => m.t + (i + 0.5) * 26;
  const ticks = niceTicks(lo, hi, 5).filter((t) => t >= lo && t <= hi);
  const desc = rows.map((r) => `${r.label}: ${formatNumber(r.estimate)}${Number.isFinite(r.low) ? ` [${formatNumber(r.low)}, ${formatNumber(r.high)}]` : ''}`).join('; ');
  const parts = [svgOpen(W, H, o.title, desc)];
  parts.push(...axesFrame({ width: W, height: H, m, title: o.title, xLabel: o.valueLabel, xTicks: ticks, px }));
  rows.forEach((r, i) => {
    const y = r1(py(i));
    parts.push(svgText(r.label, { x: m.l - 6, y: py(i) + 4, anchor: 'end', max: labelChars }));
    if (Number.isFinite(r.low) && Number.isFinite(r.high)) parts.push(`<line class="sy-interval" x1="${r1(px(r.low))}" y1="${y}" x2="${r1(px(r.high))}" y2="${y}" stroke="${PALETTE[0]}" stroke-width="2"/>`);
    const tip = `${r.label}: ${formatNumber(r.estimate)}${Number.isFinite(r.low) ? ` (95% CI ${formatNumber(r.low)} – ${formatNumber(r.high)})` : ' (no interval)'}`;
    parts.push(`<circle class="sy-point" cx="${r1(px(r.estimate))}" cy="${y}" r="4.5" fill="${PALETTE[0]}"><title>${escapeXml(tip)}</title></circle>`);
  });
  if (ref.length) {
    const x = r1(px(ref[0]));
    parts.push(`<line class="sy-ref" x1="${x}" y1="${m.t}" x2="${x}" y2="${H - m.b}" stroke="#444" stroke-width="1.5" stroke-dasharray="5 4"/>`);
    parts.push(...legend([{ label: `${o.reference!.label} (${formatNumber(ref[0])})`, color: '#444', dash: true }], m.l, 46, 'line', 40));
  }
  parts.push('</svg>');
  return parts.join('\n');
}
