/**
 * The metric part of an evaluation, assembled from the metrics helpers: every metric with a seeded
 * bootstrap interval, confusion matrix and ROC curves, calibration before/after temperature scaling,
 * metrics per slice with the worst slices, and fairness per sensitive column.
 */
import type { Table } from '../data/csv.ts';
import { metricsWithCi, type MetricValue } from './bootstrap-metrics.ts';
import { applyTemperature, calibrationSummary, type CalibrationSummary } from './calibration.ts';
import { ClassificationScorer, type MetricScorer } from './metrics.ts';
import { curves } from './metrics-rank.ts';
import { RegressionScorer } from './metrics-regression.ts';
import type { ClassifierOutputs, EvalData, TabularEvalModel } from './model.ts';
import { sliceColumn, sliceLabels, sliceMetrics, type SliceReport } from './slices.ts';
import { decide, type FairnessReport, fairnessReport, optimizeThresholds, positiveScores, type ThresholdResult } from './fairness.ts';

/**
 * Metric results of a tabular evaluation.
 *
 * @example
 * scores.overall.accuracy; // { name: 'accuracy', estimate: 0.91, low: 0.88, high: 0.94, higherIsBetter: true }
 */
export interface TabularScores {
  overall: Record<string, MetricValue>;
  resamples: number;
  confusion?: number[][];
  roc?: { name: string; auc: number; x: number[]; y: number[] }[];
  calibration?: { before: CalibrationSummary; after?: CalibrationSummary; temperature?: number; metricsAfter?: Record<string, number> };
  /** Metrics per value of every --slice and --sensitive column, with the worst slices. */
  slices?: SliceReport[];
  /** Per --sensitive column: group rates and gaps of the model's decisions, and per-group thresholds that close them. */
  fairness?: FairnessResult[];
}

/**
 * Fairness of one sensitive column: the model's decisions (positive-class probability >= 0.5) and the
 * per-group thresholds that equalise selection rates (demographic parity) or TPRs (equal opportunity), with their accuracy cost.
 *
 * @example
 * r.scores?.fairness?.[0].report.demographicParityDifference;
 */
export interface FairnessResult {
  column: string;
  positive: string;
  report: FairnessReport;
  mitigations: ThresholdResult[];
}

/**
 * Options of {@link scoreTabular}.
 *
 * @example
 * const o: ScoreOptions = { slice: ['region'], sensitive: ['sex'], bootstrap: 1000, seed: 0, temperature: 1.4 };
 */
export interface ScoreOptions {
  sensitive?: string[];
  slice?: string[];
  bootstrap?: number;
  seed?: number;
  /** The favourable class for fairness metrics (default: the second class of a binary model). */
  positive?: string;
  /** Sensitive groups with fewer rows are listed but left out of the fairness gaps (default 30). */
  minGroupSize?: number;
  /** A fitted temperature: calibration is also reported after scaling the logits by it. */
  temperature?: number;
}

/**
 * Scores one prediction pass against the labels of `test`.
 *
 * @example
 * const s = scoreTabular(model, table, test, await model.predict(test.x, test.rows), { bootstrap: 1000 });
 */
export function scoreTabular(model: TabularEvalModel, table: Table, test: EvalData, out: ClassifierOutputs, o: ScoreOptions = {}): TabularScores {
  const resamples = o.bootstrap ?? 1000;
  const boot = { resamples, seed: o.seed ?? 0 };
  const y = test.y!;
  let scorer: MetricScorer;
  let sliceScorer: MetricScorer;
  const result: TabularScores = { overall: {}, resamples };
  if (model.task === 'classification') {
    const data = { labels: y as Int32Array, probs: out.probabilities, classes: model.classes };
    const cs = new ClassificationScorer(data);
    scorer = cs;
    sliceScorer = new ClassificationScorer(data, { perClass: false });
    result.confusion = cs.confusion();
    result.roc = cs.rankings().map((r, c) => {
      const { roc } = curves(r);
      return { name: model.classes[c], auc: cs.pointMetrics()[`roc_auc:${model.classes[c]}`], x: roc.x, y: roc.y };
    }).filter((c) => model.classes.length > 2 || c.name === model.classes[1]);
    result.calibration = { before: calibrationSummary(data) };
    if (o.temperature !== undefined) {
      const scaled = { ...data, probs: applyTemperature(out.logits, model.classes.length, o.temperature) };
      result.calibration.after = calibrationSummary(scaled);
      result.calibration.temperature = o.temperature;
      result.calibration.metricsAfter = new ClassificationScorer(scaled, { perClass: false }).pointMetrics();
    }
  } else sliceScorer = scorer = new RegressionScorer(out.logits.subarray(0, test.rows), y);
  for (const m of metricsWithCi(scorer, boot)) result.overall[m.name] = m;
  const columns = [...new Set([...(o.slice ?? []), ...(o.sensitive ?? [])])];
  if (model.task === 'classification' && o.sensitive?.length) {
    const data = { labels: y as Int32Array, probs: out.probabilities, classes: model.classes };
    const { score, actual, positive } = positiveScores(data, o.positive);
    result.fairness = o.sensitive.map((column) => {
      const groups = sliceLabels(sliceColumn(table, column));
      const report = fairnessReport(actual, decide(score, groups, 0.5), groups, { minGroupSize: o.minGroupSize });
      const mitigations = (['selection_rate', 'tpr'] as const).map((objective) => optimizeThresholds(score, actual, groups, { objective, minGroupSize: o.minGroupSize }));
      return { column, positive, report, mitigations };
    });
  }
  if (columns.length) result.slices = columns.map((column) => sliceMetrics(sliceScorer, sliceLabels(sliceColumn(table, column)), { column, ...boot }));
  return result;
}
