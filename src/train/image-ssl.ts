/**
 * `switchyard train --model conv-encoder`: self-supervised pretraining of a small conv encoder on unlabelled images
 * (labels, when the data has them, are never read). Two objectives:
 *
 * - `simclr` (Chen et al., 2020): two seeded augmented views of every image (random resized crop + brightness and
 *   contrast jitter), the encoder and an MLP projector, and the NT-Xent loss ({@link ntXent}) over the 2B views.
 * - `mae`, a convolutional masked autoencoder: the image is cut into `patch`×`patch` patches, a seeded `maskRatio`
 *   of them is replaced by mid-grey, and a decoder on the encoder's features reconstructs every pixel; the loss is
 *   the mean squared error over the masked pixels only. A conv net cannot drop the masked patches as a ViT-MAE does
 *   (its kernels need the grid), so it sees them filled, as in SparK/ConvNeXt-V2-style conv MAEs without sparse conv.
 *
 * Both train through {@link TrainStep} (AdamW, warm-up then cosine, several updates per ONNX Runtime call); batches,
 * views and masks depend only on the seed and the micro-step. The run directory holds `config.json` (kind
 * `conv-encoder`), `model.safetensors` (encoder + head), `metrics.jsonl` (one record per call) and `metrics.json`.
 *
 * @module
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../core/graph.ts';
import { add, concat, mul, square, sub } from '../core/ops/index.ts';
import { epochCursor, gatherRows } from '../data/batches.ts';
import type { DatasetSplitRecord, ImageBatch } from '../data/images/index.ts';
import { colorJitter, composeTransforms, randomResizedCrop } from '../data/images/transforms.ts';
import { type ConvEncoderConfig, MNIST_CLASSIFIER_CONFIG } from '../models/conv-classifier.ts';
import { ConvPretrainer, type ImageSslObjective } from '../models/conv-pretrain.ts';
import { ntXent, weightedMean } from '../nn/functional.ts';
import type { Module } from '../nn/module.ts';
import { adamw } from '../optim/optimizer.ts';
import { warmupCosine } from '../optim/schedule.ts';
import type { HostTensor } from '../runtime/executor.ts';
import { SwitchyardError } from '../util/errors.ts';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.ts';
import { Progress } from '../util/progress.ts';
import { checkRanges, COMMON_RANGES } from '../util/ranges.ts';
import { Rng } from '../util/rng.ts';
import { RUN_FILES, saveWeights } from './checkpoint.ts';
import { readDiffusionImages } from './diffusion-data.ts';
import { finishRunDir, prepareRunDir, type RunOptions } from './run-dir.ts';
import { type BatchSpec, divergence, TrainStep } from './step.ts';

/** Options of {@link trainImageSsl}. */
export interface ImageSslTrainOptions extends Omit<RunOptions, 'resume' | 'stopAfter'> {
  /** `mnist`, `fashion-mnist` or a folder of PNG/JPEG images; images are resized to 28×28. Labels are not read. */
  data: string;
  /** Run directory to write. */
  out: string;
  /** `simclr` (default) or `mae`. */
  objective?: ImageSslObjective;
  /** NT-Xent temperature of `simclr` (default 0.5). */
  temperature?: number;
  /** Share of the patches masked by `mae` (default 0.5). */
  maskRatio?: number;
  /** Side of the square patches `mae` masks (default 4: a 7×7 grid on 28×28). */
  patch?: number;
  /** Width of the head's hidden layer (default 128). */
  hidden?: number;
  /** Optimizer updates (default 500). */
  steps?: number;
  /** Images per update (default 64; `simclr` feeds twice as many views). */
  batchSize?: number;
  /** Peak learning rate (default 2e-3; warm-up a twentieth of the steps, cosine to a tenth). */
  lr?: number;
  /** AdamW decoupled weight decay (default 1e-4). */
  weightDecay?: number;
  /** Train on at most this many images (default: all of the training split). */
  limit?: number;
  /** Seed of the weights, batches, views and masks (default 0). */
  seed?: number;
}

/**
 * Ranges of the numeric options of {@link trainImageSsl}, with the flags that set them.
 *
 * @example
 * const spec = { temperature: { type: 'number', ...IMAGE_SSL_RANGES.temperature, help: 'NT-Xent temperature' } };
 */
export const IMAGE_SSL_RANGES = {
  temperature: { flag: '--temperature', min: 0.01, max: 100 },
  maskRatio: { flag: '--mask-ratio', above: 0, below: 1 },
  patch: { flag: '--patch', min: 1, max: 28, integer: true },
  hidden: { flag: '--hidden', min: 1, max: 65536, integer: true },
  steps: { flag: '--steps', min: 1, integer: true },
  batchSize: { flag: '--batch-size', min: 2, max: 4096, integer: true },
  lr: { flag: '--lr', above: 0 },
  weightDecay: { flag: '--weight-decay', min: 0 },
  limit: { flag: '--limit', min: 2, integer: true },
  ...COMMON_RANGES,
} as const;

const DEFAULTS = {
  objective: 'simclr' as ImageSslObjective, temperature: 0.5, maskRatio: 0.5, patch: 4, hidden: 128, steps: 500,
  batchSize: 64, lr: 2e-3, weightDecay: 1e-4, seed: 0,
};
type Resolved = typeof DEFAULTS & ImageSslTrainOptions;

/** The side of the images a conv encoder is pretrained on (the MNIST classifier's). */
const IMAGE_SIZE = MNIST_CLASSIFIER_CONFIG.imageSize;

/** The `config.json` of a conv-encoder run. */
export interface ImageSslRunConfig {
  format: 'switchyard.run';
  version: 1;
  kind: 'conv-encoder';
  encoder: ConvEncoderConfig;
  objective: ImageSslObjective;
  head: { hidden: number };
  train: Required<Omit<ImageSslTrainOptions, keyof RunOptions | 'out' | 'limit'>> & { images: number };
  dataset?: DatasetSplitRecord;
  created: string;
}

/** The SimCLR views: two augmentations of the same images, `[view 1 of all; view 2 of all]`. */
const AUGMENT = composeTransforms(
  randomResizedCrop({ scale: [0.35, 1] }),
  colorJitter({ brightness: 0.4, contrast: 0.4 }),
);

/**
 * The `keep` mask [n, 1, size, size] of a masked autoencoder: per image, `round(ratio × patches)` patches (drawn
 * without replacement from `rng`) are 0, the rest 1. The last row and column of patches may be partial.
 *
 * @example
 * const keep = patchMask(64, 28, 4, 0.5, new Rng(1)); // 24 or 25 of 49 patches masked per image
 */
export function patchMask(n: number, size: number, patch: number, ratio: number, rng: Rng): Float32Array {
  const grid = Math.ceil(size / patch);
  const masked = Math.round(ratio * grid * grid);
  const keep = new Float32Array(n * size * size).fill(1);
  for (let k = 0; k < n; k++) {
    const order = rng.shuffle(Int32Array.from({ length: grid * grid }, (_, i) => i)) as Int32Array;
    for (const p of order.subarray(0, masked)) {
      const [py, px] = [Math.floor(p / grid) * patch, (p % grid) * patch];
      for (let y = py; y < Math.min(py + patch, size); y++) {
        const row = k * size * size + y * size;
        keep.fill(0, row + px, row + Math.min(px + patch, size));
      }
    }
  }
  return keep;
}

/** The loss of an objective, as a traced graph of the batch (see the module comment). */
function sslLoss(o: Resolved): (m: Module, b: Record<string, Tensor>) => Tensor {
  if (o.objective === 'simclr') {
    return (m, b) => ntXent(m.call(concat([b.v1, b.v2], 0)), o.temperature); // [2B, projection] -> scalar
  }
  return (m, b) => {
    const masked = sub(1, b.keep); // 1 at the masked pixels
    const input = add(mul(b.x, b.keep), mul(masked, 0.5)); // masked pixels shown as mid-grey
    return weightedMean(square(sub(m.call(input), b.x)), masked); // squared error of the masked pixels only
  };
}

/** The batch inputs of an objective: two view batches (`simclr`) or images and their keep mask (`mae`). */
function sslBatchSpec(o: Resolved, image: [number, number, number]): BatchSpec {
  const x = { dtype: 'f32' as const, shape: [o.batchSize, ...image] };
  return o.objective === 'simclr' ? { v1: x, v2: x } : { x, keep: x };
}

/** The feeds of `k` micro-steps from `microStep` on: images, views and masks depend only on the seed and these. */
function sslFeeds(
  o: Resolved, images: ImageBatch, microStep: number, k: number, batchAt: (u: number) => Int32Array,
): Record<string, HostTensor> {
  const { channels: c, height: h, width: w } = images;
  const pixels = c * h * w;
  const shape = [k, o.batchSize, c, h, w];
  const [a, b] = [new Float32Array(k * o.batchSize * pixels), new Float32Array(k * o.batchSize * pixels)];
  for (let i = 0; i < k; i++) {
    const rng = new Rng(o.seed * 1_000_003 + microStep + i + 1);
    const batch = { ...images, n: o.batchSize, data: gatherRows(images.data, pixels, batchAt(microStep + i)) };
    if (o.objective === 'simclr') {
      a.set(AUGMENT(batch, rng).data, i * batch.data.length);
      b.set(AUGMENT(batch, rng).data, i * batch.data.length);
    } else {
      a.set(batch.data, i * batch.data.length);
      const keep = patchMask(o.batchSize, h, o.patch, o.maskRatio, rng); // [B, H, W], the same for every channel
      for (let n = 0; n < o.batchSize; n++) {
        const one = keep.subarray(n * h * w, (n + 1) * h * w);
        for (let ch = 0; ch < c; ch++) b.set(one, ((i * o.batchSize + n) * c + ch) * h * w);
      }
    }
  }
  const names = o.objective === 'simclr' ? ['v1', 'v2'] : ['x', 'keep'];
  return { [names[0]]: { dtype: 'f32', shape, data: a }, [names[1]]: { dtype: 'f32', shape, data: b } };
}

/** What {@link trainImageSsl} returns. */
export interface ImageSslSummary {
  out: string;
  params: number;
  /** Mean loss of the first and the last ONNX Runtime call. */
  firstLoss: number;
  lastLoss: number;
  msPerStep: number;
  images: number;
}

/**
 * Pretrains a conv encoder without labels and writes its run (see the module comment). A classifier starts from
 * it with `trainImageClassifier({ initFrom: { path: out } })` (`switchyard train --model conv-classifier
 * --init-from`).
 *
 * @example
 * await trainImageSsl({ data: 'mnist', out: 'runs/simclr', objective: 'simclr', steps: 500 });
 * await trainImageSsl({ data: 'mnist', out: 'runs/mae', objective: 'mae', maskRatio: 0.5 });
 */
export async function trainImageSsl(opts: ImageSslTrainOptions): Promise<ImageSslSummary> {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULTS, ...given } as Resolved;
  checkRanges(o, IMAGE_SSL_RANGES);
  if (o.objective !== 'simclr' && o.objective !== 'mae') {
    const what = `objective ${String(o.objective)} is not simclr or mae`;
    throw new SwitchyardError('E_USAGE', what, 'e.g. --objective simclr');
  }
  const data = await readDiffusionImages(o.data, { size: IMAGE_SIZE, limit: o.limit, unit: true });
  if (data.n < o.batchSize) {
    const what = `--data ${o.data}: ${data.n} images, fewer than one batch of ${o.batchSize}`;
    throw new SwitchyardError('E_USAGE', what, 'lower --batch-size or pass more images');
  }
  const target = await prepareRunDir(o.out, o);
  const [c, h, w] = data.image;
  const images: ImageBatch = { n: data.n, channels: c, height: h, width: w, data: data.x0 };
  const encoder: ConvEncoderConfig = { ...withoutClasses(MNIST_CLASSIFIER_CONFIG), channels: c };
  const model = new ConvPretrainer(encoder, o.objective, { hidden: o.hidden }).init(o.seed);
  const step = await TrainStep.compile({
    model, optimizer: adamw({ weightDecay: o.weightDecay }), batch: sslBatchSpec(o, data.image), loss: sslLoss(o),
    clipNorm: 1, threads: o.threads, seed: o.seed,
  });
  const lrAt = warmupCosine({ lr: o.lr, warmup: Math.floor(o.steps / 20), total: o.steps, minLr: o.lr / 10 });
  const batchAt = epochCursor(data.n, o.batchSize, o.seed);
  const dir = target.work;
  await mkdir(dir, { recursive: true });
  const { objective, temperature, maskRatio, patch, hidden, steps, batchSize, lr, weightDecay, seed } = o;
  const cfg: ImageSslRunConfig = {
    format: 'switchyard.run', version: 1, kind: 'conv-encoder', encoder, objective, head: { hidden },
    train: {
      data: o.data, objective, temperature, maskRatio, patch, hidden, steps, batchSize, lr, weightDecay, seed,
      images: data.n,
    },
    ...(data.dataset ? { dataset: data.dataset } : {}), created: new Date().toISOString(),
  };
  await writeJsonAtomic(join(dir, RUN_FILES.config), cfg);
  await writeFileAtomic(join(dir, RUN_FILES.metrics), '');
  const progress = new Progress({ total: o.steps, label: o.objective, unit: 'step', ...o.progress });
  const losses: number[] = [];
  let seconds = 0;
  while (step.updates < o.steps) {
    const k = Math.min(8, o.steps - step.updates);
    const u = step.updates;
    const feeds = sslFeeds(o, images, step.microSteps, k, batchAt);
    const t0 = performance.now();
    const r = await step.run(feeds, Array.from({ length: k }, (_, i) => lrAt(u + i)));
    const dt = (performance.now() - t0) / 1000;
    if (r.nonFinite !== null) {
      const hint = `lower the learning rate (e.g. --lr ${(o.lr / 3).toPrecision(2)})`;
      throw new SwitchyardError('E_NONFINITE', `pretraining diverged: ${divergence(r)}`, hint);
    }
    seconds += dt;
    const loss = r.losses.reduce((s, l) => s + l, 0) / k;
    losses.push(loss);
    const rec = {
      step: step.updates, loss, lr: lrAt(step.updates - 1), imagesPerSecond: (k * o.batchSize) / dt,
      msPerStep: (dt * 1000) / k,
    };
    await appendFile(join(dir, RUN_FILES.metrics), JSON.stringify(rec) + '\n');
    progress.tick(k, { loss: loss.toFixed(4) });
  }
  progress.done();
  await step.release();
  await saveWeights(join(dir, RUN_FILES.model), model.stateDict(), { updates: String(step.updates) });
  const summary = {
    out: o.out, params: model.parameterCount(), firstLoss: losses[0], lastLoss: losses[losses.length - 1],
    msPerStep: (seconds * 1000) / o.steps, images: data.n,
  };
  await writeJsonAtomic(join(dir, RUN_FILES.summary), summary);
  await finishRunDir(target);
  return summary;
}

/** A classifier config without its class count: the encoder part. */
function withoutClasses(cfg: typeof MNIST_CLASSIFIER_CONFIG): ConvEncoderConfig {
  const { classes: _classes, ...encoder } = cfg;
  return encoder;
}
