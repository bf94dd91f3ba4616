/**
 * The regression gate: two models scored on the same examples, compared with paired statistics
 * (paired bootstrap of every guarded metric's difference; McNemar's test for accuracy), overall and per
 * slice, with a Holm correction over all guarded tests. The candidate fails when it is significantly
 * worse on any guarded metric in any scope.
 */
import { checkRanges, COMMON_RANGES } from '../util/ranges.ts';
import { readTable } from '../data/readers/index.ts';
import { mcnemar } from '../stats/paired.ts';
import { SwitchyardError } from '../util/errors.ts';
import { pairedMetricDiffs } from './bootstrap-metrics.ts';
import { ClassificationScorer, type MetricScorer } from './metrics.ts';
import { checkSameLength } from './metrics-input.ts';
import { RegressionScorer } from './metrics-regression.ts';
import { loadEvalModel, type TabularEvalModel } from './model.ts';
import { sliceColumn, sliceLabels } from './slices.ts';

/**
 * One guarded metric in one scope (overall or one slice).
 *
 * @example
 * const r: CompareRow = { scope: 'region=east', count: 300, metric: 'accuracy', baseline: 0.9, candidate: 0.8, diff: -0.1, low: -0.15, high: -0.05, test: 'mcnemar', pWorse: 0.0001, pAdjusted: 0.0006, worse: true };
 */
export interface CompareRow {
  /** 'overall' or 'column=value'. */
  scope: string;
  count: number;
  metric: string;
  baseline: number;
  candidate: number;
  /** candidate - baseline, with its paired-bootstrap interval at 1 - 2·alpha. */
  diff: number;
  low: number;
  high: number;
  test: 'mcnemar' | 'paired-bootstrap';
  /** One-sided p-value of "the candidate is worse", and after the multiple-testing correction. */
  pWorse: number;
  pAdjusted: number;
  worse: boolean;
  /** Discordant counts for accuracy: b = only the baseline right, c = only the candidate right. */
  mcnemar?: { b: number; c: number; statistic: number; pValue: number; exact: boolean };
}

/**
 * Options of the paired comparison.
 *
 * @example
 * const o: PairedCompareOptions = { guard: ['accuracy', 'ece'], slices: [{ column: 'region', labels }], alpha: 0.05 };
 */
export interface PairedCompareOptions {
  /** Metrics that fail the gate (default: the scorer's first metric). */
  guard?: string[];
  slices?: { column: string; labels: readonly string[] }[];
  alpha?: number;
  resamples?: number;
  seed?: number;
  /** Slices smaller than this are reported as skipped (default 30). */
  minSlice?: number;
  correction?: 'holm' | 'none';
}

/**
 * Ranges of the numeric options of {@link comparePaired} and {@link compareModels}, each with the
 * `switchyard compare` flag that sets it: the CLI's flag spec spreads them in and both functions check them.
 *
 * @example
 * const spec = { alpha: { type: 'number', default: 0.05, ...COMPARE_RANGES.alpha, help: 'significance level' } };
 */
export const COMPARE_RANGES = {
  alpha: { flag: '--alpha', above: 0, below: 0.5 },
  resamples: { flag: '--resamples', min: 100, max: 100_000, integer: true },
  minSlice: { flag: '--min-slice', min: 1, integer: true },
  ...COMMON_RANGES,
} as const;

/**
 * Outcome of a comparison: every guarded row, the regressions among them, skipped slices.
 *
 * @example
 * if (!result.passed) console.log(result.regressions.map((r) => `${r.scope} ${r.metric}`));
 */
export interface PairedCompareResult {
  n: number;
  guard: string[];
  alpha: number;
  resamples: number;
  correction: 'holm' | 'none';
  rows: CompareRow[];
  regressions: CompareRow[];
  skipped: { scope: string; count: number }[];
  passed: boolean;
}

/**
 * Holm-Bonferroni step-down adjusted p-values (same order as the input).
 *
 * @example
 * holmAdjust([0.01, 0.04, 0.03]); // [0.03, 0.06, 0.06]
 */
export function holmAdjust(p: readonly number[]): number[] {
  const m = p.length;
  const order = p.map((_, i) => i).sort((a, b) => (p[a] ?? 1) - (p[b] ?? 1));
  const out = new Array<number>(m);
  let running = 0;
  order.forEach((i, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * (Number.isNaN(p[i]) ? 1 : p[i])));
    out[i] = running;
  });
  return out;
}

function scopeRows(scope: string, a: MetricScorer, b: MetricScorer, guard: string[], o: PairedCompareOptions, alpha: number): CompareRow[] {
  const diffs = pairedMetricDiffs(a, b, { resamples: o.resamples ?? 1000, seed: o.seed ?? 0 }, alpha);
  return guard.map((metric) => {
    const d = diffs.find((x) => x.name === metric)!;
    const row: CompareRow = { scope, count: a.n, metric, baseline: d.baseline, candidate: d.candidate, diff: d.estimate, low: d.low, high: d.high, test: 'paired-bootstrap', pWorse: d.pWorse, pAdjusted: d.pWorse, worse: false };
    if (metric === 'accuracy' && a instanceof ClassificationScorer && b instanceof ClassificationScorer) {
      const ca = a.correctness();
      const cb = b.correctness();
      let nb = 0;
      let nc = 0;
      for (let i = 0; i < ca.length; i++) {
        if (ca[i] && !cb[i]) nb++;
        if (!ca[i] && cb[i]) nc++;
      }
      const t = mcnemar(nb, nc);
      row.test = 'mcnemar';
      row.mcnemar = { b: nb, c: nc, ...t };
      row.pWorse = row.pAdjusted = nb > nc ? t.pValue / 2 : 1 - t.pValue / 2;
    }
    return row;
  });
}

/**
 * Compares a baseline and a candidate scorer built on the same examples (pure: arrays in, verdict out).
 *
 * @example
 * const r = comparePaired(new ClassificationScorer(a), new ClassificationScorer(b), { guard: ['accuracy'], slices: [{ column: 'region', labels }] });
 * r.passed; // false when the candidate is significantly worse somewhere
 */
export function comparePaired(baseline: MetricScorer, candidate: MetricScorer, o: PairedCompareOptions = {}): PairedCompareResult {
  checkSameLength(candidate.n, baseline.n, 'candidate predictions', 'baseline predictions');
  checkRanges(o, COMPARE_RANGES);
  const alpha = o.alpha ?? 0.05;
  const guard = o.guard?.length ? o.guard : [baseline.names[0]];
  for (const g of guard) if (!baseline.names.includes(g)) throw new SwitchyardError('E_USAGE', `--guard: unknown metric '${g}'`, `metrics: ${baseline.names.filter((n) => !n.includes(':')).join(', ')}`);
  const minSlice = o.minSlice ?? 30;
  const rows = scopeRows('overall', baseline, candidate, guard, o, alpha);
  const skipped: { scope: string; count: number }[] = [];
  for (const s of o.slices ?? []) {
    checkSameLength(s.labels.length, baseline.n, `values of slice column '${s.column}'`, 'predictions');
    const groups = new Map<string, number[]>();
    s.labels.forEach((v, i) => (groups.get(v) ?? groups.set(v, []).get(v)!).push(i));
    for (const [value, idx] of [...groups].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
      const scope = `${s.column}=${value}`;
      if (idx.length < minSlice) {
        skipped.push({ scope, count: idx.length });
        continue;
      }
      const sel = Int32Array.from(idx);
      rows.push(...scopeRows(scope, baseline.subset(sel), candidate.subset(sel), guard, o, alpha));
    }
  }
  const correction = o.correction ?? 'holm';
  if (correction === 'holm') holmAdjust(rows.map((r) => r.pWorse)).forEach((p, i) => (rows[i].pAdjusted = p));
  for (const r of rows) r.worse = r.pAdjusted < alpha;
  const regressions = rows.filter((r) => r.worse);
  return { n: baseline.n, guard, alpha, resamples: o.resamples ?? 1000, correction, rows, regressions, skipped, passed: regressions.length === 0 };
}

/**
 * Options of {@link compareModels}: two model paths (run directories or ONNX files), the labelled data.
 *
 * @example
 * const o: CompareOptions = { baseline: 'runs/a', candidate: 'runs/b', data: 'test.csv', guard: ['accuracy', 'ece'], slice: ['region'] };
 */
export interface CompareOptions extends Omit<PairedCompareOptions, 'slices'> {
  baseline: string;
  candidate: string;
  data: string;
  slice?: string[];
  /** Target column and class order for foreign ONNX models. */
  target?: string;
  classes?: string[];
  threads?: number;
}

async function scorerFor(path: string, flag: string, table: Awaited<ReturnType<typeof readTable>>, o: CompareOptions, classes?: readonly string[]): Promise<{ scorer: MetricScorer; model: TabularEvalModel }> {
  const model = await loadEvalModel(path, { target: o.target, classes: o.classes, threads: o.threads });
  if (model.kind === 'lm') throw new SwitchyardError('E_USAGE', `${path} (${flag}) is a language model`, 'switchyard compare judges tabular classifiers and regressors');
  try {
    const d = model.encode(table);
    if (!d.y) throw new SwitchyardError('E_CSV_COLUMN', `${table.file}: no column '${model.target}' with the labels`, `add the target column '${model.target}' to the data`);
    const out = await model.predict(d.x, d.rows);
    if (model.task === 'regression') return { scorer: new RegressionScorer(out.logits.subarray(0, d.rows), d.y), model };
    let probs: Float32Array = out.probabilities;
    let labels = d.y as Int32Array;
    if (classes) {
      // Align the candidate's class order to the baseline's.
      const k = classes.length;
      const pos = classes.map((c) => model.classes.indexOf(c));
      if (model.classes.length !== k || pos.includes(-1))
        throw new SwitchyardError('E_EVAL_CLASSES', `${path} (${flag}) predicts classes [${model.classes.join(', ')}], the baseline [${classes.join(', ')}]`, 'compare models trained for the same classes');
      probs = new Float32Array(out.probabilities.length);
      for (let i = 0; i < d.rows; i++) for (let c = 0; c < k; c++) probs[i * k + c] = out.probabilities[i * k + pos[c]];
      const back = model.classes.map((c) => classes.indexOf(c));
      labels = Int32Array.from(labels, (y) => back[y]);
    }
    return { scorer: new ClassificationScorer({ labels, probs, classes: classes ?? model.classes }, { perClass: false }), model };
  } finally {
    await model.release();
  }
}

/**
 * Loads both models, predicts the labelled `data` with each, and runs {@link comparePaired} overall and
 * per value of each `slice` column.
 *
 * @example
 * const r = await compareModels({ baseline: 'runs/a', candidate: 'runs/b', data: 'test.csv', guard: ['accuracy'], slice: ['region'] });
 * process.exitCode = r.passed ? 0 : 3;
 */
export async function compareModels(o: CompareOptions): Promise<PairedCompareResult & { task: string; classes: string[]; baseline: string; candidate: string; data: string }> {
  checkRanges(o, COMPARE_RANGES);
  const table = await readTable(o.data);
  const slices = (o.slice ?? []).map((column) => ({ column, labels: sliceLabels(sliceColumn(table, column)) }));
  const a = await scorerFor(o.baseline, '--baseline', table, o);
  const b = await scorerFor(o.candidate, '--candidate', table, o, a.model.task === 'classification' ? a.model.classes : undefined);
  if (a.model.task !== b.model.task) throw new SwitchyardError('E_USAGE', `the baseline is a ${a.model.task} model, the candidate a ${b.model.task} model`, 'compare models of the same task');
  const r = comparePaired(a.scorer, b.scorer, { ...o, slices });
  return { ...r, task: a.model.task, classes: a.model.classes, baseline: o.baseline, candidate: o.candidate, data: o.data };
}
