/**
 * `switchyard train --model unet`: trains a {@link UNet} denoiser on a built-in image dataset (scaled to [-1, 1])
 * with a diffusion objective, and writes a run directory: config, raw and EMA weights, metrics. Batches, times and
 * noise depend only on the seed and the micro-step index.
 */
import { MAX_IMAGE_PIXELS_RANGE } from '../data/images/image.ts';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetSplitRecord } from '../data/images/index.ts';
import { UNet, UNET_PRESETS, type UNetConfig } from '../models/unet.ts';
import { adamw } from '../optim/optimizer.ts';
import { warmupCosine } from '../optim/schedule.ts';
import { SwitchyardError } from '../util/errors.ts';
import { sha256Bytes, stringifyJson, writeFileAtomic, writeJsonAtomic } from '../util/fs.ts';
import { Progress } from '../util/progress.ts';
import { checkRanges, COMMON_RANGES } from '../util/ranges.ts';
import { Rng } from '../util/rng.ts';
import type { HostTensor } from '../runtime/executor.ts';
import {
  copyWeights, resumableConfig, resumeCheckpoint, RUN_FILES, saveCheckpoint, saveWeights, type StateDict,
} from './checkpoint.ts';
import { type DiffusionImages, readDiffusionImages } from './diffusion-data.ts';
import { progressLabel, runDevice } from './device.ts';
import {
  alphaBarSchedule, diffusionBatchSpec, diffusionFeeds, diffusionLoss, type DiffusionObjective, minSnrWeight,
  type NoiseSchedule,
} from './diffusion.ts';
import { finishRunDir, prepareRunDir, type RunOptions } from './run-dir.ts';
import { divergence, TrainStep } from './step.ts';

/** The EMA weights file of a diffusion run (beside `model.safetensors`; sampling prefers it). */
export const EMA_FILE = RUN_FILES.ema;

/**
 * The file of the EMA weights kept after `updates` updates (see `snapshots` of {@link trainDiffusion}).
 *
 * @example
 * emaSnapshotFile(500); // 'ema-500.safetensors'
 */
export function emaSnapshotFile(updates: number): string {
  return `ema-${updates}.safetensors`;
}

/** Options of {@link trainDiffusion}. */
export interface DiffusionTrainOptions extends RunOptions {
  /** `mnist`, `fashion-mnist` (each also `:test`) or a folder of PNG/JPEG images (labels from sub-folders). */
  data: string;
  /** Run directory to write. */
  out: string;
  /**
   * `flow` (rectified flow, default: far better samples than `ddpm` after a few hundred updates, see
   * docs/diffusion.md), `ddpm` (epsilon) or `v` (v-prediction).
   */
  objective?: DiffusionObjective;
  /** Noise schedule of `ddpm`/`v` (default `cosine`). */
  schedule?: NoiseSchedule;
  /** Discrete diffusion steps of `ddpm`/`v` (default 1000). */
  timesteps?: number;
  /** `tiny` (default) or `small`. */
  preset?: 'tiny' | 'small';
  /** Side of the square images the U-Net sees; every image is resized to it (default: the preset's, 28). */
  imageSize?: number;
  /** Image channels: 1 (grey) or 3 (RGB); default 3 if any training image is RGB, else 1. */
  channels?: number;
  /** How the U-Net's up path upsamples: `nearest` (default) or `bilinear`. */
  upsample?: 'nearest' | 'bilinear';
  /** Refuse an image of a `data` folder of more pixels than this, before decoding it (default 4096 x 4096). */
  maxImagePixels?: number;
  /** Condition on the class label, with label dropout for classifier-free guidance (default false). */
  classConditional?: boolean;
  /** Min-SNR-gamma loss weighting of `ddpm`/`v` (default 0: off; 5 is the paper's choice). */
  minSnrGamma?: number;
  /** Share of training images whose label is replaced by the null class (default 0.1). */
  condDropout?: number;
  /** Optimizer updates (default 1000). */
  steps?: number;
  /** Images per update (default 32). */
  batchSize?: number;
  /** Peak learning rate (default 3e-3; warm-up a twentieth of the steps, cosine to a tenth). */
  lr?: number;
  /** EMA decay per update of the weights saved as `ema.safetensors` (default 0.999). */
  emaDecay?: number;
  /** Train on at most this many images of the training split (default: all). */
  limit?: number;
  /** Seed of the weights, batches, times and noise (default 0). */
  seed?: number;
  /** Updates per ONNX Runtime call (default 8); the EMA is folded in after every such block. */
  stepsPerCall?: number;
  /** Save `checkpoint/` (weights, optimizer, EMA) every this many updates, for `resume` (default 100). */
  checkpointEvery?: number;
  /**
   * Also keep the EMA weights after these updates, as `ema-<updates>.safetensors` (a quality-vs-steps curve); the
   * EMA is also folded in there. Kept in the config: a resumed run writes the ones it has not reached yet.
   */
  snapshots?: number[];
}

/**
 * Ranges of the numeric options of {@link trainDiffusion}, with the flags that set them.
 *
 * @example
 * const spec = { steps: { type: 'number', default: 1000, ...DIFFUSION_TRAIN_RANGES.steps, help: 'updates' } };
 */
export const DIFFUSION_TRAIN_RANGES = {
  timesteps: { flag: '--timesteps', min: 2, max: 100_000, integer: true },
  condDropout: { flag: '--cond-dropout', min: 0, below: 1 },
  minSnrGamma: { flag: '--min-snr-gamma', min: 0, max: 1e6 },
  steps: { flag: '--steps', min: 1, integer: true },
  batchSize: { flag: '--batch-size', min: 1, max: 4096, integer: true },
  lr: { flag: '--lr', above: 0 },
  emaDecay: { flag: '--ema-decay', min: 0, below: 1 },
  limit: { flag: '--limit', min: 1, integer: true },
  stepsPerCall: { flag: '--steps-per-call', min: 1, max: 1024, integer: true },
  checkpointEvery: { flag: '--checkpoint-every', min: 1, integer: true },
  stopAfter: { flag: '--stop-after', min: 1, integer: true },
  snapshots: { flag: '--snapshots', min: 1, integer: true },
  imageSize: { flag: '--image-size', min: 2, max: 1024, integer: true },
  channels: { flag: '--channels', min: 1, max: 3, integer: true },
  maxImagePixels: MAX_IMAGE_PIXELS_RANGE,
  ...COMMON_RANGES,
} as const;

/** The `config.json` of a diffusion run. */
export interface DiffusionRunConfig {
  format: 'switchyard.run';
  version: 1;
  kind: 'unet';
  unet: UNetConfig;
  /** Class names in label-id order (class-conditional runs); id `names.length` is the null class. */
  classNames: string[];
  diffusion: { objective: DiffusionObjective; schedule: NoiseSchedule; timesteps: number };
  train: DiffusionHyperParameters & { limit: number | null; images: number; snapshots?: number[] };
  /** The split of a built-in dataset the run trained on. */
  dataset?: DatasetSplitRecord;
  seed: number;
  created: string;
}

/** The options a run keeps in its config and a resumed run reuses. */
type DiffusionHyperParameters = Required<Omit<DiffusionTrainOptions, keyof RunOptions | 'out' | 'limit' | 'imageSize'
  | 'channels' | 'maxImagePixels' | 'checkpointEvery' | 'upsample' | 'snapshots'>>;

const DEFAULTS = {
  objective: 'flow' as DiffusionObjective, schedule: 'cosine' as NoiseSchedule, timesteps: 1000,
  preset: 'tiny' as 'tiny' | 'small', classConditional: false, minSnrGamma: 0, condDropout: 0.1, steps: 1000,
  batchSize: 32, lr: 3e-3, emaDecay: 0.999, seed: 0, stepsPerCall: 8, checkpointEvery: 100,
};

/**
 * Folds `weights` into `ema` after `k` more updates (`total` so far): the decay per update is warmed up as
 * min(decay, (1 + total) / (10 + total)), so a short run's EMA is not its initial weights.
 */
function foldEma(ema: StateDict, weights: StateDict, decay: number, k: number, total: number): void {
  const d = Math.min(decay, (1 + total) / (10 + total)) ** k;
  for (const [name, w] of weights) {
    const e = ema.get(name)!.data;
    for (let i = 0; i < e.length; i++) e[i] = d * e[i] + (1 - d) * w.data[i];
  }
}

/** What one ONNX Runtime call of the training step needs: `k` micro-batches drawn from the seed and position. */
interface CallInputs {
  data: DiffusionImages;
  labelIds: number[];
  nullClass: number;
  ab: Float64Array;
  o: { seed: number; batchSize: number; condDropout: number; objective: DiffusionObjective; minSnrGamma: number };
  classConditional: boolean;
}

/** The feeds of `k` micro-steps from `microStep` on: images, labels, times and noise depend only on those two. */
function callFeeds(c: CallInputs, microStep: number, k: number): Record<string, HostTensor> {
  const { o, data } = c;
  const pixels = data.image[0] * data.image[1] * data.image[2];
  const x = new Float32Array(k * o.batchSize * pixels);
  const t = new Float32Array(k * o.batchSize);
  const tgt = new Float32Array(x.length);
  const label = new BigInt64Array(k * o.batchSize);
  const weight = new Float32Array(k * o.batchSize);
  for (let i = 0; i < k; i++) {
    const rng = new Rng(o.seed * 1_000_003 + microStep + i + 1);
    const x0 = new Float32Array(o.batchSize * pixels);
    for (let b = 0; b < o.batchSize; b++) {
      const pick = rng.int(data.n);
      x0.set(data.x0.subarray(pick * pixels, (pick + 1) * pixels), b * pixels);
      label[i * o.batchSize + b] = BigInt(rng.next() < o.condDropout ? c.nullClass : (c.labelIds[pick] ?? c.nullClass));
    }
    const f = diffusionFeeds(o.objective, c.ab, x0, o.batchSize, rng, o.minSnrGamma);
    weight.set(f.weight, i * o.batchSize);
    x.set(f.x, i * f.x.length);
    tgt.set(f.target, i * f.x.length);
    t.set(f.t, i * o.batchSize);
  }
  const shape = [k, o.batchSize, ...data.image];
  return {
    x: { dtype: 'f32', shape, data: x }, t: { dtype: 'f32', shape: [k, o.batchSize], data: t },
    target: { dtype: 'f32', shape, data: tgt },
    ...(c.classConditional ? { label: { dtype: 'i64', shape: [k, o.batchSize], data: label } } : {}),
    ...(o.minSnrGamma > 0 ? { weight: { dtype: 'f32', shape: [k, o.batchSize], data: weight } } : {}),
  };
}

/** The run's config: fresh from the options, or, with `resume`, read back (its hyper-parameters win). */
async function runConfig(o: DiffusionTrainOptions): Promise<{ saved?: DiffusionRunConfig; text: string }> {
  if (!o.resume) return { text: '' };
  const { cfg, text } = await resumableConfig<DiffusionRunConfig>(o.out);
  if (cfg.kind !== 'unet') {
    const what = `${join(o.out, RUN_FILES.config)}: a ${cfg.kind} run, not a U-Net`;
    throw new SwitchyardError('E_CONFIG', what, 'resume it with the train command that made it');
  }
  return { saved: cfg, text };
}

/** Class names (sorted) and each image's class id; checks that a resumed run sees the same data. */
function classesOf(data: DiffusionImages, o: { data: string; classConditional: boolean }, saved?: DiffusionRunConfig) {
  if (o.classConditional && !data.labels) {
    const hint = 'put the images in one sub-folder per class, or leave out --class-conditional';
    throw new SwitchyardError('E_USAGE', `--data ${o.data}: --class-conditional needs labelled images`, hint);
  }
  const classNames = saved?.classNames ?? (o.classConditional ? [...new Set(data.labels)].sort() : []);
  const labelIds = (data.labels ?? []).map((n) => classNames.indexOf(n));
  if (saved && (saved.train.images !== data.n || (o.classConditional && labelIds.includes(-1)))) {
    const what = `--data ${o.data}: ${data.n} images, the run was trained on ${saved.train.images} (or other classes)`;
    throw new SwitchyardError('E_CHECKPOINT', what, 'resume with the data the run started with');
  }
  return { classNames, labelIds };
}

/**
 * Trains a U-Net denoiser on images and writes the run (see the module comment). Progress goes to stderr;
 * `metrics.jsonl` gets one record per ONNX Runtime call (mean loss, images/s, ms per update). `checkpoint/`
 * (weights, optimizer state, EMA) is saved every `checkpointEvery` updates and when the invocation ends, and
 * `resume` continues from it exactly: the resumed run's weights and EMA equal an uninterrupted run's. With
 * `snapshots`, the EMA after each of those updates is kept as `ema-<updates>.safetensors` (listed in the manifest;
 * `switchyard sample --snapshot`), also by a resumed invocation that reaches it.
 *
 * @example
 * await trainDiffusion({ data: 'mnist', out: 'runs/unet', objective: 'flow', steps: 2000, classConditional: true });
 * await trainDiffusion({ data: 'photos/', out: 'runs/photos', imageSize: 32, stopAfter: 500 });
 * await trainDiffusion({ data: 'photos/', out: 'runs/photos', resume: true });
 * await trainDiffusion({ data: 'mnist', out: 'runs/curve', steps: 1000, snapshots: [250, 500] });
 */
export async function trainDiffusion(
  opts: DiffusionTrainOptions,
): Promise<{ out: string; params: number; msPerStep: number; lastLoss: number }> {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  let o = { ...DEFAULTS, ...given } as typeof DEFAULTS & DiffusionTrainOptions;
  checkRanges(o, DIFFUSION_TRAIN_RANGES);
  const target = await prepareRunDir(o.out, o);
  const { saved, text } = await runConfig(o);
  let cfgText = text;
  if (saved) {
    const { limit, snapshots, ...train } = saved.train;
    o = { ...o, ...train, limit: limit ?? undefined, snapshots: snapshots ?? [] };
  }
  // Snapshots before the end (the EMA at the end is ema.safetensors), in order.
  const snapshots = [...new Set(o.snapshots ?? [])].filter((n) => n < o.steps).sort((a, b) => a - b);
  if (o.minSnrGamma > 0 && o.objective === 'flow') minSnrWeight('flow', 1, 1, o.minSnrGamma);
  const data = await readDiffusionImages(o.data, {
    size: saved?.unet.imageSize ?? o.imageSize ?? UNET_PRESETS[o.preset].imageSize,
    channels: saved?.unet.channels ?? o.channels, limit: o.limit, maxImagePixels: o.maxImagePixels,
  });
  const { classNames, labelIds } = classesOf(data, o, saved);
  const unet: UNetConfig = saved?.unet
    ?? {
      ...UNET_PRESETS[o.preset], channels: data.image[0], imageSize: data.image[1], classes: classNames.length,
      ...(o.upsample ? { upsample: o.upsample } : {}),
    };
  const model = new UNet(unet).init(o.seed);
  const device = await runDevice(o.device, o.progress?.enabled === false);
  const step = await TrainStep.compile({
    model, optimizer: adamw({ weightDecay: 0 }),
    batch: diffusionBatchSpec(data.image, o.classConditional, o.minSnrGamma > 0),
    loss: diffusionLoss, clipNorm: 1, threads: o.threads, seed: o.seed, device: device.name,
  });
  const lrAt = warmupCosine({ lr: o.lr, warmup: Math.floor(o.steps / 20), total: o.steps, minLr: o.lr / 10 });
  const dir = target.work;
  await mkdir(dir, { recursive: true });
  let ema = copyWeights(model);
  let emaUpdates = 0; // the update count the EMA was last folded at
  const records: Record<string, number>[] = [];
  const checkpoint = () => {
    const counters = { updates: step.updates, microSteps: step.microSteps, epoch: 0, batchInEpoch: 0 };
    const state = { configSha256: sha256Bytes(cfgText), emaUpdates, records };
    return saveCheckpoint(join(dir, RUN_FILES.checkpoint), model, step, counters, {}, { ema, state });
  };
  if (saved) {
    const ck = await resumeCheckpoint(dir, model, step, cfgText);
    ema = ck.ema ?? ema;
    emaUpdates = Number(ck.state?.emaUpdates ?? 0);
    records.push(...((ck.state?.records ?? []) as Record<string, number>[]));
  } else {
    const train: DiffusionRunConfig['train'] = {
      data: o.data, objective: o.objective, schedule: o.schedule, timesteps: o.timesteps, preset: o.preset,
      classConditional: o.classConditional, minSnrGamma: o.minSnrGamma, condDropout: o.condDropout, steps: o.steps,
      batchSize: o.batchSize, lr: o.lr, emaDecay: o.emaDecay, seed: o.seed, stepsPerCall: o.stepsPerCall,
      limit: o.limit ?? null, images: data.n, ...(snapshots.length ? { snapshots } : {}),
    };
    const cfg: DiffusionRunConfig = {
      format: 'switchyard.run', version: 1, kind: 'unet', unet, classNames,
      diffusion: { objective: o.objective, schedule: o.schedule, timesteps: o.timesteps }, train,
      ...(data.dataset ? { dataset: data.dataset } : {}), seed: o.seed, created: new Date().toISOString(),
    };
    cfgText = stringifyJson(cfg, 2) + '\n';
    await writeFileAtomic(join(dir, RUN_FILES.config), cfgText);
    await checkpoint();
  }
  await writeFileAtomic(join(dir, RUN_FILES.metrics), records.map((r) => JSON.stringify(r) + '\n').join(''));
  const inputs: CallInputs = {
    data, labelIds, nullClass: classNames.length, ab: alphaBarSchedule(o.schedule, o.timesteps),
    o, classConditional: o.classConditional,
  };
  const endUpdates = Math.min(o.steps, step.updates + (o.stopAfter ?? Infinity));
  const total = (endUpdates - step.updates) * o.batchSize;
  const progress = new Progress({ total, label: progressLabel(device), unit: 'img', ...o.progress });
  let seconds = 0;
  const startUpdates = step.updates;
  while (step.updates < endUpdates) {
    // Calls end at multiples of stepsPerCall (and of checkpointEvery) and at the snapshots, wherever the run was
    // stopped and resumed, so the EMA is folded at the same updates and a resumed run equals an uninterrupted one.
    const u = step.updates;
    const toBoundary = (every: number) => every - (u % every);
    const toSnapshot = (snapshots.find((n) => n > u) ?? Infinity) - u;
    const k = Math.min(toBoundary(o.stepsPerCall), toBoundary(o.checkpointEvery), toSnapshot, endUpdates - u);
    const t0 = performance.now();
    const r = await step.run(callFeeds(inputs, step.microSteps, k), Array.from({ length: k }, (_, i) => lrAt(u + i)));
    const dt = (performance.now() - t0) / 1000;
    if (r.nonFinite !== null) {
      const what = `training diverged: ${divergence(r)}; kept the last checkpoint in ${dir}`;
      const hint = `lower the learning rate (e.g. --lr ${(o.lr / 3).toPrecision(2)})`;
      throw new SwitchyardError('E_NONFINITE', what, hint);
    }
    seconds += dt;
    const snapshot = snapshots.includes(step.updates);
    if (step.updates % o.stepsPerCall === 0 || step.updates === o.steps || snapshot) {
      await step.syncToHost(); // the EMA reads the weights on the host (a no-op on the CPU)
      foldEma(ema, model.stateDict(), o.emaDecay, step.updates - emaUpdates, step.updates);
      emaUpdates = step.updates;
    }
    const loss = r.losses.reduce((sum, l) => sum + l, 0) / k;
    const rec = {
      step: step.updates, loss, lr: lrAt(step.updates - 1),
      imagesPerSecond: (k * o.batchSize) / dt, msPerStep: (dt * 1000) / k,
    };
    records.push(rec);
    await appendFile(join(dir, RUN_FILES.metrics), JSON.stringify(rec) + '\n');
    if (snapshot) {
      const meta = { updates: String(step.updates), emaDecay: String(o.emaDecay) };
      await saveWeights(join(dir, emaSnapshotFile(step.updates)), ema, meta); // before the checkpoint that passes it
    }
    if (step.updates % o.checkpointEvery === 0 || step.updates === endUpdates) await checkpoint();
    progress.tick(k * o.batchSize, { step: `${step.updates}/${o.steps}`, loss: loss.toFixed(4) });
  }
  progress.done();
  await step.release();
  await saveWeights(join(dir, RUN_FILES.model), model.stateDict(), { updates: String(step.updates) });
  await saveWeights(join(dir, EMA_FILE), ema, { updates: String(emaUpdates), emaDecay: String(o.emaDecay) });
  const msPerStep = step.updates > startUpdates ? (seconds * 1000) / (step.updates - startUpdates) : NaN;
  const lastLoss = records.at(-1)?.loss ?? NaN;
  await writeJsonAtomic(join(dir, RUN_FILES.summary), { params: model.parameterCount(), msPerStep, lastLoss, device });
  await finishRunDir(target);
  return { out: o.out, params: model.parameterCount(), msPerStep, lastLoss };
}
