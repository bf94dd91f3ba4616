/**
 * `switchyard train --model conv-classifier`: a {@link ConvClassifier} trained on labelled images, from scratch or
 * from a self-supervised conv encoder (`--init-from` a `conv-encoder` run: SimCLR or masked-autoencoder
 * pretraining, src/train/image-ssl.ts). Two ways to use the pretrained encoder: fine-tune every weight (default), or
 * a linear probe (`freezeEncoder`): the encoder's features are computed once and only the linear head is trained.
 * `labelsFraction` trains on a seeded, stratified share of the labelled images: the few-labels regime that
 * pretraining is for.
 *
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../core/graph.ts';
import { reshape } from '../core/ops/index.ts';
import { gatherRows, gatherValues } from '../data/batches.ts';
import type { DatasetSplitRecord, ImageBatch } from '../data/images/index.ts';
import { stratifiedSplit, stratifiedSubset } from '../data/split.ts';
import { ConvClassifier, type ConvClassifierConfig, MNIST_CLASSIFIER_CONFIG } from '../models/conv-classifier.ts';
import { SSL_HEAD_TENSORS } from '../models/conv-pretrain.ts';
import { Linear } from '../nn/layers.ts';
import { Module } from '../nn/module.ts';
import { SwitchyardError } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/fs.ts';
import { checkRanges, COMMON_RANGES } from '../util/ranges.ts';
import { Rng } from '../util/rng.ts';
import { RUN_FILES, saveWeights } from './checkpoint.ts';
import { readDiffusionImages } from './diffusion-data.ts';
import { runConvClassifier, trainConvClassifier } from './image-classifier.ts';
import type { ImageSslRunConfig } from './image-ssl.ts';
import { type InitFromOptions, initModelFrom, type InitReport, type InitSource, initSourceOf } from './init-from.ts';
import { finishRunDir, prepareRunDir, type RunOptions } from './run-dir.ts';

/** Options of {@link trainImageClassifier}. */
export interface ImageClassifierTrainOptions extends Omit<RunOptions, 'resume' | 'stopAfter'> {
  /** Labelled images: `mnist`, `fashion-mnist` (their training split) or a folder with one sub-folder per class. */
  data: string;
  /** Held-out labelled images, e.g. `mnist:test` (default: a stratified `validFraction` of `data`). */
  valid?: string;
  /** Run directory to write. */
  out: string;
  /** A `conv-encoder` run (or an `image-classifier` run) whose encoder the classifier starts from. */
  initFrom?: InitFromOptions | InitSource;
  /** Linear probe: keep the encoder as it is and train only the head on its features (default false). */
  freezeEncoder?: boolean;
  /** Share of the training images whose labels are used, drawn stratified by class and seeded (default 1). */
  labelsFraction?: number;
  /** Share of `data` held out when `valid` is absent (default 0.2). */
  validFraction?: number;
  /** Passes over the labelled images (default 10); `steps` overrides it. */
  epochs?: number;
  /** Optimizer updates in total (default: `epochs` passes). */
  steps?: number;
  /** Images per update (default 64; fewer when fewer images are labelled). */
  batchSize?: number;
  /** Peak learning rate (default 2e-3; warm-up a twentieth of the updates, cosine to a tenth). */
  lr?: number;
  /** AdamW decoupled weight decay (default 0.01). */
  weightDecay?: number;
  /** Train on at most this many images of `data` (default: all). */
  limit?: number;
  /** Seed of the split, the labelled subset, a fresh encoder, the head and the batches (default 0). */
  seed?: number;
}

/**
 * Ranges of the numeric options of {@link trainImageClassifier}, with the flag of each.
 *
 * @example
 * const spec = { 'labels-fraction': { type: 'number', ...IMAGE_CLASSIFIER_RANGES.labelsFraction } };
 */
export const IMAGE_CLASSIFIER_RANGES = {
  labelsFraction: { flag: '--labels-fraction', above: 0, max: 1 },
  validFraction: { flag: '--valid-fraction', above: 0, below: 1 },
  epochs: { flag: '--epochs', min: 1, integer: true },
  steps: { flag: '--steps', min: 1, integer: true },
  batchSize: { flag: '--batch-size', min: 1, max: 4096, integer: true },
  lr: { flag: '--lr', above: 0 },
  weightDecay: { flag: '--weight-decay', min: 0 },
  limit: { flag: '--limit', min: 2, integer: true },
  ...COMMON_RANGES,
} as const;

const DEFAULTS = {
  freezeEncoder: false, labelsFraction: 1, validFraction: 0.2, epochs: 10, batchSize: 64, lr: 2e-3,
  weightDecay: 0.01, seed: 0,
};
type Resolved = typeof DEFAULTS & ImageClassifierTrainOptions;

/** The `config.json` of an image-classifier run. */
export interface ImageClassifierRunConfig {
  format: 'switchyard.run';
  version: 1;
  kind: 'image-classifier';
  conv: ConvClassifierConfig;
  classes: string[];
  train: Required<Pick<ImageClassifierTrainOptions, 'freezeEncoder' | 'labelsFraction' | 'validFraction' | 'lr'>>
    & { data: string; valid: string | null; steps: number; batchSize: number; weightDecay: number; seed: number }
    & { rows: { train: number; labelled: number; valid: number } };
  initFrom?: InitReport;
  dataset?: DatasetSplitRecord;
  created: string;
}

/** What {@link trainImageClassifier} returns. */
export interface ImageClassifierSummary {
  out: string;
  /** Held-out loss and accuracy, and the predicted class of every held-out image (in order). */
  valid: { loss: number; accuracy: number; rows: number; predictions: Int32Array; labels: Int32Array };
  rows: ImageClassifierRunConfig['train']['rows'];
  steps: number;
  params: number;
  /** What `initFrom` loaded, left fresh and ignored. */
  init?: InitReport;
}

/** A linear head on precomputed features, fed as [N, features, 1, 1] images (the shape the trainer feeds). */
class LinearProbe extends Module {
  readonly head: Linear;
  constructor(readonly features: number, classes: number) {
    super();
    this.head = new Linear(features, classes);
  }
  forward(x: Tensor): Tensor {
    return this.head.call(reshape(x, [x.shape[0], this.features])); // [N, classes]
  }
}

/** Images (pixels in [0, 1], 28×28) and their labels as strings. */
async function readLabelled(data: string, o: Resolved, channels?: number, limit?: number) {
  const d = await readDiffusionImages(data, { size: MNIST_CLASSIFIER_CONFIG.imageSize, channels, limit, unit: true });
  if (!d.labels) {
    const hint = 'put the images in one sub-folder per class, or pass mnist / fashion-mnist';
    throw new SwitchyardError('E_USAGE', `--data ${data}: the images have no labels`, hint);
  }
  const images: ImageBatch = { n: d.n, channels: d.image[0], height: d.image[1], width: d.image[2], data: d.x0 };
  return { images, labels: d.labels, dataset: d.dataset, seed: o.seed };
}

/** The rows `rows` of a batch of images. */
function subsetImages(b: ImageBatch, rows: Int32Array): ImageBatch {
  return { ...b, n: rows.length, data: gatherRows(b.data, b.channels * b.height * b.width, rows) };
}

/** The classifier's architecture: the source encoder's with this data's classes, else the MNIST reference's. */
function classifierConfig(source: InitSource | undefined, channels: number, classes: number): ConvClassifierConfig {
  if (!source) return { ...MNIST_CLASSIFIER_CONFIG, channels, classes };
  type EncoderOf = { encoder?: ImageSslRunConfig['encoder']; conv?: ConvClassifierConfig };
  const run = source.run as unknown as EncoderOf | undefined;
  const encoder = run?.encoder ?? run?.conv;
  if (!encoder) {
    const hint = 'pretrain with switchyard train --model conv-encoder and pass that run directory';
    const what = `${source.options.path}: --init-from of an image classifier needs a conv-encoder run`;
    throw new SwitchyardError('E_USAGE', what, hint);
  }
  if (encoder.channels !== channels) {
    const what = `${source.options.path}: the encoder takes ${encoder.channels} channel(s), the images ${channels}`;
    throw new SwitchyardError('E_INIT_MISMATCH', what, 'pretrain on images of the same kind (grey or RGB)');
  }
  const { widths, groups, features, imageSize } = encoder;
  return { channels, imageSize, widths, groups, features, classes };
}

/** Copies the source without its pretraining head or old classifier head (reported as ignored). */
function encoderOnly(source: InitSource): InitSource {
  const drop = (n: string) => SSL_HEAD_TENSORS.test(n) || n.startsWith('head.');
  const tensors = new Map([...source.tensors].filter(([n]) => !drop(n)));
  return { ...source, tensors, ignored: [...source.ignored, ...[...source.tensors.keys()].filter(drop)] };
}

/** Mean cross-entropy, accuracy and arg-max class of logits [n, classes] against class ids. */
function score(logits: Float32Array, y: Int32Array, classes: number) {
  let loss = 0;
  const predictions = new Int32Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    loss += lse - row[y[i]];
    predictions[i] = row.indexOf(max);
  }
  const right = predictions.reduce((s, p, i) => s + (p === y[i] ? 1 : 0), 0);
  return { loss: loss / y.length, accuracy: right / y.length, rows: y.length, predictions, labels: y };
}

/**
 * Trains (fine-tunes, or probes with `freezeEncoder`) a conv image classifier and writes its run directory:
 * `config.json` (kind `image-classifier`, with the labelled share and `initFrom`), `model.safetensors`, `metrics.json`
 * and a manifest.
 *
 * @example
 * await trainImageClassifier({ data: 'mnist', valid: 'mnist:test', out: 'runs/cls',
 *   initFrom: { path: 'runs/simclr' }, labelsFraction: 0.01, steps: 100 });
 */
export async function trainImageClassifier(opts: ImageClassifierTrainOptions): Promise<ImageClassifierSummary> {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULTS, ...given } as Resolved;
  checkRanges(o, IMAGE_CLASSIFIER_RANGES);
  const source = await initSourceOf(o, ['conv-encoder', 'image-classifier']);
  const all = await readLabelled(o.data, o, undefined, o.limit);
  const classes = [...new Set(all.labels)].sort();
  if (classes.length < 2) {
    const what = `--data ${o.data}: ${classes.length} class(es)`;
    throw new SwitchyardError('E_USAGE', what, 'a classifier needs at least two labels');
  }
  const index = (labels: string[], from: string) => Int32Array.from(labels, (l) => {
    const c = classes.indexOf(l);
    if (c >= 0) return c;
    const what = `${from}: label '${l}' does not occur in --data`;
    throw new SwitchyardError('E_LABEL', what, `the classes are ${classes.join(', ')}`);
  });
  const y = index(all.labels, o.data);
  let train: Int32Array = Int32Array.from(y.keys());
  let valid: { images: ImageBatch; y: Int32Array };
  if (o.valid) {
    const v = await readLabelled(o.valid, o, all.images.channels);
    valid = { images: v.images, y: index(v.labels, o.valid) };
  } else {
    const split = stratifiedSplit(y, o.validFraction, new Rng(o.seed));
    train = split.train;
    valid = { images: subsetImages(all.images, split.valid), y: gatherValues(y, split.valid) };
  }
  // The labelled subset: drawn from the training rows only, stratified, with its own stream of the seed.
  const picked = stratifiedSubset(gatherValues(y, train), o.labelsFraction, new Rng(o.seed + 7919));
  const labelled = Int32Array.from(picked, (k) => train[k]);
  const cfg = classifierConfig(source, all.images.channels, classes.length);
  const target = await prepareRunDir(o.out, o);
  const model = new ConvClassifier(cfg).init(o.seed);
  const init = source && initModelFrom(model, encoderOnly(source), o.progress?.enabled !== false, undefined, /^head\./);
  const batchSize = Math.min(o.batchSize, labelled.length);
  const steps = o.steps ?? o.epochs * Math.ceil(labelled.length / batchSize);
  const recipe = { seed: o.seed, steps, batchSize, lr: o.lr, weightDecay: o.weightDecay, threads: o.threads };
  const images = subsetImages(all.images, labelled);
  const labels = gatherValues(y, labelled);
  if (o.freezeEncoder) {
    // The encoder is fixed, so its features are computed once; only the head learns.
    const { features } = await runConvClassifier(model, images, 250, o.threads);
    const probe = new LinearProbe(cfg.features, cfg.classes).init(o.seed);
    const feats: ImageBatch = { n: images.n, channels: cfg.features, height: 1, width: 1, data: features };
    await trainConvClassifier(probe, feats, labels, recipe, o.progress);
    model.head.weight.data = probe.head.weight.data;
    model.head.bias!.data = probe.head.bias!.data;
  } else {
    await trainConvClassifier(model, images, labels, recipe, o.progress);
  }
  const { logits } = await runConvClassifier(model, valid.images, 250, o.threads);
  const v = score(logits, valid.y, classes.length);
  const rows = { train: train.length, labelled: labelled.length, valid: valid.y.length };
  const runCfg: ImageClassifierRunConfig = {
    format: 'switchyard.run', version: 1, kind: 'image-classifier', conv: cfg, classes,
    train: {
      data: o.data, valid: o.valid ?? null, freezeEncoder: o.freezeEncoder, labelsFraction: o.labelsFraction,
      validFraction: o.validFraction, steps, batchSize, lr: o.lr, weightDecay: o.weightDecay, seed: o.seed, rows,
    },
    ...(init ? { initFrom: init } : {}), ...(all.dataset ? { dataset: all.dataset } : {}),
    created: new Date().toISOString(),
  };
  const dir = target.work;
  await mkdir(dir, { recursive: true });
  await writeJsonAtomic(join(dir, RUN_FILES.config), runCfg);
  await saveWeights(join(dir, RUN_FILES.model), model.stateDict(), { updates: String(steps) });
  const validScore = { loss: v.loss, accuracy: v.accuracy, rows: v.rows };
  const params = model.parameterCount();
  const summary = { valid: validScore, rows, steps, params, ...(init ? { init } : {}) };
  await writeJsonAtomic(join(dir, RUN_FILES.summary), summary);
  await finishRunDir(target);
  return { out: o.out, valid: v, rows, steps, params, ...(init ? { init } : {}) };
}
