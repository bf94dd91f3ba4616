/**
 * Training and running a {@link ConvClassifier} on an image batch: the traced cross-entropy step of
 * {@link TrainStep} (AdamW, warm-up then cosine decay, several updates per ONNX Runtime call) over seeded epoch
 * shuffles, and a compiled forward pass that returns logits and penultimate features. This trains the shipped
 * reference network of the classifier FID (scripts/train-reference-classifier.ts).
 */
import { epochCursor, gatherRows, gatherValues } from '../data/batches.ts';
import type { ImageBatch } from '../data/images/batch.ts';
import { ConvClassifier, type ConvClassifierConfig } from '../models/conv-classifier.ts';
import { crossEntropy } from '../nn/functional.ts';
import type { Module } from '../nn/module.ts';
import { adamw } from '../optim/optimizer.ts';
import { warmupCosine } from '../optim/schedule.ts';
import { SwitchyardError } from '../util/errors.ts';
import { Progress } from '../util/progress.ts';
import { Forward } from './forward.ts';
import type { RunOptions } from './run-dir.ts';
import { divergence, TrainStep } from './step.ts';

/** How a {@link ConvClassifier} is trained (every field is recorded beside the shipped reference weights). */
export interface ConvClassifierRecipe {
  /** Seed of the weights and of the epoch shuffles. */
  seed: number;
  /** Optimizer updates. */
  steps: number;
  /** Images per update (the last short batch of an epoch is dropped). */
  batchSize: number;
  /** Peak learning rate (warm-up a twentieth of the steps, cosine to a tenth). */
  lr: number;
  /** AdamW decoupled weight decay. */
  weightDecay: number;
  /** ONNX Runtime intra-op threads (a seed gives the same weights at a given thread count; default: all cores). */
  threads?: number;
}

/**
 * Trains `model` with softmax cross-entropy on `images` (pixels in [0, 1]) and class ids `labels`; returns the
 * seconds spent in ONNX Runtime and the mean loss of the last call. `model` is usually a {@link ConvClassifier};
 * any module mapping the batch to logits works (a linear probe trains on features given as 1×1 images).
 *
 * @example
 * const model = new ConvClassifier(MNIST_CLASSIFIER_CONFIG).init(0);
 * await trainConvClassifier(model, batch, labels, { seed: 0, steps: 600, batchSize: 64, lr: 2e-3, weightDecay: 0.01, threads: 1 });
 */
export async function trainConvClassifier(
  model: Module, images: ImageBatch, labels: Int32Array, r: ConvClassifierRecipe,
  progress: RunOptions['progress'] = {},
): Promise<{ seconds: number; lastLoss: number }> {
  const { channels: c, height: h, width: w } = images;
  const pixels = c * h * w;
  if (labels.length !== images.n || images.n < r.batchSize) {
    const what = `conv classifier: ${images.n} images, ${labels.length} labels, batch ${r.batchSize}`;
    throw new SwitchyardError('E_USAGE', what, 'pass one label per image and at least one batch of images');
  }
  const step = await TrainStep.compile({
    model, optimizer: adamw({ weightDecay: r.weightDecay }), clipNorm: 1, threads: r.threads, seed: r.seed,
    batch: { x: { dtype: 'f32', shape: ['batch', c, h, w] }, y: { dtype: 'i64', shape: ['batch'] } },
    loss: (m: Module, b) => crossEntropy(m.call(b.x), b.y),
  });
  const lrAt = warmupCosine({ lr: r.lr, warmup: Math.floor(r.steps / 20), total: r.steps, minLr: r.lr / 10 });
  const batchAt = epochCursor(images.n, r.batchSize, r.seed);
  const bar = new Progress({ total: r.steps, label: 'classifier', unit: 'step', ...progress });
  let seconds = 0;
  let lastLoss = NaN;
  while (step.updates < r.steps) {
    const k = Math.min(8, r.steps - step.updates);
    const rows = Int32Array.from(Array.from({ length: k }, (_, i) => [...batchAt(step.updates + i)]).flat());
    const y = gatherValues(labels, rows);
    const feeds = {
      x: { dtype: 'f32' as const, shape: [k, r.batchSize, c, h, w], data: gatherRows(images.data, pixels, rows) },
      y: { dtype: 'i64' as const, shape: [k, r.batchSize], data: BigInt64Array.from(y, (v) => BigInt(v)) },
    };
    const t0 = performance.now();
    const res = await step.run(feeds, Array.from({ length: k }, (_, i) => lrAt(step.updates + i)));
    seconds += (performance.now() - t0) / 1000;
    if (res.nonFinite !== null) {
      throw new SwitchyardError('E_NONFINITE', `classifier training diverged: ${divergence(res)}`, 'lower the lr');
    }
    lastLoss = res.losses.reduce((s, l) => s + l, 0) / k;
    bar.tick(k, { loss: lastLoss.toFixed(4) });
  }
  bar.done();
  await step.release();
  return { seconds, lastLoss };
}

/** Logits and penultimate features of a batch of images, row-major. */
export interface ConvClassifierOutputs {
  /** [n, classes] */
  logits: Float32Array;
  /** [n, features] */
  features: Float32Array;
}

/**
 * Runs `model` over `images` (pixels in [0, 1]) in batches of `batch` and returns its logits and penultimate
 * features.
 *
 * @example
 * const { logits, features } = await runConvClassifier(model, testBatch);
 */
export async function runConvClassifier(
  model: ConvClassifier, images: ImageBatch, batch = 250, threads?: number,
): Promise<ConvClassifierOutputs> {
  const cfg: ConvClassifierConfig = model.cfg;
  const { n, channels: c, height: h, width: w } = images;
  if (c !== cfg.channels || h !== cfg.imageSize || w !== cfg.imageSize) {
    const what = `conv classifier: images are ${c}x${h}x${w}, the network takes ${cfg.channels}x${cfg.imageSize}x${cfg.imageSize}`;
    throw new SwitchyardError('E_IMAGE_SIZE', what, 'resize the images or use a classifier of their size');
  }
  const spec = { x: { dtype: 'f32' as const, shape: ['batch', c, h, w] } };
  const fwd = await Forward.compile(model, (m, b) => {
    const features = (m as ConvClassifier).features(b.x);
    return { features, logits: (m as ConvClassifier).head.call(features) };
  }, spec, { threads });
  const pixels = c * h * w;
  const features = new Float32Array(n * cfg.features);
  const logits = new Float32Array(n * cfg.classes);
  try {
    for (let s = 0; s < n; s += batch) {
      const rows = Math.min(batch, n - s);
      const x = images.data.subarray(s * pixels, (s + rows) * pixels);
      const r = await fwd.run({ x: { dtype: 'f32', shape: [rows, c, h, w], data: x } });
      features.set(r.features.data as Float32Array, s * cfg.features);
      logits.set(r.logits.data as Float32Array, s * cfg.classes);
    }
  } finally {
    await fwd.release();
  }
  return { logits, features };
}
