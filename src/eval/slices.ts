/**
 * Metrics sliced by a column: one scorer subset per slice value, each with bootstrap intervals, and the
 * worst slices (by a chosen metric, among slices of at least `minSize` examples) listed first.
 */
import type { Table } from '../data/csv.ts';
import type { BootstrapOptions } from '../stats/bootstrap.ts';
import { binCounts, quantileBins } from '../stats/drift.ts';
import { SwitchyardError } from '../util/errors.ts';
import { metricsWithCi, type MetricValue } from './bootstrap-metrics.ts';
import { checkSameLength } from './metrics-input.ts';
import type { MetricScorer } from './metrics.ts';

/** The slice label of an empty cell. */
export const MISSING_SLICE = '(missing)';

/**
 * The values of a slice column, one per row; a column that does not exist is a bad-input error naming
 * the file and the columns it has.
 *
 * @example
 * sliceColumn(table, 'region'); // ['north', 'south', ...]
 */
export function sliceColumn(table: Table, column: string): string[] {
  const c = table.columns.indexOf(column);
  if (c < 0) throw new SwitchyardError('E_EVAL_SLICE', `${table.file}: no column '${column}' to slice by`, `columns: ${table.columns.join(', ')}`);
  return table.rows.map((r) => r[c]);
}

/**
 * Groups per-row values into slices: empty cells become {@link MISSING_SLICE}; a numeric column with more
 * than `maxLevels` distinct values is cut into quartile bins labelled `[lo, hi)`.
 *
 * @example
 * sliceLabels(['a', '', 'a']); // ['a', '(missing)', 'a']
 */
export function sliceLabels(values: readonly string[], maxLevels = 20): string[] {
  const distinct = new Set(values);
  const nums = values.map((v) => (v.trim() === '' ? NaN : Number(v)));
  const numeric = values.every((v, i) => v.trim() === '' || Number.isFinite(nums[i]));
  if (distinct.size <= maxLevels || !numeric) return values.map((v) => (v.trim() === '' ? MISSING_SLICE : v));
  const edges = quantileBins(nums, 4);
  const fmt = (x: number) => Number(x.toPrecision(4)).toString();
  return nums.map((x) => {
    if (Number.isNaN(x)) return MISSING_SLICE;
    const b = binCounts([x], edges).indexOf(1);
    return b === edges.length - 2 ? `[${fmt(edges[b])}, ${fmt(edges[b + 1])}]` : `[${fmt(edges[b])}, ${fmt(edges[b + 1])})`;
  });
}

/**
 * Metrics of one slice; `metrics` is null for an empty slice. `tooSmall` slices carry point estimates
 * but no interval and are never listed as worst.
 *
 * @example
 * const s: SliceResult = { value: 'north', count: 120, tooSmall: false, metrics: [] };
 */
export interface SliceResult {
  value: string;
  count: number;
  tooSmall: boolean;
  metrics: MetricValue[] | null;
}

/**
 * All slices of one column and the worst of them.
 *
 * @example
 * const r: SliceReport = sliceMetrics(scorer, regions, { column: 'region' });
 * r.worst[0].value; // the slice with the lowest accuracy
 */
export interface SliceReport {
  column: string;
  /** The metric the worst slices are ranked by. */
  metric: string;
  minSize: number;
  slices: SliceResult[];
  worst: SliceResult[];
}

/**
 * Options of {@link sliceMetrics}.
 *
 * @example
 * const o: SliceOptions = { column: 'region', metric: 'f1_macro', minSize: 50, worst: 3, seed: 1 };
 */
export interface SliceOptions extends BootstrapOptions {
  column: string;
  /** Metric to rank slices by (default the scorer's first metric). */
  metric?: string;
  /** Smallest slice that gets an interval and can be listed as worst (default 30). */
  minSize?: number;
  /** How many worst slices to list (default 5). */
  worst?: number;
  /** Declared slice values; those without rows are reported as empty slices. */
  levels?: readonly string[];
}

/**
 * Metrics per value of a slice column (already grouped, e.g. by {@link sliceLabels}), with bootstrap
 * intervals, and the worst slices by `metric` in its bad direction.
 *
 * @example
 * const report = sliceMetrics(new ClassificationScorer(data), sliceLabels(sliceColumn(table, 'region')), { column: 'region', seed: 1 });
 */
export function sliceMetrics(scorer: MetricScorer, values: readonly string[], opts: SliceOptions): SliceReport {
  checkSameLength(values.length, scorer.n, 'slice values', 'predictions');
  const metric = opts.metric ?? scorer.names[0];
  const j = scorer.names.indexOf(metric);
  if (j < 0) throw new SwitchyardError('E_EVAL_METRIC', `unknown metric '${metric}' to rank slices by`, `metrics: ${scorer.names.join(', ')}`);
  const minSize = opts.minSize ?? 30;
  const groups = new Map<string, number[]>();
  for (const l of opts.levels ?? []) groups.set(l, []);
  values.forEach((v, i) => {
    const g = groups.get(v);
    if (g) g.push(i);
    else groups.set(v, [i]);
  });
  const slices: SliceResult[] = [...groups].map(([value, rows]) => {
    if (rows.length === 0) return { value, count: 0, tooSmall: true, metrics: null };
    const sub = scorer.subset(Int32Array.from(rows));
    const tooSmall = rows.length < minSize;
    const metrics = tooSmall
      ? Array.from(sub.score(new Int32Array(sub.n).fill(1)), (estimate, m) => ({ name: sub.names[m], estimate, low: NaN, high: NaN, higherIsBetter: sub.higherIsBetter[m] }))
      : metricsWithCi(sub, opts);
    return { value, count: rows.length, tooSmall, metrics };
  });
  const higher = scorer.higherIsBetter[j];
  const worst = slices
    .filter((s) => !s.tooSmall && s.metrics && !Number.isNaN(s.metrics[j].estimate))
    .sort((a, b) => (higher ? 1 : -1) * (a.metrics![j].estimate - b.metrics![j].estimate))
    .slice(0, opts.worst ?? 5);
  return { column: opts.column, metric, minSize, slices, worst };
}
