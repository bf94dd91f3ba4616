/**
 * `runEval`: the whole evaluation of one model on one data set — metrics with confidence intervals and
 * slices, calibration (and temperature scaling stored with the run), fairness for sensitive columns,
 * robustness to corruptions and adversarial attacks, out-of-distribution detection — as one JSON-ready
 * result, written as `eval.json` and a self-contained `eval.html`.
 */
import { checkRanges, COMMON_RANGES } from '../util/ranges.ts';
import { existsSync, statSync } from 'node:fs';
import type { DeviceChoice } from '../runtime/compile-for.ts';
import { onnxFileDevice, runDevice } from '../train/device.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Table } from '../data/csv.ts';
import { readTable, requireInput } from '../data/readers/index.ts';
import { parseBuiltinImageName } from '../data/images/builtin.ts';
import { type DatasetSplitRecord, isImageTable } from '../data/images/folder.ts';
import { didYouMean, listNames } from '../data/values.ts';
import { SwitchyardError } from '../util/errors.ts';
import { Progress, type ProgressOptions } from '../util/progress.ts';
import { type AttackNorm, attackSurface, robustAccuracyCurve, type RobustPoint } from './adversarial.ts';
import { corruptImages, type ImageCorruption, IMAGE_CORRUPTIONS } from './image-corruptions.ts';
import { corruptibleColumns, corruptionApplies, corruptTable, numericColumnsOf, TABULAR_CORRUPTIONS, type TabularCorruption } from './corruptions.ts';
import { evaluateLmRun, type LmEvalResult } from './lm-eval.ts';
import { loadEvalModel, type OutputKinds, type TabularEvalModel } from './model.ts';
import { energyScore, fitMahalanobis, mahalanobisScore, mspScore, oodDetection, shiftedCopy } from './ood.ts';
import { calibrate, type CalibrationResult } from './temperature.ts';
import { topLabel } from './calibration.ts';
import { ClassificationScorer } from './metrics.ts';
import { RegressionScorer } from './metrics-regression.ts';
import { scoreTabular, type TabularScores } from './score.ts';

/**
 * Options of {@link runEval} (the `switchyard eval` verb).
 *
 * @example
 * const o: EvalOptions = { model: 'runs/x', data: 'test.csv', sensitive: ['sex'], adversarial: true };
 */
export interface EvalOptions {
  /** A run directory written by `switchyard train` (tabular or LM), or an `.onnx` classifier. */
  model: string;
  /** CSV of labelled rows (tabular), or text files/folders, comma-separated (language model). */
  data: string;
  /** The label column (needed for `.onnx` models; a run knows its own). */
  target?: string;
  /** `.onnx` models: the class labels in the order of the model's probability outputs. */
  classes?: string[];
  /** Columns whose groups the fairness metrics compare, e.g. `['sex', 'age_group']`. */
  sensitive?: string[];
  /** Favourable class for fairness metrics (default: the second class of a binary model). */
  positive?: string;
  /** Sensitive groups with fewer rows are listed but kept out of the fairness gaps (default 30, `--min-group-size`). */
  minGroupSize?: number;
  /** Columns to slice every metric by; the worst slices are listed. */
  slice?: string[];
  /** A CSV of out-of-distribution rows; default: the built-in shifted set. */
  ood?: string;
  /** Shift of the built-in OOD set, in feature standard deviations (default 3). */
  oodShift?: number;
  /** Reference (training-like) data for the Mahalanobis fit and the attack's valid ranges. */
  reference?: string;
  /** Run FGSM and PGD attacks (robust accuracy against epsilon); for an LM, PGD on the token embeddings. */
  adversarial?: boolean;
  /** Attack norms: `'linf'` and/or `'l2'` (default both). */
  norms?: AttackNorm[];
  /** Attack budgets in standardised units (L2 budgets are these times sqrt(attacked features)). */
  epsilons?: number[];
  /** PGD iterations (default 10). */
  pgdSteps?: number;
  /** Validation CSV to fit the temperature on (stored in the run directory as calibration.json). */
  calibrateOn?: string;
  /** Run the corruption robustness checks (default true). */
  corruptions?: boolean;
  /** Bootstrap resamples for the confidence intervals (default 1000, `--resamples`). */
  resamples?: number;
  /** @deprecated the old name of {@link EvalOptions.resamples} (used when `resamples` is absent). */
  bootstrap?: number;
  /** Seed of the bootstrap, corruptions and attacks (default 0). */
  seed?: number;
  /** ONNX Runtime intra-op threads (default: all cores). */
  threads?: number;
  /**
   * Where a run directory's graphs run (default `cpu`; see {@link DeviceChoice}). An ONNX file runs on ONNX
   * Runtime: `webgpu` is then `E_DEVICE_ONNX`, and `auto` falls back to the CPU with a note on stderr.
   */
  device?: DeviceChoice;
  /** Progress on stderr (`enabled: false` to silence it). */
  progress?: Partial<ProgressOptions>;
}

/** Bootstrap resamples of the intervals: `resamples`, and `bootstrap`, its deprecated name. */
const RESAMPLES = { min: 10, max: 100_000, integer: true } as const;

/**
 * Ranges of the numeric options of {@link runEval}, each with the `switchyard eval` flag that sets it: the CLI's
 * flag spec spreads them in and {@link runEval} checks them, so both give the same error.
 *
 * @example
 * const spec = { resamples: { type: 'number', default: 1000, ...EVAL_RANGES.resamples, help: 'resamples' } };
 */
export const EVAL_RANGES = {
  oodShift: { flag: '--ood-shift', above: 0 },
  pgdSteps: { flag: '--pgd-steps', min: 1, max: 10_000, integer: true },
  resamples: { flag: '--resamples', ...RESAMPLES },
  bootstrap: { flag: '--bootstrap', ...RESAMPLES },
  ...COMMON_RANGES,
} as const;

/**
 * Corrupted-data results: the headline metric per corruption and severity.
 *
 * @example
 * const c: CorruptionResult = { kind: 'gaussian-noise', severity: 0.5, metric: 'accuracy', value: 0.81, delta: -0.06 };
 */
export interface CorruptionResult {
  /** A table corruption, or an image corruption for a model that reads images. */
  kind: TabularCorruption | ImageCorruption;
  severity: number;
  metric: string;
  value: number;
  /** value minus the clean value. */
  delta: number;
}

/**
 * OOD detection results per score.
 *
 * @example
 * r.ood?.scores.energy.auroc;
 */
export interface OodResult {
  set: string;
  reference: string;
  rows: { in: number; ood: number };
  /**
   * What the energy and Mahalanobis scores were computed on: the model's logits and penultimate features, or,
   * for a model that exposes less (a foreign ONNX classifier), its log-probabilities.
   */
  inputs: { energy: OutputKinds['logits']; mahalanobis: OutputKinds['features'] };
  scores: Record<'msp' | 'energy' | 'mahalanobis', { auroc: number; aupr: number; fpr95: number; roc: { x: number[]; y: number[] } }>;
}

/**
 * Everything an evaluation found (the content of `eval.json`).
 *
 * @example
 * const r: EvalResult = await runEval({ model: 'runs/x', data: 'test.csv' });
 */
export interface EvalResult {
  format: 'switchyard.eval';
  version: 1;
  created: string;
  model: { source: string; kind: 'tabular' | 'onnx' | 'lm'; task: 'classification' | 'regression' | 'language-model'; classes?: string[]; target?: string };
  /** The data evaluated on; `dataset` records a built-in image dataset's split (seed, sizes, fingerprint). */
  data: { file: string; rows?: number; dataset?: DatasetSplitRecord };
  scores?: TabularScores;
  calibration?: CalibrationResult;
  robustness?: { corruptions: CorruptionResult[]; adversarial?: { norm: AttackNorm; steps: number; points: RobustPoint[]; surface: string }[] };
  ood?: OodResult;
  lm?: LmEvalResult;
  notes: string[];
}

function requireColumns(table: Table, columns: string[], flag: string): void {
  for (const c of columns) {
    if (table.columns.includes(c)) continue;
    const guess = didYouMean(c, table.columns);
    throw new SwitchyardError('E_CSV_COLUMN', `${table.file}: no column '${c}' (${flag}); columns are: ${listNames(table.columns)}`, guess ? `did you mean '${guess}'?` : `pass one of the file's columns to ${flag}`);
  }
}

/**
 * Evaluates a model on a data set; see {@link EvalOptions}. Bad input (missing files or columns, a model
 * whose inputs do not match the data) throws a SwitchyardError before any long work starts.
 *
 * @example
 * const r = await runEval({ model: 'runs/x', data: 'test.csv', slice: ['region'], ood: 'ood.csv', adversarial: true });
 * r.scores?.overall.accuracy.estimate;
 */
export async function runEval(o: EvalOptions): Promise<EvalResult> {
  checkRanges(o, EVAL_RANGES);
  for (const [p, flag] of [[o.ood, '--ood'], [o.reference, '--reference'], [o.calibrateOn, '--calibrate-on']] as const) if (p) requireInput(p, flag);
  const quiet = o.progress?.enabled === false;
  const isFile = existsSync(o.model) && statSync(o.model).isFile();
  const device = isFile ? onnxFileDevice(o.device, o.model, quiet) : (await runDevice(o.device, quiet)).name;
  o = { ...o, device };
  const model = await loadEvalModel(o.model, { target: o.target, classes: o.classes, threads: o.threads, device });
  const base = { format: 'switchyard.eval' as const, version: 1 as const, created: new Date().toISOString(), notes: [] as string[] };
  try {
    if (model.kind === 'lm') {
      const files = o.data.split(',').filter(Boolean);
      files.forEach((f) => requireInput(f, '--data'));
      if (o.adversarial && !model.model) base.notes.push('adversarial attacks need the weights (input gradients); skipped for an exported decode step: evaluate the run directory for them');
      const lm = await evaluateLmRun(model, files, { seed: o.seed, threads: o.threads, device, corruptions: o.corruptions, adversarial: o.adversarial, epsilons: o.epsilons?.filter((e) => e > 0), steps: o.pgdSteps });
      return { ...base, model: { source: model.source, kind: 'lm', task: 'language-model' }, data: { file: o.data }, lm };
    }
    requireInput(o.data, '--data');
    return await evalTabular(model, o, base);
  } finally {
    await model.release();
  }
}

async function evalTabular(model: TabularEvalModel, o: EvalOptions, base: Pick<EvalResult, 'format' | 'version' | 'created' | 'notes'>): Promise<EvalResult> {
  const notes = base.notes;
  const table = await readTable(o.data);
  requireColumns(table, [model.target], '--target');
  requireColumns(table, [...(o.sensitive ?? []), ...(o.slice ?? [])], o.sensitive?.some((s) => !table.columns.includes(s)) ? '--sensitive' : '--slice');
  const test = model.encode(table);
  const classification = model.task === 'classification';
  const refPath = o.reference ?? o.calibrateOn ?? (await trainingData(model));
  const refTable = refPath ? await readTable(refPath) : null;
  const ref = refTable ? model.encode(refTable) : test;
  const oodTable = o.ood ? await readTable(o.ood) : null;
  const oodData = oodTable ? model.encode(oodTable) : null;

  const images = isImageTable(table) && model.encoder?.specs.some((s) => s.kind === 'image') ? table : null;
  const kinds = images ? Object.keys(IMAGE_CORRUPTIONS).length : TABULAR_CORRUPTIONS.length;
  const stages = 2 + (o.corruptions === false ? 0 : kinds) + (classification ? 1 : 0) + (o.adversarial ? (o.norms ?? ['linf', 'l2']).length : 0);
  const progress = new Progress({ total: stages, label: 'eval', unit: 'stage', ...o.progress });
  const out = await model.predict(test.x, test.rows);
  progress.tick(1, { stage: 'predict' });
  const calibration = classification ? await calibrate(model, o.calibrateOn) : undefined;
  const scores = scoreTabular(model, table, test, out, { sensitive: o.sensitive, positive: o.positive, minGroupSize: o.minGroupSize, slice: o.slice, bootstrap: o.resamples ?? o.bootstrap, seed: o.seed, temperature: calibration?.temperature });
  progress.tick(1, { stage: 'metrics' });
  const headline = classification ? 'accuracy' : 'rmse';
  const clean = scores.overall[headline].estimate;

  const corruptions: CorruptionResult[] = [];
  const scoreCorrupted = async (t: Table, kind: CorruptionResult['kind'], severity: number) => {
    const d = model.encode(t);
    const value = headlineMetric(model, await model.predict(d.x, d.rows), test.y!);
    corruptions.push({ kind, severity, metric: headline, value, delta: value - clean });
  };
  if (o.corruptions !== false && images) {
    // A model that reads images is corrupted in its pixels (its table holds only file names and labels).
    for (const [kind, severities] of Object.entries(IMAGE_CORRUPTIONS) as [ImageCorruption, readonly number[]][]) {
      for (const severity of severities) {
        await scoreCorrupted({ ...images, images: corruptImages(images.images, kind, severity, (o.seed ?? 0) + 17) } as Table, kind, severity);
      }
      progress.tick(1, { stage: kind });
    }
  } else if (o.corruptions !== false) {
    const cols = model.encoder ? corruptibleColumns(model.encoder.specs) : numericColumnsOf(table, [model.target]);
    for (const kind of TABULAR_CORRUPTIONS) {
      if (!corruptionApplies(kind, cols)) {
        progress.tick(1, { stage: kind });
        continue;
      }
      for (const severity of kind === 'gaussian-noise' ? [0.25, 0.5, 1] : kind === 'text-typos' ? [0.05, 0.2] : [0.1, 0.3]) {
        await scoreCorrupted(corruptTable(table, cols, kind, severity, (o.seed ?? 0) + 17), kind, severity);
      }
      progress.tick(1, { stage: kind });
    }
  }
  const surface = attackSurface(model.encoder?.specs ?? null, ref.x, ref.rows, model.numFeatures);
  const adversarial: NonNullable<EvalResult['robustness']>['adversarial'] = [];
  if (o.adversarial) {
    if (!classification || !model.traced) notes.push(`adversarial attacks need a Switchyard classifier with engine gradients; skipped for this ${model.kind} ${model.task} model`);
    else {
      const free = surface.mask.reduce((a, v) => a + v, 0);
      if (free === 0) notes.push('no numeric feature to attack (categorical features are not perturbed)');
      for (const norm of o.norms ?? ['linf', 'l2']) {
        if (free === 0) break;
        const base = o.epsilons ?? [0, 0.05, 0.1, 0.25, 0.5, 1];
        const epsilons = norm === 'l2' ? base.map((e) => e * Math.sqrt(free)) : base;
        const points = await robustAccuracyCurve(model, test.x, test.y as Int32Array, test.rows, { norm, epsilons, steps: o.pgdSteps ?? 10, surface, seed: o.seed, threads: o.threads, device: o.device });
        adversarial.push({ norm, steps: o.pgdSteps ?? 10, points, surface: `${free} standardised numeric features, clipped to the reference range` });
        progress.tick(1, { stage: `pgd-${norm}` });
      }
    }
  }
  let ood: OodResult | undefined;
  if (classification) {
    const k = model.classes.length;
    const refOut = ref === test ? out : await model.predict(ref.x, ref.rows);
    const oodX = oodData ? oodData.x : shiftedCopy(test.x, test.rows, model.numFeatures, { k: o.oodShift ?? 3, seed: o.seed, mask: surface.mask });
    const oodRows = oodData ? oodData.rows : test.rows;
    const oodOut = await model.predict(oodX, oodRows);
    const refLabels = (ref.y as Int32Array | undefined) ?? topLabel(refOut.probabilities, k, new Int32Array(ref.rows)).pred;
    const det = fitMahalanobis(refOut.features, refLabels, model.featureDim, k);
    ood = {
      set: o.ood ?? `built-in: the test rows with every numeric feature shifted by ${o.oodShift ?? 3} standard deviations`,
      reference: refPath ?? `${o.data} (no reference data found: Mahalanobis was fitted on the test set itself)`,
      rows: { in: test.rows, ood: oodRows },
      inputs: { energy: model.outputKinds.logits, mahalanobis: model.outputKinds.features },
      scores: {
        msp: oodDetection(mspScore(out.probabilities, k), mspScore(oodOut.probabilities, k)),
        energy: oodDetection(energyScore(out.logits, k), energyScore(oodOut.logits, k)),
        mahalanobis: oodDetection(mahalanobisScore(det, out.features), mahalanobisScore(det, oodOut.features)),
      },
    };
    if (ood.inputs.energy === 'log-probabilities') {
      notes.push('OOD energy was computed on log-probabilities (the model outputs probabilities only): -log Σ p = 0 '
        + 'for every row up to rounding, so it cannot tell in- from out-of-distribution rows');
    }
    if (ood.inputs.mahalanobis === 'log-probabilities') {
      notes.push('OOD Mahalanobis was fitted on the model\'s log-probabilities, not penultimate features (this model exposes no penultimate layer)');
    }
    progress.tick(1, { stage: 'ood' });
  } else notes.push('OOD detection scores classifiers (softmax outputs); skipped for a regression model');
  progress.done();
  return {
    ...base,
    model: { source: model.source, kind: model.kind, task: model.task, classes: model.classes, target: model.target },
    data: { file: o.data, rows: test.rows, ...(isImageTable(table) && table.dataset ? { dataset: table.dataset } : {}) },
    scores, calibration,
    robustness: { corruptions, ...(adversarial.length ? { adversarial } : {}) },
    ood,
  };
}

/** The training CSV recorded in a Switchyard run's config, when it still exists. */
async function trainingData(model: TabularEvalModel): Promise<string | undefined> {
  if (model.kind !== 'tabular') return undefined;
  const cfg = JSON.parse(await readFile(join(model.source, 'config.json'), 'utf8')) as { train?: { data?: string } };
  const p = cfg.train?.data;
  return p && (parseBuiltinImageName(p) || existsSync(p)) ? p : undefined;
}

/** Accuracy (classification) or RMSE (regression) of one prediction pass. */
function headlineMetric(model: TabularEvalModel, out: { probabilities: Float32Array; logits: Float32Array }, y: Int32Array | Float32Array): number {
  if (model.task === 'classification') return new ClassificationScorer({ labels: y as Int32Array, probs: out.probabilities, classes: model.classes }, { perClass: false }).pointMetrics().accuracy;
  return new RegressionScorer(out.logits.subarray(0, y.length), y).pointMetrics().rmse;
}
