/**
 * Label issues by confident learning (Northcutt, Jiang & Chuang, "Confident Learning: Estimating
 * Uncertainty in Dataset Labels", JAIR 2021): out-of-fold predicted probabilities from quick MLPs trained with
 * the project's own engine (train/fit.ts), per-class thresholds, the calibrated confident joint of given and
 * true labels, the noise matrix, and the rows pruned by noise rate, ranked by self-confidence.
 */
import { gatherRows } from '../data/batches.ts';
import type { Table } from '../data/csv.ts';
import { type ColumnRole, inferSchema, resolveTarget } from '../data/schema.ts';
import { fitTabularEncoder, type TabularEncoder } from '../data/tabular.ts';
import { isMissing } from '../data/values.ts';
import { fit } from '../train/fit.ts';
import { SwitchyardError } from '../util/errors.ts';
import { Progress, type ProgressStream } from '../util/progress.ts';
import { argmaxRows } from '../util/scores.ts';
import { Rng } from '../util/rng.ts';
import { type Finding, MAX_EVIDENCE_ROWS, type Severity } from './types.ts';

/** Share of flagged rows from which the finding is a warning, and an error. */
const WARN_SHARE = 0.01;
const ERROR_SHARE = 0.1;

/**
 * How candidates are ordered: `self-confidence` (the probability of the given label, lowest first) or
 * `normalized-margin` (given-label probability minus the best other class, lowest first).
 *
 * @example
 * confidentLearning(probs, labels, 3, { rankBy: 'normalized-margin' });
 */
export type RankBy = 'self-confidence' | 'normalized-margin';

/**
 * One row confident learning flags, with indices into the arrays it was given.
 *
 * @example
 * { row: 17, given: 0, suggested: 2, selfConfidence: 0.03, margin: -0.91 }
 */
export interface RankedIssue {
  row: number;
  given: number;
  /** The most probable class under the out-of-fold model. */
  suggested: number;
  /** Predicted probability of the given label. */
  selfConfidence: number;
  /** Given-label probability minus the largest other-class probability (negative for flagged rows). */
  margin: number;
}

/**
 * Everything confident learning estimates from predicted probabilities and given labels. Matrices are
 * indexed `[given][true]`.
 *
 * @example
 * const r = confidentLearning(oofProbs, labels, 3);
 * r.noiseRate; // estimated share of wrong labels, 1 - trace(joint)
 */
export interface ConfidentLearningResult {
  /** Per-class threshold `t_j`: mean predicted `p_j` over rows labelled `j` (Infinity for an absent class). */
  thresholds: number[];
  /** Confident joint counts `C[given][true]` before calibration. */
  confidentJoint: number[][];
  /** Calibrated joint distribution `Q[given][true]` (sums to 1; row `i` sums to the share of label `i`). */
  joint: number[][];
  /** Noise matrix `P(given = i | true = j)`, each column summing to 1 (an all-zero column for an unseen class). */
  noiseMatrix: number[][];
  /** Estimated share of wrongly labelled rows: `1 - trace(Q)`. */
  noiseRate: number;
  /** Flagged rows, most likely wrong first. */
  issues: RankedIssue[];
}

function checkProbs(probs: ArrayLike<number>, labels: ArrayLike<number>, k: number): void {
  if (!(Number.isInteger(k) && k >= 2)) throw new SwitchyardError('E_PROBS', `confident learning needs at least 2 classes, got ${k}`, '');
  if (probs.length !== labels.length * k) {
    throw new SwitchyardError('E_PROBS', `${probs.length} probabilities for ${labels.length} labels and ${k} classes (expected ${labels.length * k})`, 'pass rows × classes probabilities, row-major');
  }
  for (let i = 0; i < labels.length; i++) {
    if (!(Number.isInteger(labels[i]) && labels[i] >= 0 && labels[i] < k)) throw new SwitchyardError('E_PROBS', `label of row ${i} is ${labels[i]}, expected a class index in 0..${k - 1}`, '');
    let s = 0;
    for (let c = 0; c < k; c++) {
      const p = probs[i * k + c];
      if (!(p >= 0 && p <= 1)) throw new SwitchyardError('E_PROBS', `probability of class ${c} in row ${i} is ${p}`, 'probabilities must lie in [0, 1]');
      s += p;
    }
    if (Math.abs(s - 1) > 1e-3) throw new SwitchyardError('E_PROBS', `probabilities of row ${i} sum to ${s}, not 1`, 'pass softmax outputs');
  }
}

const zeros = (k: number): number[][] => Array.from({ length: k }, () => new Array<number>(k).fill(0));

/**
 * Confident learning on given probabilities (out-of-fold, rows × classes, row-major) and given labels:
 * per-class thresholds, the confident joint (each row counted under the most probable class whose probability
 * reaches that class's threshold), its calibration to the label counts, the noise matrix, and pruning by noise
 * rate: for each pair given `i` / true `j`, the `round(Q[i][j] · n)` rows labelled `i` with the largest margin
 * `p_j - p_i` are flagged (never a whole class). Rows whose most probable class is the given label are not
 * flagged. Pure and deterministic.
 *
 * @example
 * const r = confidentLearning([0.9, 0.1, 0.2, 0.8, 0.7, 0.3], [0, 1, 1], 2);
 * r.issues; // [{ row: 2, given: 1, suggested: 0, selfConfidence: 0.3, ... }]
 */
export function confidentLearning(probs: ArrayLike<number>, labels: ArrayLike<number>, k: number, opts: { rankBy?: RankBy } = {}): ConfidentLearningResult {
  checkProbs(probs, labels, k);
  const n = labels.length;
  const counts = new Array<number>(k).fill(0);
  const sums = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) {
    counts[labels[i]]++;
    sums[labels[i]] += probs[i * k + labels[i]];
  }
  const thresholds = counts.map((c, j) => (c > 0 ? sums[j] / c : Infinity));
  const cj = zeros(k);
  for (let i = 0; i < n; i++) {
    let best = -1;
    for (let j = 0; j < k; j++) {
      const p = probs[i * k + j];
      if (p >= thresholds[j] - 1e-6 && (best < 0 || p > probs[i * k + best])) best = j;
    }
    if (best >= 0) cj[labels[i]][best]++;
  }
  // Calibrate: each given-label row of the joint sums to that label's count, then normalise to a distribution.
  const calibrated = cj.map((row, i) => {
    const s = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (s > 0 ? (v / s) * counts[i] : 0));
  });
  const total = calibrated.flat().reduce((a, b) => a + b, 0);
  const joint = calibrated.map((row) => row.map((v) => (total > 0 ? v / total : 0)));
  const noiseMatrix = zeros(k);
  for (let j = 0; j < k; j++) {
    const col = joint.reduce((a, row) => a + row[j], 0);
    for (let i = 0; i < k; i++) noiseMatrix[i][j] = col > 0 ? joint[i][j] / col : 0;
  }
  const noiseRate = total > 0 ? 1 - joint.reduce((a, row, i) => a + row[i], 0) : 0;

  const byLabel: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < n; i++) byLabel[labels[i]].push(i);
  const flagged = new Set<number>();
  for (let i = 0; i < k; i++) {
    let budget = Math.max(0, counts[i] - 1);
    for (let j = 0; j < k && budget > 0; j++) {
      if (j === i) continue;
      const m = Math.min(budget, Math.round(calibrated[i][j]));
      if (m === 0) continue;
      budget -= m;
      const margin = (r: number) => probs[r * k + j] - probs[r * k + i];
      const ranked = [...byLabel[i]].sort((a, b) => margin(b) - margin(a) || a - b);
      for (const r of ranked.slice(0, m)) flagged.add(r);
    }
  }
  const issues: RankedIssue[] = [];
  for (const r of flagged) {
    const given = labels[r];
    let suggested = 0;
    let other = -Infinity;
    for (let c = 0; c < k; c++) {
      if (probs[r * k + c] > probs[r * k + suggested]) suggested = c;
      if (c !== given) other = Math.max(other, probs[r * k + c]);
    }
    if (suggested === given || probs[r * k + suggested] === probs[r * k + given]) continue;
    issues.push({ row: r, given, suggested, selfConfidence: probs[r * k + given], margin: probs[r * k + given] - other });
  }
  const key = opts.rankBy === 'normalized-margin' ? (x: RankedIssue) => x.margin : (x: RankedIssue) => x.selfConfidence;
  issues.sort((a, b) => key(a) - key(b) || a.row - b.row);
  return { thresholds, confidentJoint: cj, joint, noiseMatrix, noiseRate, issues };
}

/**
 * Assigns each row to one of `k` folds so every class is spread as evenly as possible (per-class fold counts
 * differ by at most one) and fold sizes stay balanced; seeded by `rng`.
 *
 * @example
 * const fold = stratifiedFolds(labels, 5, new Rng(0)); // fold[i] in 0..4
 */
export function stratifiedFolds(labels: ArrayLike<number>, k: number, rng: Rng): Int32Array {
  if (!(Number.isInteger(k) && k >= 2)) throw new SwitchyardError('E_CONFIG', `folds must be an integer >= 2, got ${k}`, 'e.g. 5 folds');
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    let rows = byClass.get(labels[i]);
    if (!rows) byClass.set(labels[i], (rows = []));
    rows.push(i);
  }
  const fold = new Int32Array(labels.length);
  let next = rng.int(k);
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = rng.shuffle(byClass.get(c)!) as number[];
    // Dealing round-robin and carrying the position across classes keeps the folds' totals within one row.
    for (const r of rows) {
      fold[r] = next;
      next = (next + 1) % k;
    }
  }
  return fold;
}

/**
 * Options of {@link findLabelIssues}.
 *
 * @example
 * await findLabelIssues(table, 'label', { folds: 5, seed: 1, columns: { id: 'ignore' } });
 */
export interface LabelIssueOptions {
  /** Column kind overrides, as for training. */
  columns?: Record<string, ColumnRole>;
  /** Cross-validation folds (default 5). */
  folds?: number;
  seed?: number;
  /** Epochs per fold model (default: 30 for small tables, fewer for large ones, at least 3). */
  epochs?: number;
  /** Hidden layer sizes of the fold models (default [32]). */
  hidden?: number[];
  lr?: number;
  batchSize?: number;
  rankBy?: RankBy;
  /** ONNX Runtime threads per fold model (default: all cores). */
  threads?: number;
  /** Split name put on the finding (e.g. `train`). */
  split?: string;
  progress?: { stream?: ProgressStream; enabled?: boolean };
}

/**
 * One likely mislabelled row (0-based data row of the table), with its given and suggested label.
 *
 * @example
 * { row: 41, given: 'cat', suggested: 'dog', selfConfidence: 0.02 }
 */
export interface LabelIssue {
  row: number;
  given: string;
  suggested: string;
  selfConfidence: number;
}

/**
 * What {@link findLabelIssues} returns.
 *
 * @example
 * const { findings, issues, outOfFoldProbs } = await findLabelIssues(table, 'label');
 */
export interface LabelIssueResult {
  /** One `labels.issues` finding when rows were flagged, else none. */
  findings: Finding[];
  /** Every flagged row, most likely wrong first. */
  issues: LabelIssue[];
  /** The full confident-learning estimate (indices into `classes`). */
  estimate?: ConfidentLearningResult;
  classes: string[];
  /** Out-of-fold accuracy of the quick models against the given labels. */
  outOfFoldAccuracy?: number;
  /** Why the check did not run (a regression target, a target that is not a label, no usable features, too few rows). */
  skipped?: string;
}

/**
 * Finds likely label errors in a table: encodes it with the tabular encoder, trains `folds` quick MLPs on
 * stratified folds (train/fit.ts, the engine `switchyard train` uses) to get out-of-fold probabilities for
 * every row, and runs {@link confidentLearning}. Rows with a missing target are left out (row numbers still
 * refer to the table). A target column that does not exist throws `E_TARGET_MISSING`; where the check does not
 * apply (regression target, single-valued or free-text target, no numeric/categorical/boolean features, too few
 * rows) it returns no findings and says why in `skipped`.
 *
 * @example
 * const { findings, issues } = await findLabelIssues(await readTable('train.csv'), 'label', { seed: 0 });
 * issues[0]; // { row: 812, given: 'spam', suggested: 'ham', selfConfidence: 0.01 }
 */
export async function findLabelIssues(table: Table, target: string, opts: LabelIssueOptions = {}): Promise<LabelIssueResult> {
  const schema = inferSchema(table, opts.columns ?? {});
  const tcol = resolveTarget(schema, target);
  const kept: number[] = [];
  table.rows.forEach((row, i) => { if (!isMissing(row[tcol.index])) kept.push(i); });
  const sub: Table = kept.length === table.rows.length ? table : { ...table, rows: kept.map((i) => table.rows[i]), lines: kept.map((i) => table.lines[i]) };
  const folds = opts.folds ?? 5;
  if (!(Number.isInteger(folds) && folds >= 2)) throw new SwitchyardError('E_CONFIG', `label issues: folds must be an integer >= 2, got ${folds}`, 'e.g. 5 folds');
  if (sub.rows.length < folds * 2) return { findings: [], issues: [], classes: [], skipped: `only ${sub.rows.length} labelled rows, too few for ${folds}-fold cross-validation` };
  let enc: TabularEncoder;
  try {
    enc = fitTabularEncoder(sub, schema, target, 'auto');
  } catch (e) {
    // No usable feature columns, or a target that is not a label: this check does not apply (others still run).
    if (e instanceof SwitchyardError && (e.code === 'E_CSV_COLUMN' || e.code === 'E_TARGET_KIND')) return { findings: [], issues: [], classes: [], skipped: e.message };
    throw e;
  }
  if (enc.task !== 'classification') return { findings: [], issues: [], classes: [], skipped: `target '${target}' is numeric with many values (regression); label issues apply to class labels` };
  const encoded = enc.encode(sub);
  const { x, features } = encoded;
  const y = encoded.y as Int32Array;
  const n = y.length;
  const k = enc.classes.length;
  const seed = opts.seed ?? 0;
  const fold = stratifiedFolds(y, folds, new Rng(seed));
  const epochs = opts.epochs ?? Math.max(3, Math.min(30, Math.round(150_000 / n)));
  const oof = new Float32Array(n * k);
  const progress = new Progress({ total: folds, label: 'label issues', unit: 'fold', ...opts.progress });
  for (let f = 0; f < folds; f++) {
    const trainRows: number[] = [];
    const held: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? held : trainRows).push(i);
    if (held.length === 0) continue;
    const model = await fit({
      x, y, features, classes: k, rows: Int32Array.from(trainRows), hidden: opts.hidden ?? [32], epochs,
      batchSize: opts.batchSize ?? 64, lr: opts.lr ?? 1e-2, seed: seed * 7919 + f, threads: opts.threads,
    });
    const p = await model.predictProba(gatherRows(x, features, held));
    await model.release();
    held.forEach((r, i) => oof.set(p.subarray(i * k, (i + 1) * k), r * k));
    progress.tick(1);
  }
  progress.done();
  normalizeRows(oof, k);
  const estimate = confidentLearning(oof, y, k, { rankBy: opts.rankBy });
  const classes = [...enc.classes];
  const issues: LabelIssue[] = estimate.issues.map((e) => ({ row: kept[e.row], given: classes[e.given], suggested: classes[e.suggested], selfConfidence: e.selfConfidence }));
  const outOfFoldAccuracy = accuracyOf(oof, y, k);
  const counts = new Array<number>(k).fill(0);
  for (const c of y) counts[c]++;
  const majority = Math.max(...counts) / n;
  return { findings: toFindings(issues, estimate, classes, n, outOfFoldAccuracy, majority, opts.split), issues, estimate, classes, outOfFoldAccuracy };
}

/** Float32 softmax rows may sum to 1 ± a few ulps; make them exact enough for the checks. */
function normalizeRows(p: Float32Array, k: number): void {
  for (let i = 0; i < p.length; i += k) {
    let s = 0;
    for (let c = 0; c < k; c++) s += p[i + c];
    if (s > 0) for (let c = 0; c < k; c++) p[i + c] /= s;
  }
}

function accuracyOf(p: Float32Array, y: Int32Array, k: number): number {
  const pred = argmaxRows(p.subarray(0, y.length * k), k);
  return y.length ? pred.reduce((right, c, i) => right + (c === y[i] ? 1 : 0), 0) / y.length : 0;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const fmt = (x: number) => x.toLocaleString('en-US');

function toFindings(issues: LabelIssue[], est: ConfidentLearningResult, classes: string[], n: number, acc: number, majority: number, split?: string): Finding[] {
  if (issues.length === 0) return [];
  const share = issues.length / n;
  // A model no better than always predicting the majority class cannot tell wrong labels from hard rows.
  const weak = acc <= majority + 0.02;
  const severity: Severity = weak || share < WARN_SHARE ? 'info' : share < ERROR_SHARE ? 'warn' : 'error';
  const pairs = new Map<string, number>();
  for (const i of issues) pairs.set(`${i.given} -> ${i.suggested}`, (pairs.get(`${i.given} -> ${i.suggested}`) ?? 0) + 1);
  const top = [...pairs].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([p, c]) => `${p} (${fmt(c)})`).join(', ');
  const message = `${fmt(issues.length)} of ${fmt(n)} labelled rows (${pct(share)}) look mislabelled by confident learning (estimated label noise ${pct(est.noiseRate)}); most common: ${top}` +
    (weak ? `; the out-of-fold model (accuracy ${pct(acc)}) is no better than the majority class (${pct(majority)}), so treat these as weak evidence.` : '.');
  const head = issues.slice(0, MAX_EVIDENCE_ROWS);
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  return [{
    check: 'labels.issues',
    severity,
    score: Math.min(1, share),
    message,
    ...(split ? { split } : {}),
    evidence: { rows: head.map((i) => i.row), values: head.map((i) => ({ given: i.given, suggested: i.suggested, selfConfidence: i.selfConfidence })) },
    details: {
      issueCount: issues.length,
      labelledRows: n,
      estimatedNoiseRate: est.noiseRate,
      outOfFoldAccuracy: acc,
      majorityRate: majority,
      classes,
      thresholds: est.thresholds.map(finite),
      confidentJoint: est.confidentJoint,
      noiseMatrix: est.noiseMatrix,
      issues: head,
    },
  }];
}
