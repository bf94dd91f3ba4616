/**
 * `switchyard train --model text-classifier`: a classifier head fine-tuned on labelled text, on top of a transformer
 * body that is either fresh or pretrained without labels (`--init-from` an encoder run, masked-token prediction, or a
 * GPT run, next-token prediction). Texts are tokenised with the body's tokenizer, cut or padded to the context, the
 * token states pooled (mean or first token) and classified by a linear head. `labelsFraction` trains on a seeded,
 * stratified share of the labelled rows: the few-labels regime that pretraining is for.
 *
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../core/graph.ts';
import { softmax } from '../core/ops/index.ts';
import { readTable } from '../data/readers/index.ts';
import { stratifiedSplit, stratifiedSubset } from '../data/split.ts';
import { toHuggingFaceJSON } from '../data/text/hf-tokenizer.ts';
import { ByteTokenizer, type Tokenizer } from '../data/text/tokenizer.ts';
import { GPT_PRESETS, type GptConfig } from '../models/gpt.ts';
import { TextClassifier, type TextPooling } from '../models/text-classifier.ts';
import { crossEntropy } from '../nn/functional.ts';
import type { Module } from '../nn/module.ts';
import { adamw } from '../optim/optimizer.ts';
import { warmupCosine } from '../optim/schedule.ts';
import { SwitchyardError } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/fs.ts';
import { Progress } from '../util/progress.ts';
import { checkRanges, COMMON_RANGES } from '../util/ranges.ts';
import { Rng } from '../util/rng.ts';
import { saveWeights } from './checkpoint.ts';
import { Forward } from './forward.ts';
import { type InitFromOptions, initModelFrom, type InitReport, type InitSource, initSourceOf } from './init-from.ts';
import { finishRunDir, prepareRunDir, RUN_FILES, type RunOptions } from './run-dir.ts';
import { type BatchSpec, divergence, TrainStep } from './step.ts';
import type { Dim } from '../core/shape.ts';

/**
 * Labelled texts in memory (one label per text).
 *
 * @example
 * const ex: TextExamples = { texts: ['win cash now', 'lunch at noon?'], labels: ['spam', 'ham'] };
 */
export interface TextExamples {
  texts: string[];
  labels: string[];
}

/** Options of {@link trainTextClassifier}. */
export interface TextClassifierTrainOptions extends Omit<RunOptions, 'resume' | 'stopAfter'> {
  /** Labelled texts: a table (CSV, TSV, JSONL, Parquet) with `textColumn` and `target`, or {@link TextExamples}. */
  data: string | TextExamples;
  /** Held-out labelled texts (default: a stratified `validFraction` of `data`, taken before `labelsFraction`). */
  valid?: string | TextExamples;
  /** Run directory to write. */
  out: string;
  /** Column of the label (default `label`). */
  target?: string;
  /** Column of the text (default `text`). */
  textColumn?: string;
  /** The body of a fresh model (default `GPT_PRESETS.tiny`, bidirectional); ignored with `initFrom`. */
  model?: GptConfig;
  /** Pretrained body: an encoder or GPT run (its tokenizer and architecture are used; its LM head is not). */
  initFrom?: InitFromOptions | InitSource;
  /** `mean` (default) or `cls` (the first token's state). */
  pooling?: TextPooling;
  /** Share of the training rows whose labels are used, drawn stratified by class and seeded (default 1). */
  labelsFraction?: number;
  /** Share of `data` held out when `valid` is absent (default 0.2). */
  validFraction?: number;
  /** Tokens per text (cut or padded); at most the body's context (default: the body's context). */
  context?: number;
  /** Passes over the labelled rows (default 10); `steps` overrides it. */
  epochs?: number;
  /** Optimizer updates in total (default: `epochs` passes). */
  steps?: number;
  /** Texts per update (default 16; fewer when fewer rows are labelled). */
  batchSize?: number;
  /** Peak learning rate (default 3e-4), after a warm-up of a tenth of the updates, then cosine decay. */
  lr?: number;
  /** AdamW decoupled weight decay (default 0.01). */
  weightDecay?: number;
  /** Seed of a fresh body, the head, the split, the labelled subset and the batches (default 0). */
  seed?: number;
}

/**
 * Ranges of the numeric options of {@link trainTextClassifier}, with the flag of each.
 *
 * @example
 * const spec = { 'labels-fraction': { type: 'number', ...TEXT_CLASSIFIER_RANGES.labelsFraction } };
 */
export const TEXT_CLASSIFIER_RANGES = {
  labelsFraction: { flag: '--labels-fraction', above: 0, max: 1 },
  validFraction: { flag: '--valid-fraction', above: 0, below: 1 },
  context: { flag: '--context', min: 1, integer: true },
  epochs: { flag: '--epochs', min: 1, integer: true },
  steps: { flag: '--steps', min: 1, integer: true },
  batchSize: { flag: '--batch-size', min: 1, integer: true },
  lr: { flag: '--lr', above: 0 },
  weightDecay: { flag: '--weight-decay', min: 0 },
  ...COMMON_RANGES,
} as const;

const DEFAULTS = {
  target: 'label', textColumn: 'text', pooling: 'mean' as TextPooling, labelsFraction: 1, validFraction: 0.2,
  epochs: 10, batchSize: 16, lr: 3e-4, weightDecay: 0.01, seed: 0,
};

/** The `config.json` of a text-classifier run. */
export interface TextClassifierRunConfig {
  format: 'switchyard.run';
  version: 1;
  kind: 'text-classifier';
  /** The body (the transformer stack; `tieWeights` true: no LM head). */
  gpt: GptConfig;
  tokenizer: object;
  classes: string[];
  pooling: TextPooling;
  /** Tokens per text, and the id that pads shorter texts (left out of the pooling). */
  context: number;
  padId: number;
  textColumn: string;
  target: string;
  train: Required<Pick<TextClassifierTrainOptions, 'labelsFraction' | 'validFraction' | 'epochs' | 'batchSize' | 'lr'>>
    & { weightDecay: number; seed: number; steps: number; data: string }
    & { rows: { train: number; labelled: number; valid: number } };
  initFrom?: InitReport;
  created: string;
}

/** Held-out loss and accuracy of a text classifier. */
export interface TextClassifierScore {
  loss: number;
  accuracy: number;
  rows: number;
}

/**
 * Token ids [n, T] (cut at T, padded with `padId`) and the text mask `keep` [n, T] (1 at text) of `texts`.
 *
 * @example
 * const { ids, keep } = encodeTexts(['win cash', 'hi'], new ByteTokenizer(), 128, 256);
 */
export function encodeTexts(
  texts: string[], tok: Tokenizer, context: number, padId: number,
): { ids: BigInt64Array; keep: Float32Array } {
  const ids = new BigInt64Array(texts.length * context).fill(BigInt(padId));
  const keep = new Float32Array(texts.length * context);
  texts.forEach((text, r) => {
    const t = tok.encode(text).subarray(0, context);
    for (let i = 0; i < t.length; i++) ids[r * context + i] = BigInt(t[i]);
    keep.fill(1, r * context, r * context + Math.max(1, t.length)); // an empty text pools its one pad token
  });
  return { ids, keep };
}

async function readExamples(data: string | TextExamples, textColumn: string, target: string): Promise<TextExamples> {
  if (typeof data !== 'string') return data;
  const table = await readTable(data);
  const col = (name: string, flag: string) => {
    const i = table.columns.indexOf(name);
    const hint = `pass ${flag} NAME; the columns are ${table.columns.join(', ')}`;
    if (i < 0) throw new SwitchyardError('E_USAGE', `${data}: no column '${name}' (${flag})`, hint);
    return i;
  };
  const [t, y] = [col(textColumn, '--text-column'), col(target, '--target')];
  const rows = table.rows.filter((r) => r[y] !== '');
  return { texts: rows.map((r) => r[t]), labels: rows.map((r) => r[y]) };
}

/**
 * The inputs of a text classifier's graph: token ids (i64) and the text mask (f32), both [batch, context].
 *
 * @example
 * const spec = textInputs('batch', 128); // a symbolic batch, as exported
 */
export function textInputs(batch: Dim, context: number): BatchSpec {
  return { ids: { dtype: 'i64', shape: [batch, context] }, keep: { dtype: 'f32', shape: [batch, context] } };
}

/**
 * The classifier's logits and class probabilities for ids and keep [B, T]: the inference graph (also exported).
 *
 * @example
 * const fwd = await Forward.compile(model, textClassifierOutputs, { ids: idsSpec, keep: keepSpec });
 */
export function textClassifierOutputs(m: Module, b: Record<string, Tensor>): Record<string, Tensor> {
  const logits = (m as TextClassifier).classify(b.ids, b.keep);
  return { logits, probabilities: softmax(logits, -1) };
}

/**
 * Class probabilities [n, classes] of encoded texts, through a compiled {@link textClassifierOutputs} of `batch` static
 * rows (a short last batch is padded with copies of its last row, which are dropped).
 *
 * @example
 * const probs = await classifyEncoded(fwd, encodeTexts(texts, tok, 128, 256), 128, 16, 2);
 */
export async function classifyEncoded(
  fwd: Pick<Forward, 'run'>, enc: { ids: BigInt64Array; keep: Float32Array }, context: number, batch: number,
  classes: number,
): Promise<Float32Array> {
  const n = enc.keep.length / context;
  const probs = new Float32Array(n * classes);
  for (let s = 0; s < n; s += batch) {
    const rows = Array.from({ length: batch }, (_, i) => Math.min(s + i, n - 1));
    const ids = gather(enc.ids, rows, context);
    const keep = gather(enc.keep, rows, context);
    const out = await fwd.run({
      ids: { dtype: 'i64', shape: [batch, context], data: ids },
      keep: { dtype: 'f32', shape: [batch, context], data: keep },
    });
    probs.set((out.probabilities.data as Float32Array).subarray(0, Math.min(batch, n - s) * classes), s * classes);
  }
  return probs;
}

function gather<T extends BigInt64Array | Float32Array>(src: T, rows: ArrayLike<number>, width: number): T {
  const out = new (src.constructor as new (n: number) => T)(rows.length * width);
  for (let i = 0; i < rows.length; i++) {
    out.set(src.subarray(rows[i] * width, (rows[i] + 1) * width) as never, i * width);
  }
  return out;
}

/** Mean cross-entropy and accuracy of probabilities [n, classes] against class indices. */
function score(probs: Float32Array, y: Int32Array, classes: number): TextClassifierScore {
  let loss = 0;
  let right = 0;
  for (let i = 0; i < y.length; i++) {
    const row = probs.subarray(i * classes, (i + 1) * classes);
    loss -= Math.log(Math.max(row[y[i]], 1e-12));
    if (row.indexOf(Math.max(...row)) === y[i]) right++;
  }
  return { loss: loss / Math.max(1, y.length), accuracy: right / Math.max(1, y.length), rows: y.length };
}

/** The body, tokenizer and pad id of a fine-tune: from the pretrained source, else fresh (with a pad token). */
function bodyOf(o: Resolved, source: InitSource | undefined) {
  if (!source) {
    const tok = new ByteTokenizer();
    const base = o.model ?? { ...GPT_PRESETS.tiny, causal: false };
    return { tok, gpt: { ...base, vocab: tok.vocabSize + 1 }, padId: tok.vocabSize };
  }
  if (!source.gpt || !source.tokenizer || source.run === undefined) {
    const hint = 'pretrain with switchyard train --model encoder (or --model gpt) and pass that run directory';
    const what = `${source.options.path}: --init-from of a text classifier needs an encoder or GPT run`;
    throw new SwitchyardError('E_USAGE', what, hint);
  }
  // An encoder pads with its mask token (what it learned to read as "unknown"); a GPT's pads come after the text,
  // so causal attention never lets text see them, and the pooling leaves them out.
  const masking = source.run.masking as { maskId: number } | undefined;
  return { tok: source.tokenizer.tokenizer, gpt: source.gpt as GptConfig, padId: masking?.maskId ?? 0 };
}

type Resolved = typeof DEFAULTS & TextClassifierTrainOptions;

/** The labelled data of a fine-tune: classes, every row's class, the training and labelled rows, the held-out set. */
async function labelledData(o: Resolved) {
  const all = await readExamples(o.data, o.textColumn, o.target);
  const where = typeof o.data === 'string' ? o.data : 'data';
  const classes = [...new Set(all.labels)].sort();
  if (classes.length < 2) {
    const what = `${where}: ${classes.length} class(es) in --target ${o.target}`;
    throw new SwitchyardError('E_USAGE', what, 'a classifier needs at least two labels');
  }
  const index = (labels: string[], from: string) => Int32Array.from(labels, (l) => {
    const c = classes.indexOf(l);
    const what = `${from}: label '${l}' does not occur in the training data`;
    if (c < 0) throw new SwitchyardError('E_LABEL', what, `the classes are ${classes.join(', ')}`);
    return c;
  });
  const y = index(all.labels, where);
  let train: Int32Array = Int32Array.from(y.keys());
  let valid: { texts: string[]; y: Int32Array };
  if (o.valid) {
    const v = await readExamples(o.valid, o.textColumn, o.target);
    valid = { texts: v.texts, y: index(v.labels, typeof o.valid === 'string' ? o.valid : 'valid') };
  } else {
    const split = stratifiedSplit(y, o.validFraction, new Rng(o.seed));
    train = split.train;
    valid = { texts: Array.from(split.valid, (i) => all.texts[i]), y: Int32Array.from(split.valid, (i) => y[i]) };
  }
  // The labelled subset: drawn from the training rows only, stratified, with its own stream of the seed.
  const picked = stratifiedSubset(Int32Array.from(train, (i) => y[i]), o.labelsFraction, new Rng(o.seed + 7919));
  return { texts: all.texts, classes, y, train, labelled: Int32Array.from(picked, (k) => train[k]), valid };
}

/** Copies the source without its LM head (`head.*`, reported as ignored): a classifier has none. */
function withoutLmHead(source: InitSource): InitSource {
  const head = [...source.tensors.keys()].filter((n) => n.startsWith('head.'));
  const tensors = new Map([...source.tensors].filter(([n]) => !n.startsWith('head.')));
  return { ...source, tensors, ignored: [...source.ignored, ...head] };
}

/**
 * Runs `steps` updates of cross-entropy on the labelled rows of `enc` (batches of `batch`, 8 updates per ONNX Runtime
 * call) and returns the seconds spent. Batches walk a fresh seeded permutation of the labelled rows per pass, so a
 * small subset still fills each batch.
 */
async function fineTune(
  model: TextClassifier, enc: { ids: BigInt64Array; keep: Float32Array }, y: Int32Array, labelled: Int32Array,
  o: Resolved, batch: number, steps: number,
): Promise<number> {
  const T = enc.ids.length / y.length;
  const spec: BatchSpec = { ...textInputs(batch, T), y: { dtype: 'i64', shape: [batch] } };
  const loss = (m: Module, b: Record<string, Tensor>) => {
    return crossEntropy((m as TextClassifier).classify(b.ids, b.keep), b.y);
  };
  const optimizer = adamw({ weightDecay: o.weightDecay });
  const { threads, seed } = o;
  const step = await TrainStep.compile({ model, optimizer, batch: spec, loss, clipNorm: 1, threads, seed });
  const schedule = warmupCosine({ lr: o.lr, warmup: Math.floor(steps / 10), total: steps, minLr: o.lr / 10 });
  const progress = new Progress({ total: steps, label: 'fine-tune', unit: 'step', ...o.progress });
  const perms = new Map<number, Int32Array>();
  const rowAt = (p: number) => {
    const pass = Math.floor(p / labelled.length);
    if (!perms.has(pass)) {
      perms.set(pass, new Rng(o.seed * 1_000_003 + pass + 1).shuffle(labelled.slice()) as Int32Array);
    }
    return perms.get(pass)![p % labelled.length];
  };
  const t0 = performance.now();
  while (step.updates < steps) {
    const k = Math.min(8, steps - step.updates);
    const rows = Array.from({ length: k * batch }, (_, i) => rowAt(step.updates * batch + i));
    const feeds = {
      ids: { dtype: 'i64' as const, shape: [k, batch, T], data: gather(enc.ids, rows, T) },
      keep: { dtype: 'f32' as const, shape: [k, batch, T], data: gather(enc.keep, rows, T) },
      y: { dtype: 'i64' as const, shape: [k, batch], data: BigInt64Array.from(rows, (r) => BigInt(y[r])) },
    };
    const r = await step.run(feeds, Array.from({ length: k }, (_, u) => schedule(step.updates + u)));
    if (r.nonFinite !== null) {
      const hint = `lower the learning rate (e.g. --lr ${(o.lr / 3).toPrecision(2)})`;
      throw new SwitchyardError('E_NONFINITE', `fine-tuning diverged: ${divergence(r)}`, hint);
    }
    progress.tick(k, { loss: r.losses[k - 1].toFixed(3) });
  }
  progress.done();
  await step.release();
  return (performance.now() - t0) / 1000;
}

/** What {@link trainTextClassifier} returns. */
export interface TextClassifierSummary {
  out: string;
  /** Loss and accuracy on the held-out rows. */
  valid: TextClassifierScore;
  rows: TextClassifierRunConfig['train']['rows'];
  steps: number;
  params: number;
  /** What `initFrom` loaded, left fresh and ignored. */
  init?: InitReport;
}

/**
 * Fine-tunes (or trains from scratch) a text classifier and writes its run directory: `config.json` (with the
 * labelled share and `initFrom`), `model.safetensors`, `tokenizer.json`, `metrics.json` and a manifest.
 *
 * @example
 * await trainTextClassifier({ data: 'mail.jsonl', out: 'runs/spam',
 *   initFrom: { path: 'runs/enc' }, labelsFraction: 0.1 });
 */
export async function trainTextClassifier(opts: TextClassifierTrainOptions): Promise<TextClassifierSummary> {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULTS, ...given } as Resolved;
  checkRanges(o, TEXT_CLASSIFIER_RANGES);
  const source = await initSourceOf(o, ['encoder', 'gpt']);
  const { tok, gpt, padId } = bodyOf(o, source);
  const T = Math.min(o.context ?? gpt.context, gpt.context);
  const d = await labelledData(o);
  const batch = Math.min(o.batchSize, d.labelled.length);
  const steps = o.steps ?? o.epochs * Math.ceil(d.labelled.length / batch);
  const target = await prepareRunDir(o.out, o);
  const model = new TextClassifier(gpt, d.classes.length, o.pooling).init(o.seed);
  const log = o.progress?.enabled !== false;
  const init = source && initModelFrom(model, withoutLmHead(source), log, source.tokenizer?.file, /^classifier\./);
  const seconds = await fineTune(model, encodeTexts(d.texts, tok, T, padId), d.y, d.labelled, o, batch, steps);
  const fwd = await Forward.compile(model, textClassifierOutputs, textInputs(batch, T), { threads: o.threads });
  const probs = await classifyEncoded(fwd, encodeTexts(d.valid.texts, tok, T, padId), T, batch, d.classes.length);
  const valid = score(probs, d.valid.y, d.classes.length);
  await fwd.release();
  const rows = { train: d.train.length, labelled: d.labelled.length, valid: d.valid.y.length };
  const train = {
    labelsFraction: o.labelsFraction, validFraction: o.validFraction, epochs: o.epochs, batchSize: batch, lr: o.lr,
    weightDecay: o.weightDecay, seed: o.seed, steps, data: typeof o.data === 'string' ? o.data : '(in memory)', rows,
  };
  const cfg: TextClassifierRunConfig = {
    format: 'switchyard.run', version: 1, kind: 'text-classifier', gpt: { ...gpt, tieWeights: true },
    tokenizer: tok.toJSON(), classes: d.classes, pooling: o.pooling, context: T, padId, textColumn: o.textColumn,
    target: o.target, train, ...(init ? { initFrom: init } : {}), created: new Date().toISOString(),
  };
  const dir = target.work;
  await mkdir(dir, { recursive: true });
  await writeJsonAtomic(join(dir, RUN_FILES.config), cfg);
  await writeJsonAtomic(join(dir, RUN_FILES.tokenizer), toHuggingFaceJSON(tok));
  await saveWeights(join(dir, RUN_FILES.model), model.stateDict(), { updates: String(steps) });
  const params = model.parameterCount();
  const examplesPerSecond = (steps * batch) / seconds;
  const summary = { valid, rows, steps, examplesPerSecond, params, ...(init ? { init } : {}) };
  await writeJsonAtomic(join(dir, RUN_FILES.summary), summary);
  await finishRunDir(target);
  return { out: o.out, valid, rows, steps, params, ...(init ? { init } : {}) };
}
