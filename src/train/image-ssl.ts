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
 * views and masks depend only on the seed and the micro-step, so `resume` continues a stopped run exactly. The run
 * directory holds `config.json` (kind `conv-encoder`), `model.safetensors` (encoder + head), `metrics.jsonl` (one
 * record per call), `metrics.json` and `checkpoint/` (weights and optimizer state, for `resume`).
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
import { sha256Bytes, stringifyJson, writeFileAtomic, writeJsonAtomic } from '../util/fs.ts';
import { Progress } from '../util/progress.ts';
import { checkRanges, COMMON_RANGES } from '../util/ranges.ts';
import { Rng } from '../util/rng.ts';
import { resumableConfig, resumeCheckpoint, RUN_FILES, saveCheckpoint, saveWeights } from './checkpoint.ts';
import { readDiffusionImages } from './diffusion-data.ts';
import { finishRunDir, prepareRunDir, type RunOptions } from './run-dir.ts';
import { type BatchSpec, divergence, TrainStep } from './step.ts';

/** Options of {@link trainImageSsl}. */
export interface ImageSslTrainOptions extends RunOptions {
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
  /** Save `checkpoint/` (weights, optimizer state) every this many updates, for `resume` (default 100). */
  checkpointEvery?: number;
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
  checkpointEvery: { flag: '--checkpoint-every', min: 1, integer: true },
  stopAfter: { flag: '--stop-after', min: 1, integer: true },
  ...COMMON_RANGES,
} as const;

const DEFAULTS = {
  objective: 'simclr' as ImageSslObjective, temperature: 0.5, maskRatio: 0.5, patch: 4, hidden: 128, steps: 500,
  batchSize: 64, lr: 2e-3, weightDecay: 1e-4, seed: 0, checkpointEvery: 100,
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
  train: Required<Omit<ImageSslTrainOptions, keyof RunOptions | 'out' | 'limit' | 'checkpointEvery'>>
    & { images: number; limit: number | null };
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
  /** Updates done so far (less than `steps` after `stopAfter`; continue with `resume`). */
  updates: number;
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
  let o = { ...DEFAULTS, ...given } as Resolved;
  checkRanges(o, IMAGE_SSL_RANGES);
  const target = await prepareRunDir(o.out, o);
  const saved = o.resume ? await resumableConfig<ImageSslRunConfig>(o.out) : undefined;
  if (saved) {
    if (saved.cfg.kind !== 'conv-encoder') {
      const what = `${join(o.out, RUN_FILES.config)}: a ${saved.cfg.kind} run, not a conv encoder`;
      throw new SwitchyardError('E_CONFIG', what, 'resume it with the train command that made it');
    }
    const { images: _images, limit, ...train } = saved.cfg.train;
    o = { ...o, ...train, limit: limit ?? undefined }; // a resumed run keeps its hyper-parameters
  }
  if (o.objective !== 'simclr' && o.objective !== 'mae') {
    const what = `objective ${String(o.objective)} is not simclr or mae`;
    throw new SwitchyardError('E_USAGE', what, 'e.g. --objective simclr');
  }
  const data = await readDiffusionImages(o.data, { size: IMAGE_SIZE, limit: o.limit, unit: true });
  if (data.n < o.batchSize) {
    const what = `--data ${o.data}: ${data.n} images, fewer than one batch of ${o.batchSize}`;
    throw new SwitchyardError('E_USAGE', what, 'lower --batch-size or pass more images');
  }
  if (saved && saved.cfg.train.images !== data.n) {
    const what = `--data ${o.data}: ${data.n} images, the run was trained on ${saved.cfg.train.images}`;
    throw new SwitchyardError('E_CHECKPOINT', what, 'resume with the data the run started with');
  }
  const [c, h, w] = data.image;
  const images: ImageBatch = { n: data.n, channels: c, height: h, width: w, data: data.x0 };
  const encoder: ConvEncoderConfig = saved?.cfg.encoder ?? { ...withoutClasses(MNIST_CLASSIFIER_CONFIG), channels: c };
  const model = new ConvPretrainer(encoder, o.objective, { hidden: o.hidden }).init(o.seed);
  const step = await TrainStep.compile({
    model, optimizer: adamw({ weightDecay: o.weightDecay }), batch: sslBatchSpec(o, data.image), loss: sslLoss(o),
    clipNorm: 1, threads: o.threads, seed: o.seed,
  });
  const lrAt = warmupCosine({ lr: o.lr, warmup: Math.floor(o.steps / 20), total: o.steps, minLr: o.lr / 10 });
  const batchAt = epochCursor(data.n, o.batchSize, o.seed);
  const dir = target.work;
  await mkdir(dir, { recursive: true });
  const records: Record<string, number>[] = [];
  let cfgText = saved?.text ?? '';
  const checkpoint = () => {
    const counters = { updates: step.updates, microSteps: step.microSteps, epoch: 0, batchInEpoch: 0 };
    const state = { configSha256: sha256Bytes(cfgText), records };
    return saveCheckpoint(join(dir, RUN_FILES.checkpoint), model, step, counters, {}, { state });
  };
  if (saved) {
    const ck = await resumeCheckpoint(dir, model, step, cfgText);
    records.push(...((ck.state?.records ?? []) as Record<string, number>[]));
  } else {
    const { objective, temperature, maskRatio, patch, hidden, steps, batchSize, lr, weightDecay, seed } = o;
    const cfg: ImageSslRunConfig = {
      format: 'switchyard.run', version: 1, kind: 'conv-encoder', encoder, objective, head: { hidden },
      train: {
        data: o.data, objective, temperature, maskRatio, patch, hidden, steps, batchSize, lr, weightDecay, seed,
        images: data.n, limit: o.limit ?? null,
      },
      ...(data.dataset ? { dataset: data.dataset } : {}), created: new Date().toISOString(),
    };
    cfgText = stringifyJson(cfg, 2) + '\n';
    await writeFileAtomic(join(dir, RUN_FILES.config), cfgText);
    await checkpoint();
  }
  // The records up to the checkpoint: a resumed run rewrites what an interrupted invocation appended after it.
  await writeFileAtomic(join(dir, RUN_FILES.metrics), records.map((r) => JSON.stringify(r) + '\n').join(''));
  const endUpdates = Math.min(o.steps, step.updates + (o.stopAfter ?? Infinity));
  const progress = new Progress({ total: endUpdates - step.updates, label: o.objective, unit: 'step', ...o.progress });
  let seconds = 0;
  const startUpdates = step.updates;
  while (step.updates < endUpdates) {
    // Calls end at multiples of 8 and of checkpointEvery, wherever the run was stopped, so a resumed run makes the
    // same calls as an uninterrupted one.
    const u = step.updates;
    const k = Math.min(8 - (u % 8), o.checkpointEvery - (u % o.checkpointEvery), endUpdates - u);
    const feeds = sslFeeds(o, images, step.microSteps, k, batchAt);
    const t0 = performance.now();
    const r = await step.run(feeds, Array.from({ length: k }, (_, i) => lrAt(u + i)));
    const dt = (performance.now() - t0) / 1000;
    if (r.nonFinite !== null) {
      const hint = `lower the learning rate (e.g. --lr ${(o.lr / 3).toPrecision(2)})`;
      const what = `pretraining diverged: ${divergence(r)}; kept the last checkpoint in ${dir}`;
      throw new SwitchyardError('E_NONFINITE', what, hint);
    }
    seconds += dt;
    const loss = r.losses.reduce((s, l) => s + l, 0) / k;
    const rec = {
      step: step.updates, loss, lr: lrAt(step.updates - 1), imagesPerSecond: (k * o.batchSize) / dt,
      msPerStep: (dt * 1000) / k,
    };
    records.push(rec);
    await appendFile(join(dir, RUN_FILES.metrics), JSON.stringify(rec) + '\n');
    if (step.updates % o.checkpointEvery === 0 || step.updates === endUpdates) await checkpoint();
    progress.tick(k, { loss: loss.toFixed(4) });
  }
  progress.done();
  await step.release();
  await saveWeights(join(dir, RUN_FILES.model), model.stateDict(), { updates: String(step.updates) });
  const summary = {
    out: o.out, params: model.parameterCount(), firstLoss: records[0]?.loss ?? NaN,
    lastLoss: records.at(-1)?.loss ?? NaN, updates: step.updates,
    msPerStep: step.updates > startUpdates ? (seconds * 1000) / (step.updates - startUpdates) : NaN, images: data.n,
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
