/**
 * The one in-process training loop for MLP classifiers and regressors on encoded arrays: seeded shuffled
 * batches, a whole-step ONNX graph ({@link TrainStep}) with AdamW or SGD and a warm-up + cosine schedule,
 * optional per-example loss weights, evaluation and prediction through {@link Forward}. `switchyard train`
 * (trainTabular), confident learning (audit/label-issues) and fairness reweighing all train through it.
 */
import type { Tensor } from '../core/graph.ts';
import { reshape, softmax } from '../core/ops/index.ts';
import { epochBatches, gatherRows, gatherValues } from '../data/batches.ts';
import type { Task } from '../data/tabular.ts';
import { accuracy, crossEntropy, mse } from '../nn/functional.ts';
import { type Activation, MLP } from '../nn/layers.ts';
import type { Module } from '../nn/module.ts';
import { adamw, sgd } from '../optim/optimizer.ts';
import { type Schedule, warmupCosine } from '../optim/schedule.ts';
import type { DeviceChoice } from '../runtime/compile-for.ts';
import type { HostTensor } from '../runtime/executor.ts';
import { SwitchyardError } from '../util/errors.ts';
import { argmaxRows } from '../util/scores.ts';
import { Forward } from './forward.ts';
import { type BatchSpec, divergence, TrainStep } from './step.ts';

/**
 * The model and optimisation settings of an MLP fit, shared by {@link fit} and `switchyard train`.
 *
 * @example
 * const h: MlpHyperParams = { hidden: [32], epochs: 10, batchSize: 64, lr: 1e-2, seed: 0 };
 */
export interface MlpHyperParams {
  /** Hidden layer sizes of a fresh model (default [64, 64]). */
  hidden?: number[];
  /** Activation after each hidden layer: `'relu'` (default), `'gelu'` or `'silu'`. */
  activation?: Activation;
  /** Dropout probability after each hidden layer, in [0, 1) (default 0). */
  dropout?: number;
  /** Epochs (default 30). */
  epochs?: number;
  /** Rows per micro-batch (default 64). */
  batchSize?: number;
  /** Peak learning rate of the warm-up + cosine schedule (default 3e-3). */
  lr?: number;
  /** Decoupled weight decay (default 1e-4). */
  weightDecay?: number;
  /** `'adamw'` (default) or `'sgd'` (with `momentum`). */
  optimizer?: 'adamw' | 'sgd';
  /** SGD momentum (default 0.9). */
  momentum?: number;
  /** Clip gradients to this global L2 norm (off when absent). */
  clipNorm?: number;
  /** Micro-batches whose gradients are averaged per optimizer update (default 1). */
  accumulate?: number;
  /** Micro-steps per ONNX Runtime call (the Loop trip count, default 16). */
  stepsPerCall?: number;
  /** Seed of the weights, the split, shuffling and dropout (default 0). */
  seed?: number;
}

/**
 * What {@link MlpTrainer.create} and {@link fit} train on, and how.
 *
 * @example
 * const o: FitOptions = { x, y, features: 4, classes: 3, hidden: [16], epochs: 20, seed: 1 };
 */
export interface FitOptions extends MlpHyperParams {
  /** Row-major features, `rows × features`. */
  x: Float32Array;
  /** Class indices (classification) or standardised targets (regression), one per row. */
  y: Int32Array | Float32Array;
  features: number;
  /** Default `classification`. */
  task?: Task;
  /** Number of classes (classification; default `max(y) + 1`), or the class names. */
  classes?: number | readonly string[];
  /** Per-example loss weights (one per row, >= 0): the loss is `sum(w * loss) / sum(w)` over each batch. */
  weights?: Float32Array;
  /** Train on these rows only (default: all rows). */
  rows?: Int32Array;
  /** Train this model (e.g. rebuilt from a run's config); default a fresh MLP initialised with `seed`. */
  model?: MLP;
  /** ONNX Runtime intra-op threads (default: all cores). */
  threads?: number;
  /** Where the step and the evaluation pass run (default `cpu`; see {@link DeviceChoice}). */
  device?: DeviceChoice;
}

/**
 * One epoch's outcome.
 *
 * @example
 * const { trainLoss, examples, seconds } = await trainer.runEpoch(1);
 */
export interface EpochResult {
  /** Mean (weighted, when weights are given) training loss over the epoch's micro-steps. */
  trainLoss: number;
  examples: number;
  seconds: number;
}

const DEFAULTS = { hidden: [64, 64], activation: 'relu' as Activation, dropout: 0, epochs: 30, batchSize: 64, lr: 3e-3, weightDecay: 1e-4, optimizer: 'adamw' as 'adamw' | 'sgd', momentum: 0.9, accumulate: 1, stepsPerCall: 16, seed: 0 };

const EVAL_CHUNK = 1024;

function batchSpec(features: number, task: Task, weighted: boolean): BatchSpec {
  const spec: BatchSpec = {
    x: { dtype: 'f32', shape: ['batch', features] },
    y: task === 'classification' ? { dtype: 'i64', shape: ['batch'] } : { dtype: 'f32', shape: ['batch'] },
  };
  if (weighted) spec.w = { dtype: 'f32', shape: ['batch'] };
  return spec;
}

function lossFn(task: Task) {
  return (m: Module, b: Record<string, Tensor>): { loss: Tensor; metrics: Record<string, Tensor> } => {
    const out = m.call(b.x);
    if (task === 'classification') return { loss: crossEntropy(out, b.y, b.w), metrics: { accuracy: accuracy(out, b.y) } };
    return { loss: mse(reshape(out, ['batch']), b.y, b.w), metrics: {} };
  };
}

/** Stacks the rows of each index batch into `[k, b, ...]` host tensors (`x`, `y` and, when given, `w`). */
function hostBatch(x: Float32Array, features: number, y: Int32Array | Float32Array, w: Float32Array | undefined, idx: Int32Array[], task: Task): Record<string, HostTensor> {
  const k = idx.length;
  const b = idx[0].length;
  const xs = new Float32Array(k * b * features);
  idx.forEach((rows, i) => gatherRows(x, features, rows, xs.subarray(i * b * features, (i + 1) * b * features)));
  const ys = idx.map((rows) => gatherValues(y, rows));
  const cls = task === 'classification';
  const yd = cls ? BigInt64Array.from(ys.flatMap((v) => Array.from(v, (c) => BigInt(c)))) : Float32Array.from(ys.flatMap((v) => Array.from(v)));
  const out: Record<string, HostTensor> = { x: { dtype: 'f32', shape: [k, b, features], data: xs }, y: { dtype: cls ? 'i64' : 'f32', shape: [k, b], data: yd } };
  if (w) out.w = { dtype: 'f32', shape: [k, b], data: Float32Array.from(idx.flatMap((rows) => Array.from(gatherValues(w, rows)))) };
  return out;
}

function unstack(hb: Record<string, HostTensor>): Record<string, HostTensor> {
  return Object.fromEntries(Object.entries(hb).map(([k, v]) => [k, { ...v, shape: v.shape.slice(1) }]));
}

function checkInputs(o: FitOptions, rows: number): void {
  if (!(o.features >= 1) || o.x.length !== rows * o.features) {
    throw new SwitchyardError('E_CONFIG', `fit: x holds ${o.x.length} values, expected ${o.y.length} rows × ${o.features} features`, 'pass x row-major with one row per label');
  }
  if (o.weights && o.weights.length !== rows) throw new SwitchyardError('E_CONFIG', `fit: ${o.weights.length} weights for ${rows} rows`, 'pass one weight per row');
  if (o.weights) {
    for (let i = 0; i < rows; i++) {
      if (!(o.weights[i] >= 0) || !Number.isFinite(o.weights[i])) throw new SwitchyardError('E_CONFIG', `fit: weight of row ${i} is ${o.weights[i]}`, 'weights must be finite and >= 0');
    }
  }
}

function classCount(o: FitOptions): number {
  if (typeof o.classes === 'number') return o.classes;
  if (o.classes) return o.classes.length;
  let max = 0;
  for (const c of o.y) max = Math.max(max, c);
  return max + 1;
}

/**
 * A training run in progress: the model, its compiled step (with optimizer state, for checkpoints) and the
 * batching plan. Callers that need per-epoch control (validation, checkpoints, early stopping, resume) drive
 * {@link MlpTrainer.runEpoch} themselves; {@link fit} is the one-call form.
 *
 * @example
 * const t = await MlpTrainer.create({ x, y, features: 4, classes: 2, epochs: 10 });
 * for (let e = 1; e <= t.epochs; e++) await t.runEpoch(e);
 * const probs = await t.predict(x);
 * await t.release();
 */
export class MlpTrainer {
  /** Optimizer updates per epoch. */
  readonly updatesPerEpoch: number;
  /** Micro-batches per epoch (a multiple of `accumulate`). */
  readonly microPerEpoch: number;
  /** Learning rate by 0-based update. */
  readonly schedule: Schedule;
  private predictFwd: Forward | null = null;
  private stepReleased = false;

  private constructor(
    readonly model: MLP,
    readonly step: TrainStep,
    private readonly evalFwd: Forward,
    readonly task: Task,
    readonly outputs: number,
    readonly epochs: number,
    readonly batchSize: number,
    private readonly data: { x: Float32Array; y: Int32Array | Float32Array; features: number; weights?: Float32Array; rows: Int32Array },
    private readonly o: typeof DEFAULTS & FitOptions,
  ) {
    const accumulate = o.accumulate;
    const n = data.rows.length;
    const fullBatches = Math.floor(n / batchSize);
    this.microPerEpoch = accumulate > 1 ? fullBatches - (fullBatches % accumulate) : Math.ceil(n / batchSize);
    if (this.microPerEpoch === 0) throw new SwitchyardError('E_CONFIG', `accumulate=${accumulate} needs at least ${accumulate} full batches of ${batchSize} rows, the training set has ${n}`, 'lower --accumulate or --batch-size');
    this.updatesPerEpoch = this.microPerEpoch / accumulate;
    const total = this.updatesPerEpoch * epochs;
    this.schedule = warmupCosine({ lr: o.lr, warmup: Math.min(Math.ceil(total * 0.05), 200), total, minLr: o.lr * 0.05 });
  }

  /** Builds (or adopts) the model and compiles the training step and the evaluation pass. */
  static async create(opts: FitOptions): Promise<MlpTrainer> {
    const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS & FitOptions;
    if (!(o.epochs >= 1)) throw new SwitchyardError('E_CONFIG', `--epochs must be at least 1, got ${o.epochs}`, 'e.g. --epochs 20');
    const task = o.task ?? 'classification';
    const n = o.y.length;
    checkInputs(o, n);
    const rows = o.rows ?? Int32Array.from({ length: n }, (_, i) => i);
    if (rows.length === 0) throw new SwitchyardError('E_CSV_EMPTY', 'fit: no rows to train on', 'add rows');
    const outputs = task === 'classification' ? classCount(o) : 1;
    const model = o.model ?? (new MLP([o.features, ...o.hidden, outputs], { activation: o.activation, dropout: o.dropout }).named().init(o.seed) as MLP);
    const optimizer = o.optimizer === 'sgd' ? sgd({ momentum: o.momentum, weightDecay: o.weightDecay }) : adamw({ weightDecay: o.weightDecay });
    const spec = batchSpec(o.features, task, o.weights !== undefined);
    const step = await TrainStep.compile({ model, optimizer, batch: spec, loss: lossFn(task), clipNorm: o.clipNorm, accumulate: o.accumulate, threads: o.threads, seed: o.seed, device: o.device });
    const evalFwd = await Forward.compile(model, (m, b): Record<string, Tensor> => {
      const r = lossFn(task)(m, b);
      return { loss: r.loss, ...r.metrics };
    }, batchSpec(o.features, task, false), { threads: o.threads, device: o.device });
    const batchSize = Math.min(o.batchSize, rows.length);
    try {
      return new MlpTrainer(model, step, evalFwd, task, outputs, o.epochs, batchSize, { x: o.x, y: o.y, features: o.features, weights: o.weights, rows }, o);
    } catch (e) {
      await step.release();
      await evalFwd.release();
      throw e;
    }
  }

  /**
   * Runs epoch `epoch` (1-based; it seeds the shuffle, so a resumed run repeats the same batches). `onCall`
   * sees the examples of each ONNX Runtime call and the running mean loss. A non-finite loss or gradient
   * throws `E_NONFINITE` and leaves the weights as they were before that call.
   */
  async runEpoch(epoch: number, onCall?: (examples: number, meanLoss: number) => void): Promise<EpochResult> {
    const { accumulate, stepsPerCall: spc, seed } = this.o;
    const { x, y, features, weights, rows } = this.data;
    const stepsPerCall = Math.max(accumulate, spc - (spc % accumulate));
    const batches = epochBatches(rows, this.batchSize, seed, epoch, accumulate > 1).slice(0, this.microPerEpoch);
    let lossSum = 0;
    let lossCount = 0;
    let examples = 0;
    const t0 = performance.now();
    for (let s = 0; s < batches.length; ) {
      // Calls hold same-sized batches: a shorter last batch runs in a call of its own.
      let e = Math.min(s + stepsPerCall, batches.length);
      while (e - 1 > s && batches[e - 1].length !== batches[s].length) e--;
      const group = batches.slice(s, e);
      const base = this.step.updates;
      const lrs = Array.from({ length: group.length / accumulate }, (_, u) => this.schedule(base + u));
      const r = await this.step.run(hostBatch(x, features, y, weights, group, this.task), lrs);
      if (r.nonFinite !== null) {
        const at = this.step.microSteps + r.nonFinite + 1;
        throw new SwitchyardError('E_NONFINITE', `training diverged: ${divergence(r)} at step ${at}, epoch ${epoch}`, `lower the learning rate (e.g. --lr ${(this.o.lr / 10).toPrecision(2)}) or set --clip-norm 1`);
      }
      for (const l of r.losses) { lossSum += l; lossCount++; }
      const n = group.reduce((a, g) => a + g.length, 0);
      examples += n;
      s = e;
      onCall?.(n, lossSum / lossCount);
    }
    return { trainLoss: lossSum / lossCount, examples, seconds: (performance.now() - t0) / 1000 };
  }

  /** Unweighted mean loss (and accuracy for classification) over rows `idx` of `(x, y)`, in chunks. */
  async evaluate(x: Float32Array, y: Int32Array | Float32Array, idx: Int32Array): Promise<{ loss: number; accuracy?: number }> {
    let loss = 0;
    let acc = 0;
    const features = this.data.features;
    for (let s = 0; s < idx.length; s += EVAL_CHUNK) {
      const rows = idx.subarray(s, Math.min(s + EVAL_CHUNK, idx.length));
      const out = await this.evalFwd.run(unstack(hostBatch(x, features, y, undefined, [rows], this.task)));
      loss += (out.loss.data as Float32Array)[0] * rows.length;
      if (this.task === 'classification') acc += (out.accuracy.data as Float32Array)[0] * rows.length;
    }
    const n = Math.max(1, idx.length);
    return this.task === 'classification' ? { loss: loss / n, accuracy: acc / n } : { loss: loss / n };
  }

  /**
   * Class probabilities (`rows × classes`, row-major) for classification, or the model's (standardised)
   * predictions (`rows`) for regression, with the current weights.
   */
  async predict(x: Float32Array): Promise<Float32Array> {
    const features = this.data.features;
    const rows = x.length / features;
    if (!Number.isInteger(rows)) throw new SwitchyardError('E_CONFIG', `predict: ${x.length} values is not a whole number of ${features}-feature rows`, `pass ${features} values per row, row-major`);
    const cls = this.task === 'classification';
    this.predictFwd ??= await Forward.compile(this.model, (m, b) => {
      const out = m.call(b.x);
      return { out: cls ? softmax(out, -1) : reshape(out, ['batch']) };
    }, { x: { dtype: 'f32', shape: ['batch', features] } }, { threads: this.o.threads, device: this.o.device });
    const width = cls ? this.outputs : 1;
    const result = new Float32Array(rows * width);
    for (let s = 0; s < rows; s += EVAL_CHUNK) {
      const e = Math.min(s + EVAL_CHUNK, rows);
      const out = await this.predictFwd.run({ x: { dtype: 'f32', shape: [e - s, features], data: x.subarray(s * features, e * features) } });
      result.set(out.out.data as Float32Array, s * width);
    }
    return result;
  }

  /** Frees the training step's session (the model and prediction stay usable). */
  async releaseStep(): Promise<void> {
    if (this.stepReleased) return;
    this.stepReleased = true;
    await this.step.release();
    await this.evalFwd.release();
  }

  /** Frees every session. */
  async release(): Promise<void> {
    await this.releaseStep();
    await this.predictFwd?.release();
    this.predictFwd = null;
  }
}

/**
 * A fitted MLP: the trained module (its `stateDict()` is what a run saves) and prediction.
 *
 * @example
 * const m: FittedModel = await fit({ x, y, features: 4, classes: 2 });
 * const p = await m.predictProba(xTest); await m.release();
 */
export interface FittedModel {
  model: MLP;
  task: Task;
  /** Output width: classes for classification, 1 for regression. */
  outputs: number;
  /** Training loss per epoch. */
  history: number[];
  /** Softmax probabilities, `rows × classes` row-major (classification only). */
  predictProba(x: Float32Array): Promise<Float32Array>;
  /** Standardised predictions, one per row (regression), or the arg-max class index (classification). */
  predict(x: Float32Array): Promise<Float32Array>;
  /** Frees the prediction session. */
  release(): Promise<void>;
}

/**
 * Fits an MLP on encoded arrays in-process and returns it ready to predict. The same options and seed give
 * the same weights. With `weights`, each batch's loss is the weighted mean of the per-example losses.
 *
 * @example
 * const m = await fit({ x, y, features: 2, classes: 2, hidden: [16], epochs: 20, batchSize: 32, lr: 1e-2, seed: 7 });
 * const probs = await m.predictProba(x); // rows × 2
 * await m.release();
 */
export async function fit(opts: FitOptions): Promise<FittedModel> {
  const t = await MlpTrainer.create(opts);
  const history: number[] = [];
  try {
    for (let e = 1; e <= t.epochs; e++) history.push((await t.runEpoch(e)).trainLoss);
  } catch (err) {
    await t.release();
    throw err;
  }
  await t.releaseStep();
  const cls = t.task === 'classification';
  return {
    model: t.model,
    task: t.task,
    outputs: t.outputs,
    history,
    predictProba: async (x) => {
      if (!cls) throw new SwitchyardError('E_TASK', 'predictProba: a regression model has no class probabilities', 'use predict');
      return t.predict(x);
    },
    predict: async (x) => {
      const p = await t.predict(x);
      if (!cls) return p;
      return Float32Array.from(argmaxRows(p, t.outputs));
    },
    release: () => t.release(),
  };
}
