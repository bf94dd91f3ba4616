/**
 * One adapter over every model `switchyard eval` can judge: a Switchyard tabular run directory, a Switchyard
 * language-model run, or any ONNX classifier file a user brings (see onnx-model.ts). A tabular/ONNX model
 * exposes class probabilities, logits and penultimate features; a Switchyard model also exposes the engine's
 * input gradients of the loss (traced with the input as a graph input, differentiated by core autodiff,
 * compiled once and run batched on ONNX Runtime).
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { backward } from '../core/autodiff.ts';
import type { Tensor } from '../core/graph.ts';
import { gatherElements, logSoftmax, neg, reduceSum, softmax, squeeze, unsqueeze } from '../core/ops/index.ts';
import type { Table } from '../data/csv.ts';
import type { TabularEncoder } from '../data/tabular.ts';
import type { Tokenizer } from '../data/text/tokenizer.ts';
import type { MLP } from '../nn/layers.ts';
import type { Module } from '../nn/module.ts';
import type { GPT, GptConfig } from '../models/gpt.ts';
import { assertInt8Runs } from '../runtime/int8-cpu.ts';
import { runKind } from '../train/export-run.ts';
import { lmExportInfo, loadLmRun } from '../train/lm-session.ts';
import type { DeviceChoice } from '../runtime/compile-for.ts';
import { Forward, type ForwardOptions } from '../train/forward.ts';
import { loadTabularRun, type TabularRunConfig } from '../train/tabular-model.ts';
import { SwitchyardError } from '../util/errors.ts';
import { textClassifierEvalModel } from './text-model.ts';

/**
 * What one batch of a classifier gives: row-major `logits` and `probabilities` [rows, classes], and the
 * penultimate features [rows, featureDim] used by the Mahalanobis OOD score.
 *
 * @example
 * const { probabilities, features } = await model.predict(x, rows);
 */
export interface ClassifierOutputs {
  logits: Float32Array;
  probabilities: Float32Array;
  features: Float32Array;
}

/**
 * What a classifier's `logits` and `features` outputs are (see {@link TabularEvalModel.outputKinds}).
 *
 * @example
 * const k: OutputKinds = { logits: 'log-probabilities', features: 'log-probabilities' };
 */
export interface OutputKinds {
  logits: 'logits' | 'log-probabilities';
  features: 'penultimate' | 'log-probabilities';
}

/**
 * Encoded data: row-major `x` [rows, numFeatures] and, when the target column was present, `y`
 * (class indices for classification, values in original units for regression).
 *
 * @example
 * const { x, rows, y } = model.encode(table);
 */
export interface EvalData {
  x: Float32Array;
  rows: number;
  y?: Int32Array | Float32Array;
}

/**
 * A model over tabular rows (a Switchyard tabular run or an ONNX classifier).
 *
 * @example
 * const m = await loadEvalModel('runs/x');
 * if (m.kind !== 'lm') { const d = m.encode(table); const out = await m.predict(d.x, d.rows); }
 */
export interface TabularEvalModel {
  kind: 'tabular' | 'onnx';
  /** The path it was loaded from. */
  source: string;
  task: 'classification' | 'regression';
  /** Class labels in output order (empty for regression). */
  classes: string[];
  /** The target column in the data. */
  target: string;
  /** Names of the encoded input features, in order. */
  featureNames: string[];
  numFeatures: number;
  /** Width of {@link ClassifierOutputs.features}. */
  featureDim: number;
  /**
   * What {@link ClassifierOutputs} hold, for the OOD scores that read them: `logits` are the model's logits, or
   * log-probabilities when the model outputs probabilities only; `features` are the penultimate layer's
   * activations, or log-probabilities for a foreign ONNX model (it exposes no penultimate layer). Set for a
   * foreign ONNX model by its first `predict`.
   */
  outputKinds: OutputKinds;
  /** The fitted encoder of a Switchyard run (raw rows → features); absent for foreign ONNX models. */
  encoder?: TabularEncoder;
  /** Encodes raw rows; throws `E_CSV_COLUMN` naming the file when a column the model needs is missing. */
  encode(table: Table): EvalData;
  /** Classifier outputs of `rows` encoded rows (regression: `logits` holds the predictions, one per row). */
  predict(x: Float32Array, rows: number): Promise<ClassifierOutputs>;
  /**
   * Engine input gradients of the per-example cross-entropy: row i of `grad` is d loss_i / d x_i.
   * Present for Switchyard classifiers only.
   */
  inputGradient?(x: Float32Array, y: Int32Array, rows: number): Promise<{ grad: Float32Array; loss: Float32Array }>;
  /** The traced model and its logits function, for attacks compiled into one graph (Switchyard only). */
  traced?: { module: Module; logits: (m: Module, x: Tensor) => Tensor };
  release(): Promise<void>;
}

/**
 * A Switchyard language-model run.
 *
 * @example
 * const m = await loadEvalModel('runs/lm');
 * if (m.kind === 'lm') console.log(m.cfg.gpt.context);
 */
export interface LmEvalModel {
  kind: 'lm';
  source: string;
  cfg: { gpt: GptConfig };
  /** The weights; null for an exported (or compressed) decode step, which has no input gradients for attacks. */
  model: GPT | null;
  /** The exported decode step (`.onnx` models). */
  onnx?: Uint8Array;
  tokenizer: Tokenizer;
  release(): Promise<void>;
}

/**
 * Any model `switchyard eval` accepts.
 *
 * @example
 * const m: EvalModel = await loadEvalModel('model.onnx', { target: 'label' });
 */
export type EvalModel = TabularEvalModel | LmEvalModel;

/**
 * Options of {@link loadEvalModel}.
 *
 * @example
 * await loadEvalModel('model.onnx', { target: 'species', classes: ['Adelie', 'Gentoo'] });
 */
export interface LoadEvalModelOptions {
  /** Target column (foreign ONNX models; Switchyard runs know theirs). */
  target?: string;
  /** Class labels in the ONNX model's output order (default: labels 0..C-1, or the sorted labels found in the data). */
  classes?: string[];
  threads?: number;
  /** Where a run directory's graphs run (default `cpu`); ONNX files run on ONNX Runtime. */
  device?: DeviceChoice;
}

const CHUNK = 8192;

/**
 * Loads a model for evaluation: a run directory of `switchyard train` (tabular MLP, text classifier or GPT), or an
 * `.onnx` file.
 *
 * @example
 * const m = await loadEvalModel('runs/penguins');
 * const d = (m as TabularEvalModel).encode(await readCsv('test.csv'));
 */
export async function loadEvalModel(path: string, opts: LoadEvalModelOptions = {}): Promise<EvalModel> {
  if (!existsSync(path)) throw new SwitchyardError('E_FILE_NOT_FOUND', `${path}: no such file or directory (--model)`, 'pass a run directory written by switchyard train, or an .onnx file');
  if (statSync(path).isFile()) {
    const lm = await lmExport(path);
    // Loaded here, so that evaluating a run directory on WebGPU never loads onnxruntime-node.
    return lm ?? (await import('./onnx-model.ts')).loadOnnxClassifier(path, opts);
  }
  const kind = await runKind(path);
  if (kind === 'text-classifier') return textClassifierEvalModel(path, opts);
  if (kind === 'gpt') {
    const { cfg, tok, model } = await loadLmRun(path);
    return { kind: 'lm', source: path, cfg, model, tokenizer: tok, release: async () => undefined };
  }
  const { cfg, enc, model } = await loadTabularRun(path);
  return switchyardTabular(path, cfg, enc, model, { threads: opts.threads, device: opts.device });
}

/** A language model's exported decode step (`switchyard export` / `compress`), or null for another ONNX file. */
async function lmExport(file: string): Promise<LmEvalModel | null> {
  const bytes = new Uint8Array(await readFile(file));
  let info: ReturnType<typeof lmExportInfo>;
  try {
    info = lmExportInfo(bytes);
  } catch {
    return null; // the classifier loader reports an unreadable file
  }
  if (!info) return null;
  assertInt8Runs(info.metadata, file);
  return { kind: 'lm', source: file, cfg: { gpt: info.gpt }, model: null, onnx: bytes, tokenizer: info.tokenizer, release: async () => undefined };
}


/**
 * Hidden activations before the last Linear of an MLP (eval mode: no dropout).
 *
 * @example
 * const h = mlpPenultimate(model, x); // [batch, last hidden size]
 */
export function mlpPenultimate(m: MLP, x: Tensor): Tensor {
  let h = x;
  for (const l of m.layers.slice(0, -1)) h = m.act(l.call(h));
  return h;
}

/**
 * Sum over the batch of per-example cross-entropy: its gradient wrt row i of x is d loss_i / d x_i.
 *
 * @example
 * const [dx] = backward(summedCrossEntropy(model.call(x), y), [x]);
 */
export function summedCrossEntropy(logits: Tensor, y: Tensor): Tensor {
  return neg(reduceSum(squeeze(gatherElements(logSoftmax(logits, -1), unsqueeze(y, -1), -1), -1)));
}

/**
 * Per-example cross-entropy [batch].
 *
 * @example
 * const loss = perExampleCrossEntropy(logits, y); // f32[batch]
 */
export function perExampleCrossEntropy(logits: Tensor, y: Tensor): Tensor {
  return neg(squeeze(gatherElements(logSoftmax(logits, -1), unsqueeze(y, -1), -1), -1));
}

/**
 * Wraps a loaded Switchyard tabular MLP as a {@link TabularEvalModel}: one compiled forward graph returning
 * logits, probabilities and the last hidden layer, and one compiled input-gradient graph (built lazily).
 *
 * @example
 * const { cfg, enc, model } = await loadTabularRun('runs/x');
 * const m = await switchyardTabular('runs/x', cfg, enc, model);
 */
export async function switchyardTabular(source: string, cfg: TabularRunConfig, enc: TabularEncoder, model: MLP, opts: ForwardOptions = {}): Promise<TabularEvalModel> {
  const F = enc.numFeatures;
  const C = enc.outputSize;
  const hidden = cfg.model.sizes.length > 2 ? cfg.model.sizes[cfg.model.sizes.length - 2] : F;
  const logitsOf = (m: Module, x: Tensor): Tensor => m.call(x);
  const spec = { x: { dtype: 'f32' as const, shape: ['batch', F] } };
  const fwd = await Forward.compile(model, (m, b) => {
    const logits = logitsOf(m, b.x);
    return { logits, probabilities: softmax(logits, -1), features: mlpPenultimate(m as MLP, b.x) };
  }, spec, opts);
  let gradFwd: Forward | null = null;
  const task = enc.task;
  const std = task === 'regression' ? (enc.target as { std: number; mean: number }) : null;
  const out: TabularEvalModel = {
    kind: 'tabular', source, task, classes: [...enc.classes], target: enc.target.column, featureNames: [...enc.featureNames], numFeatures: F,
    featureDim: hidden, outputKinds: { logits: 'logits', features: 'penultimate' }, encoder: enc,
    encode(table) {
      const e = enc.encode(table);
      let y = e.y;
      if (y && std) y = Float32Array.from(y as Float32Array, (v) => v * std.std + std.mean);
      return { x: e.x, rows: e.rows, y };
    },
    async predict(x, rows) {
      const logits = new Float32Array(rows * C);
      const probabilities = new Float32Array(rows * C);
      const features = new Float32Array(rows * hidden);
      for (let s = 0; s < rows; s += CHUNK) {
        const n = Math.min(CHUNK, rows - s);
        const r = await fwd.run({ x: { dtype: 'f32', shape: [n, F], data: x.subarray(s * F, (s + n) * F) } });
        logits.set(r.logits.data as Float32Array, s * C);
        probabilities.set(r.probabilities.data as Float32Array, s * C);
        features.set(r.features.data as Float32Array, s * hidden);
      }
      if (std) for (let i = 0; i < logits.length; i++) logits[i] = logits[i] * std.std + std.mean;
      return { logits, probabilities, features };
    },
    traced: { module: model, logits: logitsOf },
    async release() {
      await fwd.release();
      await gradFwd?.release();
    },
  };
  if (task === 'classification') {
    out.inputGradient = async (x, y, rows) => {
      gradFwd ??= await Forward.compile(model, (m, b) => {
        const logits = logitsOf(m, b.x);
        const [grad] = backward(summedCrossEntropy(logits, b.y), [b.x]);
        return { grad, loss: perExampleCrossEntropy(logits, b.y) };
      }, { ...spec, y: { dtype: 'i64', shape: ['batch'] } }, opts);
      const grad = new Float32Array(rows * F);
      const loss = new Float32Array(rows);
      for (let s = 0; s < rows; s += CHUNK) {
        const n = Math.min(CHUNK, rows - s);
        const r = await gradFwd.run({
          x: { dtype: 'f32', shape: [n, F], data: x.subarray(s * F, (s + n) * F) },
          y: { dtype: 'i64', shape: [n], data: BigInt64Array.from(y.subarray(s, s + n), (v) => BigInt(v)) },
        });
        grad.set(r.grad.data as Float32Array, s * F);
        loss.set(r.loss.data as Float32Array, s);
      }
      return { grad, loss };
    };
  }
  return out;
}
