/**
 * Group fairness of a classifier's decisions for one sensitive column (fairlearn's definitions):
 * per-group rates, demographic parity difference and ratio, equalized odds difference, equal opportunity
 * difference. Every group is listed with its row count; groups under `minGroupSize` rows are flagged and kept
 * out of the headline gaps (a one-row group's rate is 0 or 1 and says nothing about the model). Mitigations: reweighing weights (Kamiran & Calders 2012) to train with, and per-group
 * decision thresholds chosen after training to equalise selection rate or true positive rate, each
 * reported with its accuracy cost.
 */
import { fit, type MlpHyperParams } from '../train/fit.ts';
import { SwitchyardError } from '../util/errors.ts';
import { checkClassification, checkSameLength, type ClassificationData } from './metrics-input.ts';

/**
 * Rates of one group (positive = the favourable outcome).
 *
 * @example
 * const g: GroupRates = { group: 'f', count: 120, baseRate: 0.4, selectionRate: 0.35, tpr: 0.8, fpr: 0.05, accuracy: 0.89 };
 */
export interface GroupRates {
  group: string;
  count: number;
  /** Fewer than the report's `minGroupSize` rows: listed, but left out of the gaps. */
  tooSmall: boolean;
  /** Share of actual positives. */
  baseRate: number;
  /** Share predicted positive. */
  selectionRate: number;
  tpr: number;
  fpr: number;
  accuracy: number;
}

/**
 * Fairness metrics across the groups of one sensitive column.
 *
 * @example
 * report.demographicParityDifference; // max - min selection rate over groups
 */
export interface FairnessReport {
  groups: GroupRates[];
  /** Groups with fewer rows are left out of the differences and the ratio (NaN when under two groups remain). */
  minGroupSize: number;
  /** Names of the groups left out of the differences (too small). */
  excluded: string[];
  accuracy: number;
  demographicParityDifference: number;
  demographicParityRatio: number;
  equalizedOddsDifference: number;
  equalOpportunityDifference: number;
}

/** Default of `minGroupSize`: the same floor as slices (src/eval/slices.ts) and `compare --min-slice`. */
export const MIN_GROUP_SIZE = 30;

/**
 * Options of {@link fairnessReport} and {@link optimizeThresholds}.
 *
 * @example
 * const o: FairnessOptions = { minGroupSize: 50 };
 */
export interface FairnessOptions {
  /** Groups with fewer rows are flagged and left out of the gaps (default {@link MIN_GROUP_SIZE}). */
  minGroupSize?: number;
}

function checkMinGroupSize(v: number | undefined): number {
  if (v === undefined) return MIN_GROUP_SIZE;
  if (!(Number.isInteger(v) && v >= 1)) {
    throw new SwitchyardError('E_USAGE', `minimum group size ${v} is not a whole number >= 1`, 'use e.g. --min-group-size 30');
  }
  return v;
}

function spread(values: number[]): number {
  const v = values.filter((x) => !Number.isNaN(x));
  return v.length ? Math.max(...v) - Math.min(...v) : NaN;
}

/**
 * Fairness metrics of binary decisions: `actual[i]`, `predicted[i]` in {0, 1} (1 = positive), `groups[i]`
 * the sensitive value. Differences are max - min over the groups of at least `minGroupSize` rows (NaN rates,
 * e.g. TPR of a group without positives, are left out); the ratio is min / max selection rate; equalized
 * odds = max(TPR spread, FPR spread). Smaller groups keep their rates and counts, flagged `tooSmall`.
 *
 * @example
 * fairnessReport([1, 0, 1, 0], [1, 0, 0, 0], ['a', 'a', 'b', 'b'], { minGroupSize: 2 }).equalOpportunityDifference; // 1
 */
export function fairnessReport(actual: ArrayLike<number>, predicted: ArrayLike<number>, groups: readonly string[], o: FairnessOptions = {}): FairnessReport {
  const minGroupSize = checkMinGroupSize(o.minGroupSize);
  checkSameLength(predicted.length, actual.length, 'decisions', 'labels');
  checkSameLength(groups.length, actual.length, 'sensitive values', 'labels');
  const acc = new Map<string, { n: number; pos: number; sel: number; tp: number; fp: number; right: number }>();
  let right = 0;
  for (let i = 0; i < actual.length; i++) {
    const g = acc.get(groups[i]) ?? acc.set(groups[i], { n: 0, pos: 0, sel: 0, tp: 0, fp: 0, right: 0 }).get(groups[i])!;
    const y = actual[i] ? 1 : 0;
    const p = predicted[i] ? 1 : 0;
    g.n++;
    g.pos += y;
    g.sel += p;
    g.tp += y & p;
    g.fp += (1 - y) & p;
    g.right += y === p ? 1 : 0;
    right += y === p ? 1 : 0;
  }
  const rates: GroupRates[] = [...acc]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([group, g]) => ({
      group, count: g.n, tooSmall: g.n < minGroupSize, baseRate: g.pos / g.n, selectionRate: g.sel / g.n,
      tpr: g.pos ? g.tp / g.pos : NaN, fpr: g.n - g.pos ? g.fp / (g.n - g.pos) : NaN, accuracy: g.right / g.n,
    }));
  const counted = rates.filter((r) => !r.tooSmall);
  // One group has no gap to speak of: the differences are NaN rather than a reassuring 0.
  const gaps = counted.length >= 2 ? counted : [];
  const sel = gaps.map((r) => r.selectionRate);
  const maxSel = Math.max(...sel);
  const tprSpread = spread(gaps.map((r) => r.tpr));
  return {
    groups: rates,
    minGroupSize,
    excluded: rates.filter((r) => r.tooSmall).map((r) => r.group),
    accuracy: actual.length ? right / actual.length : NaN,
    demographicParityDifference: spread(sel),
    demographicParityRatio: maxSel > 0 ? Math.min(...sel) / maxSel : NaN,
    equalizedOddsDifference: gaps.length ? Math.max(tprSpread, spread(gaps.map((r) => r.fpr))) : NaN,
    equalOpportunityDifference: tprSpread,
  };
}

/**
 * Score of the positive class and the 0/1 actual outcome from classifier outputs. `positive` defaults to
 * the second class of a binary classifier; a multi-class model needs it named.
 *
 * @example
 * const { score, actual } = positiveScores(data, 'approved');
 */
export function positiveScores(d: ClassificationData, positive?: string): { score: Float64Array; actual: Uint8Array; positive: string } {
  checkClassification(d);
  const k = d.classes.length;
  if (positive === undefined && k !== 2) throw new SwitchyardError('E_USAGE', `fairness needs the favourable class of this ${k}-class model`, `name it, e.g. --positive ${d.classes[0]}`);
  const name = positive ?? d.classes[1];
  const c = d.classes.indexOf(name);
  if (c < 0) throw new SwitchyardError('E_USAGE', `positive class '${name}' is not a class of the model`, `classes: ${d.classes.join(', ')}`);
  return { score: Float64Array.from({ length: d.labels.length }, (_, i) => d.probs[i * k + c]), actual: Uint8Array.from(d.labels, (y) => (y === c ? 1 : 0)), positive: name };
}

/**
 * Decisions from scores and thresholds: a number for everyone or one per group (groups without an
 * entry use `fallback`). Positive when score >= threshold.
 *
 * @example
 * decide(Float64Array.of(0.7, 0.4), ['a', 'b'], { a: 0.8, b: 0.3 }); // Uint8Array [0, 1]
 */
export function decide(score: ArrayLike<number>, groups: readonly string[], threshold: number | Record<string, number>, fallback = 0.5): Uint8Array {
  return Uint8Array.from({ length: score.length }, (_, i) => (score[i] >= (typeof threshold === 'number' ? threshold : (threshold[groups[i]] ?? fallback)) ? 1 : 0));
}

/**
 * Reweighing (Kamiran & Calders 2012): weight of an example in group g with label y is
 * P(g)·P(y) / P(g, y) = n_g·n_y / (n·n_gy), which makes label and group independent in the weighted
 * training data. Pass the result as `weights` to the trainer (src/train/fit.ts).
 *
 * @example
 * reweighingWeights(['1', '1', '0', '0'], ['a', 'a', 'a', 'b']); // Float32Array [0.75, 0.75, 1.5, 0.5]
 */
export function reweighingWeights(labels: ArrayLike<number | string>, groups: readonly string[]): Float32Array {
  checkSameLength(groups.length, labels.length, 'sensitive values', 'labels');
  const n = labels.length;
  const ng = new Map<string, number>();
  const ny = new Map<string, number>();
  const ngy = new Map<string, number>();
  const key = (i: number) => `${groups[i]}\u0000${labels[i]}`;
  const inc = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  for (let i = 0; i < n; i++) {
    inc(ng, groups[i]);
    inc(ny, String(labels[i]));
    inc(ngy, key(i));
  }
  return Float32Array.from({ length: n }, (_, i) => (ng.get(groups[i])! * ny.get(String(labels[i]))!) / (n * ngy.get(key(i))!));
}

/** What {@link optimizeThresholds} equalises across groups. */
export type ThresholdObjective = 'selection_rate' | 'tpr';

/**
 * Result of per-group threshold optimisation, with the numbers before (one threshold for everyone) and
 * after, so the accuracy cost is explicit.
 *
 * @example
 * console.log(r.thresholds, r.before.accuracy - r.after.accuracy);
 */
export interface ThresholdResult {
  objective: ThresholdObjective;
  thresholds: Record<string, number>;
  before: FairnessReport;
  after: FairnessReport;
  /** before.accuracy - after.accuracy (negative when accuracy improved). */
  accuracyCost: number;
  /**
   * Why the mitigation is no use, when it degenerated ({@link degeneracy}): it selects nobody or everybody
   * (overall or in a counted group), or its accuracy collapsed. Empty when it did not.
   */
  degenerate: string[];
}

interface Candidate {
  threshold: number;
  stat: number;
  right: number;
}

/** Every distinct threshold of one group (and +Inf) with its statistic and number of correct decisions. */
function candidates(score: Float64Array, actual: Uint8Array, idx: number[], objective: ThresholdObjective): Candidate[] {
  const order = idx.slice().sort((a, b) => score[b] - score[a]);
  const P = order.reduce((s, i) => s + actual[i], 0);
  const N = order.length - P;
  const out: Candidate[] = [{ threshold: Infinity, stat: 0, right: N }];
  let tp = 0;
  let sel = 0;
  for (let j = 0; j < order.length; j++) {
    sel++;
    tp += actual[order[j]];
    if (j + 1 < order.length && score[order[j + 1]] === score[order[j]]) continue;
    const stat = objective === 'tpr' ? (P ? tp / P : NaN) : sel / order.length;
    out.push({ threshold: score[order[j]], stat, right: tp + (N - (sel - tp)) });
  }
  return out;
}

/**
 * Chooses one decision threshold per group so that the selection rate (demographic parity) or the true
 * positive rate (equal opportunity) is as equal as possible across groups, at the highest accuracy:
 * for each target level on a grid, every group takes the threshold whose rate is closest to it; among
 * levels whose spread is within `tolerance` (else the smallest spread), the most accurate one wins. Groups
 * under `minGroupSize` rows get the threshold nearest the target but do not count in the spread: a one-row
 * group can only sit at 0 or 1, and equalising with it would select nobody or everybody. A result that
 * degenerates anyway says so in `degenerate`.
 *
 * @example
 * const r = optimizeThresholds(score, actual, groups, { objective: 'selection_rate' });
 * r.after.demographicParityDifference; // small; r.accuracyCost is the price
 */
export function optimizeThresholds(score: Float64Array, actual: Uint8Array, groups: readonly string[], o: FairnessOptions & { objective?: ThresholdObjective; tolerance?: number; grid?: number; baseThreshold?: number } = {}): ThresholdResult {
  checkSameLength(score.length, actual.length, 'scores', 'labels');
  checkSameLength(groups.length, actual.length, 'sensitive values', 'labels');
  const objective = o.objective ?? 'selection_rate';
  const tolerance = o.tolerance ?? 0.02;
  const grid = o.grid ?? 200;
  const byGroup = new Map<string, number[]>();
  groups.forEach((g, i) => (byGroup.get(g) ?? byGroup.set(g, []).get(g)!).push(i));
  const minGroupSize = checkMinGroupSize(o.minGroupSize);
  const cands = [...byGroup].map(([g, idx]) => ({
    g, counted: idx.length >= minGroupSize, list: candidates(score, actual, idx, objective),
  }));
  let best: { spread: number; right: number; pick: Record<string, number> } | null = null;
  for (let t = 0; t <= grid; t++) {
    const target = t / grid;
    const pick: Record<string, number> = {};
    const stats: number[] = [];
    let right = 0;
    for (const { g, counted, list } of cands) {
      let c = list[0];
      for (const x of list) if (Math.abs(x.stat - target) < Math.abs(c.stat - target) || Number.isNaN(c.stat)) c = x;
      pick[g] = c.threshold;
      if (counted && !Number.isNaN(c.stat)) stats.push(c.stat);
      right += c.right;
    }
    // No counted group (all under minGroupSize) leaves nothing to equalise: the most accurate level wins.
    const s = stats.length ? spread(stats) : 0;
    const ok = (x: { spread: number }) => x.spread <= tolerance;
    if (!best || (ok({ spread: s }) && (!ok(best) || right > best.right)) || (!ok(best) && !ok({ spread: s }) && s < best.spread)) best = { spread: s, right, pick };
  }
  const before = fairnessReport(actual, decide(score, groups, o.baseThreshold ?? 0.5), groups, { minGroupSize });
  const decisions = decide(score, groups, best!.pick);
  const after = fairnessReport(actual, decisions, groups, { minGroupSize });
  const degenerate = degeneracy(actual, decisions, after, before.accuracy);
  const accuracyCost = before.accuracy - after.accuracy;
  return { objective, thresholds: best!.pick, before, after, accuracyCost, degenerate };
}

/** A mitigation that keeps less than this share of the model's accuracy gain over a constant decision collapsed. */
export const COLLAPSE_SHARE = 0.5;

/**
 * Why a set of decisions is useless as a mitigation: it selects nobody or everybody (overall, or in a group of
 * at least `minGroupSize` rows), or its accuracy collapsed: it keeps less than {@link COLLAPSE_SHARE} of the
 * gain the unmitigated decisions (`beforeAccuracy`) had over deciding the same for everyone. Empty if none.
 *
 * @example
 * degeneracy(Uint8Array.of(1, 0, 0), Uint8Array.of(0, 0, 0), report, 1);
 * // ["selects nobody", "accuracy collapses: 66.7% ..."]
 */
export function degeneracy(
  actual: ArrayLike<number>, decisions: ArrayLike<number>, report: FairnessReport, beforeAccuracy: number,
): string[] {
  const n = actual.length;
  if (n === 0) return [];
  let selected = 0;
  let positives = 0;
  for (let i = 0; i < n; i++) {
    selected += decisions[i] ? 1 : 0;
    positives += actual[i] ? 1 : 0;
  }
  const out: string[] = [];
  if (selected === 0) out.push('selects nobody');
  else if (selected === n) out.push('selects everybody');
  else {
    for (const g of report.groups) {
      if (g.tooSmall) continue;
      if (g.selectionRate === 0) out.push(`selects nobody in group '${g.group}' (n = ${g.count})`);
      if (g.selectionRate === 1) out.push(`selects everybody in group '${g.group}' (n = ${g.count})`);
    }
  }
  const constant = Math.max(positives, n - positives) / n;
  const gainBefore = beforeAccuracy - constant;
  const gainAfter = report.accuracy - constant;
  if (gainBefore > 0 && gainAfter < COLLAPSE_SHARE * gainBefore) {
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const everyone = positives > n - positives ? 'positive' : 'negative';
    const baseline = `deciding ${everyone} for everyone gives ${pct(constant)}`;
    out.push(`accuracy collapses: ${pct(report.accuracy)} (before ${pct(beforeAccuracy)}; ${baseline})`);
  }
  return out;
}

/**
 * Encoded data of a reweighing experiment: row-major features, class indices, sensitive value per row.
 *
 * @example
 * const d: FairnessSplit = { x, y, groups: rows.map((r) => r.sex) };
 */
export interface FairnessSplit {
  x: Float32Array;
  y: Int32Array;
  groups: readonly string[];
}

/**
 * Reweighing end to end: trains the same MLP (same seed and settings) without and with the
 * {@link reweighingWeights} of the training split (src/train/fit.ts `weights`), and reports fairness and
 * accuracy of both on the test split; `accuracyCost` = before.accuracy - after.accuracy.
 *
 * @example
 * const r = await reweighingExperiment({ train, test, features: 5, classes: 2, positive: 1, hyper: { hidden: [16], epochs: 20 } });
 * console.log(r.before.demographicParityDifference, r.after.demographicParityDifference, r.accuracyCost);
 */
export async function reweighingExperiment(o: FairnessOptions & { train: FairnessSplit; test: FairnessSplit; features: number; classes: number; positive?: number; hyper?: MlpHyperParams }): Promise<{ weights: Float32Array; before: FairnessReport; after: FairnessReport; accuracyCost: number }> {
  const positive = o.positive ?? 1;
  const weights = reweighingWeights(o.train.y, o.train.groups);
  const run = async (w?: Float32Array): Promise<FairnessReport> => {
    const m = await fit({ ...o.hyper, x: o.train.x, y: o.train.y, features: o.features, classes: o.classes, weights: w });
    try {
      const pred = await m.predict(o.test.x);
      return fairnessReport(Uint8Array.from(o.test.y, (y) => (y === positive ? 1 : 0)), Uint8Array.from(pred, (p) => (p === positive ? 1 : 0)), o.test.groups, o);
    } finally {
      await m.release();
    }
  };
  const before = await run();
  const after = await run(weights);
  return { weights, before, after, accuracyCost: before.accuracy - after.accuracy };
}
