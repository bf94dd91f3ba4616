import { appendFile, mkdir } from 'node:fs/promises';
import { MAX_IMAGE_PIXELS_RANGE } from '../data/images/image.ts';
import { join } from 'node:path';
import type { Table } from '../data/csv.ts';
import { readTable } from '../data/readers/index.ts';
import { type DatasetSplitRecord, isImageTable } from '../data/images/folder.ts';
import type { MAX_IMAGE_PIXELS } from '../data/images/image.ts';
import { didYouMean, isMissing, listNames, parseNumber } from '../data/values.ts';
import { type ColumnRole, inferSchema } from '../data/schema.ts';
import { randomSplit, stratifiedSplit } from '../data/split.ts';
import { fitTabularEncoder, TabularEncoder } from '../data/tabular.ts';
import type { Activation, MLP } from '../nn/layers.ts';
import { SwitchyardError } from '../util/errors.ts';
import { sha256Bytes, stringifyJson, writeFileAtomic, writeJsonAtomic } from '../util/fs.ts';
import { Progress } from '../util/progress.ts';
import { checkParamBudget, checkRanges, COMMON_RANGES, DEFAULT_MAX_PARAMS } from '../util/ranges.ts';
import { Rng } from '../util/rng.ts';
import { copyWeights, resumableConfig, resumeCheckpoint, RUN_FILES, saveCheckpoint, saveWeights, type StateDict } from './checkpoint.ts';
import { type MlpHyperParams, MlpTrainer } from './fit.ts';
import { progressLabel, runDevice, type RunDevice } from './device.ts';
import { finishRunDir, prepareRunDir, type RunOptions } from './run-dir.ts';
import { buildTabularModel, type TabularRunConfig } from './tabular-model.ts';
import { type InitFromOptions, initModelFrom, type InitReport, type InitSource, initSourceOf } from './init-from.ts';

/** Options of {@link trainTabular} (the `switchyard train` verb). */
export interface TabularTrainOptions extends RunOptions, MlpHyperParams {
  /** Training table: CSV, TSV, JSONL or Parquet (`--data`). */
  data: string;
  /** The column to predict (`--target`). */
  target: string;
  /** Run directory to write: config, weights, metrics, checkpoint, manifest (`--out`). */
  out: string;
  /** A validation table in the same columns (default: a stratified split of `data`, see `validFraction`). */
  valid?: string;
  /** `'auto'` (default) picks classification for a categorical or boolean target, regression for a numeric one. */
  task?: 'auto' | 'classification' | 'regression';
  /** Column kinds that override the inferred schema, e.g. `{ zip: 'categorical', notes: 'ignore' }`. */
  columns?: Record<string, ColumnRole>;
  /** Early stopping: epochs without validation improvement before stopping (0 = off). */
  patience?: number;
  /** Share of rows held out for validation when `valid` is absent (default 0.2). */
  validFraction?: number;
  /** Hash buckets per text column (default 1024). */
  textBuckets?: number;
  /** Also hash character n-grams of these lengths `[min, max]` in text columns. */
  textCharNgrams?: [number, number];
  /** A numeric, non-negative column of per-example loss weights (left out of the features). */
  weightColumn?: string;
  /** The most parameters the MLP may have (default {@link DEFAULT_MAX_PARAMS}); checked before allocating. */
  maxParams?: number;
  /** Images (a folder as `data`): refuse one of more pixels than this (default {@link MAX_IMAGE_PIXELS}). */
  maxImagePixels?: number;
  /**
   * Start from these weights (a new run, fresh optimizer): see {@link readInitSource}. From a tabular run, its
   * feature encoding is reused (the loaded layers expect its features) and so are its hidden sizes and
   * activation unless `hidden`/`activation` are given; the target (labels) is fitted on the new data.
   */
  initFrom?: InitFromOptions | InitSource;
}

/**
 * Ranges of the numeric options of {@link trainTabular}, each with the `switchyard train` flag that sets it: the
 * CLI's flag spec spreads them in, and {@link trainTabular} checks them, so both give the same error.
 *
 * @example
 * const spec = { dropout: { type: 'number', default: 0, ...TABULAR_TRAIN_RANGES.dropout, help: 'dropout' } };
 */
export const TABULAR_TRAIN_RANGES = {
  dropout: { flag: '--dropout', min: 0, below: 1 },
  epochs: { flag: '--epochs', min: 1, integer: true },
  batchSize: { flag: '--batch-size', min: 1, integer: true },
  lr: { flag: '--lr', above: 0 },
  weightDecay: { flag: '--weight-decay', min: 0 },
  momentum: { flag: '--momentum', min: 0, below: 1 },
  clipNorm: { flag: '--clip-norm', above: 0 },
  accumulate: { flag: '--accumulate', min: 1, integer: true },
  patience: { flag: '--patience', min: 0, integer: true },
  validFraction: { flag: '--valid-fraction', above: 0, below: 1 },
  textBuckets: { flag: '--text-buckets', min: 1, max: 1 << 18, integer: true },
  stopAfter: { flag: '--stop-after', min: 1, integer: true },
  maxParams: { flag: '--max-params', min: 1, integer: true },
  maxImagePixels: MAX_IMAGE_PIXELS_RANGE,
  ...COMMON_RANGES,
} as const;

/** Parameters of an MLP of these layer sizes (weights and biases). */
function mlpParamCount(sizes: readonly number[]): number {
  let n = 0;
  for (let i = 1; i < sizes.length; i++) n += sizes[i - 1] * sizes[i] + sizes[i];
  return n;
}

/** What {@link trainTabular} returns and writes to `metrics.json`. */
export interface TabularTrainSummary {
  task: 'classification' | 'regression';
  rows: { train: number; valid: number; skippedMissingTarget: number };
  features: number;
  classes: string[];
  epochs: number;
  bestEpoch: number;
  stoppedEarly: boolean;
  updates: number;
  train: { loss: number };
  valid: { loss: number; accuracy?: number; rmse?: number };
  examplesPerSecond: number;
  seconds: number;
  out: string;
  /** Per-example training weights, when `weightColumn` was given (validation loss stays unweighted). */
  weights?: { column: string; sum: number; zeros: number; min: number; max: number };
  /** What `initFrom` loaded, reshaped or left fresh. */
  init?: InitReport;
  /** Where this invocation trained (a resumed run may have trained its earlier epochs elsewhere). */
  device: RunDevice;
}

interface EpochRecord {
  epoch: number;
  updates: number;
  trainLoss: number;
  validLoss: number;
  validAccuracy?: number;
  validRmse?: number;
  lr: number;
  examplesPerSecond: number;
}

const DEFAULTS = { hidden: [64, 64], activation: 'relu' as Activation, dropout: 0, epochs: 30, batchSize: 64, lr: 3e-3, weightDecay: 1e-4, patience: 5, validFraction: 0.2, seed: 0, stepsPerCall: 16 };

/** What a tabular run's checkpoint records besides weights and optimizer state (its `state.json`). */
interface TabularTrainState {
  configSha256: string;
  history: EpochRecord[];
  best: { loss: number | null; epoch: number };
  bad: number;
}

/**
 * Trains an MLP classifier or regressor on a CSV file: infers the schema, encodes features, splits a
 * stratified validation set (unless `valid` is given), trains with AdamW (or SGD), a warm-up + cosine
 * schedule, early stopping on validation loss, checkpoints each epoch, and writes the run directory
 * (`config.json`, `model.safetensors` — the best validation epoch's weights —, `metrics.jsonl`, `metrics.json`,
 * `checkpoint/` — the last epoch's weights and optimizer state, for `resume` —, `manifest.json`).
 *
 * @example
 * const summary = await trainTabular({ data: 'train.csv', target: 'label', out: 'runs/x', epochs: 20 });
 */
export async function trainTabular(opts: TabularTrainOptions): Promise<TabularTrainSummary> {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS & TabularTrainOptions;
  checkRanges(o, TABULAR_TRAIN_RANGES);
  const started = performance.now();
  const device = await runDevice(o.device, o.progress?.enabled === false);
  const table = dropMissingTarget(await readTable(o.data, { maxImagePixels: o.maxImagePixels }), o.target);
  let cfg: TabularRunConfig;
  let enc: TabularEncoder;
  let refitText: ((rows: Int32Array) => TabularEncoder) | null = null;
  let cfgText = '';
  const init = await initSourceOf(o, ['tabular-mlp']);
  if (o.resume) {
    ({ cfg, text: cfgText } = await resumableConfig<TabularRunConfig>(o.out));
    enc = TabularEncoder.fromJSON(cfg.encoder);
    // A resumed run keeps the hyper-parameters it started with, so its curve continues exactly.
    const saved = cfg.train as Partial<typeof o>;
    for (const k of ['epochs', 'batchSize', 'lr', 'weightDecay', 'optimizer', 'momentum', 'clipNorm', 'accumulate', 'patience', 'validFraction', 'stepsPerCall', 'valid', 'weightColumn'] as const) {
      (o as unknown as Record<string, unknown>)[k] = saved[k] ?? undefined;
    }
  } else {
    if (o.weightColumn !== undefined) requireColumn(table, o.weightColumn, '--weight-column');
    const schema = inferSchema(table, { ...o.columns, ...(o.weightColumn !== undefined ? { [o.weightColumn]: 'ignore' as const } : {}) });
    const wcol = schema.columns.find((c) => c.name === o.weightColumn);
    if (wcol) wcol.reason = 'per-example weight (--weight-column)';
    const fitText = (rows?: Int32Array) => fitTabularEncoder(table, schema, o.target, o.task ?? 'auto', { textBuckets: o.textBuckets, textCharNgrams: o.textCharNgrams, textFitRows: rows });
    enc = fitText();
    refitText = fitText;
    const source = init?.run?.kind === 'tabular-mlp' ? (init.run as unknown as TabularRunConfig) : undefined;
    if (source) {
      const features = TabularEncoder.fromJSON(source.encoder);
      enc = new TabularEncoder(enc.target, [...features.specs], [...features.dropped]);
      refitText = null;
      if (opts.hidden === undefined) o.hidden = source.model.sizes.slice(1, -1);
      if (opts.activation === undefined) o.activation = source.model.activation;
    }
    const sizes = [enc.numFeatures, ...o.hidden, enc.outputSize];
    checkParamBudget(mlpParamCount(sizes), o.maxParams ?? DEFAULT_MAX_PARAMS, `an MLP of layer sizes ${sizes.join(',')}`);
    cfg = {
      format: 'switchyard.run',
      version: 1,
      kind: 'tabular-mlp',
      task: enc.task,
      model: { sizes, activation: o.activation, dropout: o.dropout },
      encoder: enc.toJSON(),
      train: { data: o.data, ...datasetRecord(table), valid: o.valid, target: o.target, weightColumn: o.weightColumn, epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, weightDecay: o.weightDecay, optimizer: o.optimizer ?? 'adamw', momentum: o.momentum ?? 0.9, clipNorm: o.clipNorm ?? null, accumulate: o.accumulate ?? 1, patience: o.patience, validFraction: o.validFraction, stepsPerCall: o.stepsPerCall },
      seed: o.seed,
      created: new Date().toISOString(),
    };
  }
  const task = enc.task;
  let encoded = enc.encode(table);
  const weights = o.weightColumn !== undefined ? readWeights(table, o.weightColumn) : undefined;
  if (table.droppedRows && o.progress?.enabled !== false) process.stderr.write(`note: ${o.data}: skipped ${table.droppedRows} rows whose target '${o.target}' is missing\n`);
  const rng = new Rng(cfg.seed);
  let trainIdx: Int32Array;
  let validIdx: Int32Array;
  let validEnc = encoded;
  if (o.valid) {
    validEnc = enc.encode(await readTable(o.valid, { maxImagePixels: o.maxImagePixels }));
    trainIdx = Int32Array.from({ length: encoded.rows }, (_, i) => i);
    validIdx = Int32Array.from({ length: validEnc.rows }, (_, i) => i);
  } else {
    const split = task === 'classification' ? stratifiedSplit(encoded.y as Int32Array, o.validFraction, rng.fork()) : randomSplit(encoded.rows, o.validFraction, rng.fork());
    trainIdx = split.train;
    validIdx = split.valid;
    if (refitText && enc.specs.some((s) => s.kind === 'text')) {
      // Text IDF comes from the training split only, so validation words do not leak into the transform.
      enc = refitText(trainIdx);
      cfg.encoder = enc.toJSON();
      encoded = enc.encode(table);
    }
  }
  if (trainIdx.length === 0) throw new SwitchyardError('E_CSV_EMPTY', `${o.data}: no rows left for training`, 'add rows or lower --valid-fraction');

  const initial = buildTabularModel(cfg).init(cfg.seed);
  if (init) cfg.initFrom = initModelFrom(initial, init, o.progress?.enabled !== false);
  const trainer = await MlpTrainer.create({
    x: encoded.x, y: encoded.y!, weights, features: enc.numFeatures, task, classes: enc.outputSize, rows: trainIdx,
    model: initial as MLP, epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, weightDecay: o.weightDecay,
    optimizer: o.optimizer, momentum: o.momentum, clipNorm: o.clipNorm, accumulate: o.accumulate, stepsPerCall: o.stepsPerCall, seed: cfg.seed, threads: o.threads, device: device.name,
  });
  const { model, step } = trainer;
  const std = task === 'regression' ? (enc.target as { std: number }).std : 1;
  const evaluate = async (): Promise<{ loss: number; accuracy?: number; rmse?: number }> => {
    const v = await trainer.evaluate(validEnc.x, validEnc.y!, validIdx);
    return task === 'regression' ? { loss: v.loss, rmse: Math.sqrt(v.loss) * std } : v;
  };

  let epoch0 = 0;
  let best = { loss: Infinity, epoch: 0 };
  let bad = 0;
  // The weights the run ships: the best validation epoch's (restore-best-weights), or the last without validation.
  let bestWeights: StateDict | undefined;
  const history: EpochRecord[] = [];
  const target = await prepareRunDir(o.out, o);
  const dir = target.work;
  await mkdir(dir, { recursive: true });
  const checkpointDir = join(dir, RUN_FILES.checkpoint);
  const checkpoint = async (epoch: number): Promise<void> => {
    const state: TabularTrainState = { configSha256: sha256Bytes(cfgText), history, best, bad };
    await saveCheckpoint(checkpointDir, model, step, { updates: step.updates, microSteps: step.microSteps, epoch, batchInEpoch: 0 }, {}, { best: bestWeights, state: { ...state } });
  };
  if (o.resume) {
    const ck = await resumeCheckpoint(dir, model, step, cfgText);
    const state = ck.state as unknown as TabularTrainState;
    epoch0 = ck.epoch;
    history.push(...state.history);
    // JSON has no Infinity: a checkpoint before any improvement records the best loss as null.
    best = { loss: state.best.loss ?? Infinity, epoch: state.best.epoch };
    bad = state.bad;
    bestWeights = ck.best;
  } else {
    cfgText = stringifyJson(cfg, 2) + '\n';
    await writeFileAtomic(join(dir, RUN_FILES.config), cfgText);
    await checkpoint(0);
  }
  await writeMetricsLines(join(dir, RUN_FILES.metrics), history);
  const shipBest = validIdx.length > 0;

  const progress = new Progress({ total: (Math.min(o.epochs - epoch0, o.stopAfter ?? Infinity)) * trainer.microPerEpoch * trainer.batchSize, label: progressLabel(device), unit: 'ex', ...o.progress });
  let examples = 0;
  let trainSeconds = 0;
  let stoppedEarly = false;
  let lastTrainLoss = NaN;
  for (let epoch = epoch0 + 1; epoch <= o.epochs; epoch++) {
    let r;
    try {
      r = await trainer.runEpoch(epoch, (n, loss) => progress.tick(n, { epoch: `${epoch}/${o.epochs}`, loss: loss.toFixed(4) }));
    } catch (e) {
      if (e instanceof SwitchyardError && e.code === 'E_NONFINITE') throw new SwitchyardError(e.code, `${e.message}; kept the checkpoint of epoch ${epoch - 1} in ${dir}`, e.hint);
      throw e;
    }
    examples += r.examples;
    trainSeconds += r.seconds;
    lastTrainLoss = r.trainLoss;
    const v = validIdx.length ? await evaluate() : { loss: lastTrainLoss };
    const rec: EpochRecord = { epoch, updates: step.updates, trainLoss: lastTrainLoss, validLoss: v.loss, ...(v.accuracy !== undefined ? { validAccuracy: v.accuracy } : {}), ...(v.rmse !== undefined ? { validRmse: v.rmse } : {}), lr: trainer.schedule(Math.max(0, step.updates - 1)), examplesPerSecond: r.examples / r.seconds };
    history.push(rec);
    await appendFile(join(dir, RUN_FILES.metrics), JSON.stringify(rec) + '\n');
    const improved = v.loss < best.loss - 1e-7;
    if (improved) { best = { loss: v.loss, epoch }; bad = 0; } else bad++;
    if (improved && shipBest) {
      await step.syncToHost();
      bestWeights = copyWeights(model);
    }
    await checkpoint(epoch);
    if (o.patience > 0 && bad >= o.patience && epoch < o.epochs) { stoppedEarly = true; break; }
    if (o.stopAfter !== undefined && epoch - epoch0 >= o.stopAfter) break;
  }
  progress.done();
  await trainer.release();

  const last = history[history.length - 1];
  const bestRec = history.find((h) => h.epoch === best.epoch) ?? last;
  const summary: TabularTrainSummary = {
    task,
    rows: { train: trainIdx.length, valid: validIdx.length, skippedMissingTarget: table.droppedRows },
    features: enc.numFeatures,
    classes: [...enc.classes],
    epochs: last.epoch,
    bestEpoch: bestRec.epoch,
    stoppedEarly,
    updates: last.updates,
    train: { loss: last.trainLoss },
    valid: { loss: bestRec.validLoss, ...(bestRec.validAccuracy !== undefined ? { accuracy: bestRec.validAccuracy } : {}), ...(bestRec.validRmse !== undefined ? { rmse: bestRec.validRmse } : {}) },
    examplesPerSecond: trainSeconds > 0 ? examples / trainSeconds : 0,
    seconds: (performance.now() - started) / 1000,
    out: o.out,
    ...(weights ? { weights: weightStats(o.weightColumn!, weights, trainIdx) } : {}),
    ...(cfg.initFrom ? { init: cfg.initFrom } : {}),
    device,
  };
  await saveWeights(join(dir, RUN_FILES.model), bestWeights ?? model.stateDict(), { epoch: String(shipBest ? bestRec.epoch : last.epoch) });
  await writeJsonAtomic(join(dir, RUN_FILES.summary), summary);
  await finishRunDir(target);
  return summary;
}

/** A built-in dataset's split, recorded in the run's config beside `data` (seed, sizes, fingerprint of the ids). */
function datasetRecord(t: Table): { dataset?: DatasetSplitRecord } {
  return isImageTable(t) && t.dataset ? { dataset: t.dataset } : {};
}

async function writeMetricsLines(file: string, lines: EpochRecord[]): Promise<void> {
  await writeFileAtomic(file, lines.map((l) => JSON.stringify(l) + '\n').join(''));
}

/** Rows without a target value cannot be learned from: they are left out and counted. */
function dropMissingTarget(t: Table, target: string): Table & { droppedRows: number } {
  const j = t.columns.indexOf(target);
  if (j < 0) return { ...t, droppedRows: 0 };
  const keep = t.rows.map((r, i) => i).filter((i) => !isMissing(t.rows[i][j]));
  if (keep.length === t.rows.length) return { ...t, droppedRows: 0 };
  const images = isImageTable(t) ? { images: keep.map((i) => t.images[i]) } : {};
  const rows = keep.map((i) => t.rows[i]);
  return { ...t, ...images, rows, lines: keep.map((i) => t.lines[i]), droppedRows: t.rows.length - keep.length };
}

function requireColumn(t: Table, name: string, flag: string): void {
  if (t.columns.includes(name)) return;
  const guess = didYouMean(name, t.columns);
  throw new SwitchyardError('E_CSV_COLUMN', `${t.file}: ${flag} '${name}': no such column; columns are: ${listNames(t.columns)}`, guess ? `did you mean '${guess}'?` : 'use one of the column names from the header row');
}

/** The per-example weights of column `name`: each a finite number >= 0, else `E_CSV_VALUE` at `file:line:field`. */
function readWeights(t: Table, name: string): Float32Array {
  requireColumn(t, name, '--weight-column');
  const j = t.columns.indexOf(name);
  const w = new Float32Array(t.rows.length);
  for (let r = 0; r < t.rows.length; r++) {
    const cell = t.rows[r][j];
    const v = isMissing(cell) ? NaN : parseNumber(cell);
    if (!(v >= 0)) {
      // parseNumber gives NaN for Infinity too, so a weight that passes is finite
      const what = isMissing(cell) ? `the weight is missing ('${cell}')` : Number.isNaN(v) ? `'${cell}' is not a number` : `weight ${cell} is negative`;
      throw new SwitchyardError('E_CSV_VALUE', `${t.file}:${t.lines[r]}:${j + 1}: column '${name}': ${what}`, `--weight-column values must be finite numbers >= 0 (0 leaves a row out of the loss)`);
    }
    w[r] = v;
  }
  return w;
}

function weightStats(column: string, w: Float32Array, rows: Int32Array): NonNullable<TabularTrainSummary['weights']> {
  let sum = 0;
  let zeros = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const r of rows) {
    sum += w[r];
    if (w[r] === 0) zeros++;
    min = Math.min(min, w[r]);
    max = Math.max(max, w[r]);
  }
  return { column, sum, zeros, min, max };
}
