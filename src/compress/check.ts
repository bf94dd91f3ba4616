/**
 * Evidence for a compressed model: the float32 and the quantized ONNX models run side by side on the same
 * inputs, and the differences are measured where a user feels them.
 *
 * - Switchyard tabular exports: rows of a CSV (or any table `readTable` reads) encoded with the model's own
 *   encoder; per-output max/mean |difference|, label agreement, and accuracy (classification) or RMSE
 *   (regression) of both when the target column is present.
 * - Switchyard language-model exports (the KV-cached decode step): teacher-forced decoding of a text with the
 *   model's tokenizer; mean loss (nats/token) of both and top-1 next-token agreement.
 * - Any other model with one float32 [N, F] input: seeded standard-normal inputs, output differences, and the
 *   agreement of the top class of its class-score output (a float [N, C] output, by name `prob…`/`logit…` first).
 *
 * @module
 */
import * as ort from 'onnxruntime-node';
import { readTable } from '../data/readers/index.ts';
import { TabularEncoder } from '../data/tabular.ts';
import { createUserSession, runUserSession, sessionOptions } from '../runtime/session.ts';
import { LmSession, type LmState } from '../train/lm-session.ts';
import { argmaxRows, crossEntropyAt } from '../util/scores.ts';
import { SwitchyardError } from '../util/errors.ts';
import { Progress, type ProgressOptions } from '../util/progress.ts';
import { Rng } from '../util/rng.ts';

/** Differences of one float output over the checked inputs. */
export interface OutputDiff {
  maxAbsDiff: number;
  meanAbsDiff: number;
}

/** What {@link checkQuantized} measured. */
export interface QuantizeCheck {
  /** `data`: rows of the given table; `text`: tokens of the given text; `random`: seeded normal inputs. */
  inputs: 'data' | 'text' | 'random';
  /** Rows (tabular, random) or predicted tokens (language model). */
  count: number;
  outputs: Record<string, OutputDiff>;
  /** Share of rows (tokens) where the predicted label (top-1 token) is the same. */
  agreement?: number;
  /** Classification with the target present. */
  accuracy?: { float32: number; quantized: number };
  /** Regression with the target present, in the target's units. */
  rmse?: { float32: number; quantized: number };
  /** Language model: mean cross-entropy of the next token, nats per token. */
  loss?: { float32: number; quantized: number };
}

/** Options for {@link checkQuantized}. */
export interface CheckOptions {
  /** Table (tabular models) or text (language models) to run; without it, seeded random inputs. */
  data?: { table?: string; text?: string };
  /** Most rows or tokens to run (default 2000 rows, 1024 tokens). */
  limit?: number;
  threads?: number;
  /** Progress of the language-model check on stderr (tokens); see {@link ProgressOptions}. */
  progress?: Partial<ProgressOptions>;
  /** The float32 model's file, named in errors from ONNX Runtime (default `the float32 model`). */
  source?: string;
}

type Feeds = Record<string, ort.Tensor>;

/** The names under which ORT errors of the float32 model and of its int8 copy are reported. */
function modelNames(o: CheckOptions): [string, string] {
  const source = o.source ?? 'the float32 model';
  return [source, `the int8 copy of ${source}`];
}

async function runBoth(
  a: ort.InferenceSession, b: ort.InferenceSession, feeds: Feeds, o: CheckOptions,
): Promise<[ort.InferenceSession.ReturnType, ort.InferenceSession.ReturnType]> {
  const [fa, fb] = modelNames(o);
  return [await runUserSession(a, fa, feeds), await runUserSession(b, fb, feeds)];
}

/** Accumulates |a - b| over float outputs. */
class DiffAcc {
  readonly d: Record<string, { max: number; sum: number; n: number }> = {};
  add(name: string, a: Float32Array, b: Float32Array): void {
    const s = (this.d[name] ??= { max: 0, sum: 0, n: 0 });
    for (let i = 0; i < a.length; i++) {
      const e = Math.abs(a[i] - b[i]);
      if (e > s.max || Number.isNaN(e)) s.max = Number.isNaN(e) ? Infinity : e;
      s.sum += e;
    }
    s.n += a.length;
  }
  /** Every float output the two results share. */
  addOutputs(names: readonly string[], a: ort.InferenceSession.ReturnType, b: ort.InferenceSession.ReturnType): this {
    for (const name of names) if (a[name].type === 'float32') this.add(name, a[name].data as Float32Array, b[name].data as Float32Array);
    return this;
  }
  result(): Record<string, OutputDiff> {
    return Object.fromEntries(Object.entries(this.d).map(([k, s]) => [k, { maxAbsDiff: s.max, meanAbsDiff: s.n ? s.sum / s.n : 0 }]));
  }
}

/** Share of positions where `a` and `b` hold the same class. */
function sameShare(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) n++;
  return a.length ? n / a.length : 0;
}

async function checkTabular(meta: Record<string, string>, fl: ort.InferenceSession, q: ort.InferenceSession, o: CheckOptions): Promise<QuantizeCheck> {
  const enc = TabularEncoder.fromJSON(JSON.parse(meta['switchyard.encoder']));
  const limit = o.limit ?? 2000;
  let x: Float32Array;
  let rows: number;
  let y: Int32Array | Float32Array | undefined;
  if (o.data?.table) {
    const table = await readTable(o.data.table, { limit });
    const e = enc.encode(table);
    ({ x, rows, y } = e);
    if (rows === 0) throw new SwitchyardError('E_DATA_EMPTY', `${o.data.table}: no rows to check the quantized model on`, 'pass a table with rows, e.g. the test split');
  } else {
    rows = Math.min(limit, 256);
    x = randomInputs(rows * enc.numFeatures);
  }
  const feeds = { [fl.inputNames[0]]: new ort.Tensor('float32', x, [rows, enc.numFeatures]) };
  const [a, b] = await runBoth(fl, q, feeds, o);
  const r: QuantizeCheck = { inputs: o.data?.table ? 'data' : 'random', count: rows, outputs: new DiffAcc().addOutputs(fl.outputNames, a, b).result() };
  if (enc.task === 'classification') {
    const C = enc.outputSize;
    const pa = argmaxRows(a.probabilities.data as Float32Array, C);
    const pb = argmaxRows(b.probabilities.data as Float32Array, C);
    r.agreement = sameShare(pa, pb);
    if (y) r.accuracy = { float32: sameShare(pa, y), quantized: sameShare(pb, y) };
  } else if (y) {
    const truth = enc.decodeTarget(y);
    const rmse = (p: Float32Array) => Math.sqrt(p.reduce((s, v, i) => s + (v - truth[i]) ** 2, 0) / rows);
    r.rmse = { float32: rmse(a.prediction.data as Float32Array), quantized: rmse(b.prediction.data as Float32Array) };
  }
  return r;
}

function randomInputs(n: number): Float32Array {
  const rng = new Rng(0);
  return Float32Array.from({ length: n }, () => rng.normal());
}

async function checkLm(floatBytes: Uint8Array, quantizedBytes: Uint8Array, o: CheckOptions): Promise<QuantizeCheck> {
  const fl = await LmSession.fromOnnx(floatBytes, 'float32 model', { threads: o.threads });
  const q = await LmSession.fromOnnx(quantizedBytes, 'quantized model', { threads: o.threads });
  try {
    const { tok, gpt } = fl;
    const limit = o.limit ?? 1024;
    let ids: Int32Array;
    if (o.data?.text !== undefined) {
      ids = tok.encode(o.data.text).subarray(0, limit + 1);
      if (ids.length < 2) throw new SwitchyardError('E_DATA_EMPTY', 'the check text has fewer than 2 tokens', 'pass a longer text with --data');
    } else {
      const rng = new Rng(0);
      ids = Int32Array.from({ length: Math.min(limit, 256) + 1 }, () => rng.int(tok.vocabSize));
    }
    const diff = new DiffAcc();
    let agree = 0;
    let lossA = 0;
    let lossB = 0;
    let a: LmState | null = null;
    let b: LmState | null = null;
    const bar = new Progress({ total: ids.length - 1, label: 'check', unit: 'tok', ...o.progress });
    for (let t = 0; t + 1 < ids.length; t++) {
      // A new window (empty cache) every `context` tokens.
      const fresh = t % gpt.context === 0;
      a = fresh ? await fl.prefill([ids[t]], false) : await fl.step(a!, ids[t]);
      b = fresh ? await q.prefill([ids[t]], false) : await q.step(b!, ids[t]);
      diff.add('logits', a.logits, b.logits);
      if (argmaxRows(a.logits, a.logits.length)[0] === argmaxRows(b.logits, b.logits.length)[0]) agree++;
      lossA += crossEntropyAt(a.logits, ids[t + 1]);
      lossB += crossEntropyAt(b.logits, ids[t + 1]);
      bar.tick(1);
    }
    bar.done();
    const n = ids.length - 1;
    return { inputs: o.data?.text !== undefined ? 'text' : 'random', count: n, outputs: diff.result(), agreement: agree / n, loss: { float32: lossA / n, quantized: lossB / n } };
  } finally {
    await fl.close();
    await q.close();
  }
}

async function checkGeneric(fl: ort.InferenceSession, q: ort.InferenceSession, o: CheckOptions): Promise<QuantizeCheck> {
  const inp = fl.inputMetadata[0];
  if (fl.inputMetadata.length !== 1 || !inp.isTensor || inp.type !== 'float32' || inp.shape.length !== 2 || typeof inp.shape[1] !== 'number') {
    throw new SwitchyardError('E_MODEL_INPUT', `the model's inputs (${fl.inputNames.join(', ')}) are not one float32 [N, F] matrix, and it carries no Switchyard metadata to build inputs from`, 'check it with your own data, e.g. switchyard compare --baseline float.onnx --candidate int8.onnx');
  }
  if (o.data) throw new SwitchyardError('E_USAGE', '--data needs a Switchyard export (its encoder or tokenizer says how to read the data)', 'leave --data out to check on random inputs, or compare the two models with switchyard compare');
  const F = inp.shape[1];
  const rows = Math.min(o.limit ?? 256, 256);
  const [a, b] = await runBoth(fl, q, { [inp.name]: new ort.Tensor('float32', randomInputs(rows * F), [rows, F]) }, o);
  const r: QuantizeCheck = { inputs: 'random', count: rows, outputs: new DiffAcc().addOutputs(fl.outputNames, a, b).result() };
  // Class scores: a float [N, C >= 2] output, by name when there are several (as eval picks them).
  const scores = fl.outputNames.filter((n) => a[n].type === 'float32' && a[n].dims.length === 2 && a[n].dims[1] >= 2);
  const pick = scores.find((n) => /prob/i.test(n)) ?? scores.find((n) => /logit/i.test(n)) ?? scores[0];
  if (pick) {
    const C = a[pick].dims[1];
    r.agreement = sameShare(argmaxRows(a[pick].data as Float32Array, C), argmaxRows(b[pick].data as Float32Array, C));
  }
  return r;
}

/**
 * Runs the float32 model and its quantized copy on the same inputs and measures how far apart they are
 * (see the module documentation for which inputs).
 *
 * @example
 * const c = await checkQuantized(floatBytes, int8Bytes, metadata, { data: { table: 'test.csv' } });
 * c.agreement; // 0.995
 */
export async function checkQuantized(floatBytes: Uint8Array, quantizedBytes: Uint8Array, metadata: Record<string, string>, o: CheckOptions = {}): Promise<QuantizeCheck> {
  if (metadata['switchyard.kind'] === 'gpt-decode') return checkLm(floatBytes, quantizedBytes, o);
  const opts = sessionOptions({ threads: o.threads });
  const [fa, fb] = modelNames(o);
  const fl = await createUserSession(floatBytes, fa, opts);
  const q = await createUserSession(quantizedBytes, fb, opts).catch(async (e: unknown) => {
    await fl.release();
    throw e;
  });
  try {
    if (metadata['switchyard.encoder']) return await checkTabular(metadata, fl, q, o);
    return await checkGeneric(fl, q, o);
  } finally {
    await fl.release();
    await q.release();
  }
}
