/**
 * Charts of model behaviour for the evaluation reports: reliability diagram, ROC / precision-recall curves and
 * a confusion-matrix heatmap (re-exported by charts.ts). Pure functions from data to a self-contained SVG.
 */
import { axesFrame, emptyChart, escapeXml, formatNumber, formatPercent, legend, niceTicks, PALETTE, r1, scale, svgOpen, svgText, thin, type ChartBase } from './svg.ts';

/**
 * One bin of a reliability diagram.
 *
 * @example
 * const b: ReliabilityBin = { lower: 0.8, upper: 0.9, count: 120, confidence: 0.85, accuracy: 0.79 };
 */
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

/**
 * Options of {@link reliabilityDiagram}.
 *
 * @example
 * const o: ReliabilityOptions = { title: 'calibration', ece: 0.04, bins: [] };
 */
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

/**
 * One curve of {@link rocChart}: `[x, y]` points in order, and its area under the curve when known.
 *
 * @example
 * const c: Curve = { name: 'class a', auc: 0.91, points: [[0, 0], [0.1, 0.8], [1, 1]] };
 */
export interface Curve {
  name: string;
  points: [number, number][];
  auc?: number;
  color?: string;
}

/**
 * Options of {@link rocChart}.
 *
 * @example
 * const o: RocChartOptions = { title: 'PR', kind: 'pr', baseline: 0.3, curves: [] };
 */
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

/**
 * Options of {@link confusionHeatmap}.
 *
 * @example
 * const o: ConfusionOptions = { title: 'confusion', labels: ['cat', 'dog'], matrix: [[40, 10], [5, 45]] };
 */
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
      const tip = `<title>${escapeXml(`actual ${o.labels[i]}, predicted ${o.labels[j]}: ${clean[i][j]} (${formatPercent(share)} of row)`)}</title>`;
      parts.push(`<rect x="${r1(x)}" y="${r1(y)}" width="${cell}" height="${r1(cellH)}" fill="${fill}" stroke="#fff">${tip}</rect>`);
      if (cell >= 34 && cellH >= 22) {
        const color = share > 0.5 ? '#fff' : '#111';
        parts.push(svgText(formatNumber(clean[i][j]), { x: x + cell / 2, y: y + cellH / 2 + (cellH >= 34 ? 0 : 4), anchor: 'middle', cls: 'sy-keep', fill: color }));
        if (cellH >= 34) parts.push(svgText(formatPercent(share), { x: x + cell / 2, y: y + cellH / 2 + 13, anchor: 'middle', size: 10, cls: 'sy-keep', fill: color }));
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
