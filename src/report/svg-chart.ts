import { axesFrame, emptyChart, escapeXml, finiteExtent, formatNumber, legend, niceTicks, PALETTE, r1, svgOpen, thin } from './svg.ts';

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
  const m = { l: 70, r: 20, t: 40, b: 55 };
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
  parts.push(...legend(o.series.map((s, i) => ({ label: s.name, color: s.color ?? PALETTE[i % PALETTE.length] })), W - m.r - 190, m.t + 16, 'line', 24));
  parts.push('</svg>');
  return parts.join('\n');
}
