/**
 * `switchyard train --model unet`: trains a {@link UNet} denoiser on a built-in image dataset (scaled to [-1, 1])
 * with a diffusion objective, and writes a run directory: config, raw and EMA weights, metrics. Batches, times and
 * noise depend only on the seed and the micro-step index.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { imagesToBatch, parseBuiltinImageName, readBuiltinImages } from '../data/images/index.ts';
import { UNet, UNET_PRESETS, type UNetConfig } from '../models/unet.ts';
import { adamw } from '../optim/optimizer.ts';
import { warmupCosine } from '../optim/schedule.ts';
import { SwitchyardError } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/fs.ts';
import { Progress } from '../util/progress.ts';
import { checkRanges, COMMON_RANGES } from '../util/ranges.ts';
import { Rng } from '../util/rng.ts';
import { copyWeights, RUN_FILES, saveWeights, type StateDict } from './checkpoint.ts';
import { progressLabel, runDevice } from './device.ts';
import {
  alphaBarSchedule, diffusionBatchSpec, diffusionFeeds, diffusionLoss, type DiffusionObjective, minSnrWeight,
  type NoiseSchedule,
} from './diffusion.ts';
import { finishRunDir, prepareRunDir, type RunOptions } from './run-dir.ts';
import { divergence, TrainStep } from './step.ts';

/** The EMA weights file of a diffusion run (beside `model.safetensors`; sampling prefers it). */
export const EMA_FILE = 'ema.safetensors';

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
export interface DiffusionTrainOptions extends Omit<RunOptions, 'resume' | 'stopAfter'> {
  /** A built-in image dataset: `mnist` or `fashion-mnist`. */
  data: string;
  /** Run directory to write. */
  out: string;
  /** `ddpm` (epsilon, default), `v` (v-prediction) or `flow` (rectified flow). */
  objective?: DiffusionObjective;
  /** Noise schedule of `ddpm`/`v` (default `cosine`). */
  schedule?: NoiseSchedule;
  /** Discrete diffusion steps of `ddpm`/`v` (default 1000). */
  timesteps?: number;
  /** `tiny` (default) or `small`. */
  preset?: 'tiny' | 'small';
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
  /** Peak learning rate (default 1e-3; warm-up a twentieth of the steps, cosine to a tenth). */
  lr?: number;
  /** EMA decay per update of the weights saved as `ema.safetensors` (default 0.999). */
  emaDecay?: number;
  /** Train on at most this many images of the training split (default: all). */
  limit?: number;
  /** Seed of the weights, batches, times and noise (default 0). */
  seed?: number;
  /** Updates per ONNX Runtime call (default 8). */
  stepsPerCall?: number;
  /** Also keep the EMA weights after these updates, as `ema-<updates>.safetensors` (a quality-vs-steps curve). */
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
  train: Required<Omit<DiffusionTrainOptions, 'progress' | 'force' | 'threads' | 'device' | 'out' | 'limit' | 'snapshots'>> & { limit: number | null; images: number };
  seed: number;
  created: string;
}

const DEFAULTS = {
  objective: 'ddpm' as DiffusionObjective, schedule: 'cosine' as NoiseSchedule, timesteps: 1000, preset: 'tiny' as const,
  classConditional: false, minSnrGamma: 0, condDropout: 0.1, steps: 1000, batchSize: 32, lr: 1e-3, emaDecay: 0.999, seed: 0, stepsPerCall: 8,
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

/**
 * Trains a U-Net denoiser on a built-in image dataset and writes the run (see the module comment). Progress goes
 * to stderr; `metrics.jsonl` gets one record per ONNX Runtime call (mean loss, images/s, ms per update).
 *
 * @example
 * await trainDiffusion({ data: 'mnist', out: 'runs/unet', objective: 'flow', steps: 2000, classConditional: true });
 */
export async function trainDiffusion(
  opts: DiffusionTrainOptions,
): Promise<{ out: string; params: number; msPerStep: number; lastLoss: number }> {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULTS, ...given } as typeof DEFAULTS & DiffusionTrainOptions;
  checkRanges(o, DIFFUSION_TRAIN_RANGES);
  const bad = (o.snapshots ?? []).find((n) => !(Number.isInteger(n) && n >= 1));
  if (bad !== undefined) throw new SwitchyardError('E_USAGE', `snapshots: ${bad} is not a whole number >= 1`, 'e.g. [250, 500]');
  if (o.minSnrGamma > 0 && o.objective === 'flow') minSnrWeight('flow', 1, 1, o.minSnrGamma);
  const builtin = parseBuiltinImageName(o.data);
  if (!builtin) {
    const hint = 'use --data mnist or --data fashion-mnist';
    throw new SwitchyardError('E_USAGE', `--data ${o.data}: not a built-in image dataset`, hint);
  }
  const table = readBuiltinImages(builtin.name, builtin.split, { limit: o.limit });
  const images = imagesToBatch(table.images);
  const x0all = images.data.map((v) => v * 2 - 1);
  const labelNames = table.rows.map((r) => String(r[1]));
  const classNames = o.classConditional ? [...new Set(labelNames)].sort() : [];
  const labelIds = labelNames.map((n) => classNames.indexOf(n));
  const unet: UNetConfig = { ...UNET_PRESETS[o.preset], channels: images.channels, imageSize: images.height, classes: classNames.length };
  if (images.height !== images.width) throw new SwitchyardError('E_IMAGE_SIZE', `${o.data}: images are ${images.height}x${images.width}, the U-Net needs square ones`, 'resize them');
  const model = new UNet(unet).init(o.seed);
  const device = await runDevice(o.device, o.progress?.enabled === false);
  const image: [number, number, number] = [images.channels, images.height, images.width];
  const step = await TrainStep.compile({
    model, optimizer: adamw({ weightDecay: 0 }), batch: diffusionBatchSpec(image, o.classConditional, o.minSnrGamma > 0),
    loss: diffusionLoss, clipNorm: 1, threads: o.threads, seed: o.seed, device: device.name,
  });
  const ab = alphaBarSchedule(o.schedule, o.timesteps);
  const lrAt = warmupCosine({ lr: o.lr, warmup: Math.floor(o.steps / 20), total: o.steps, minLr: o.lr / 10 });
  const target = await prepareRunDir(o.out, o);
  const dir = target.work;
  await mkdir(dir, { recursive: true });
  const cfg: DiffusionRunConfig = {
    format: 'switchyard.run', version: 1, kind: 'unet', unet, classNames,
    diffusion: { objective: o.objective, schedule: o.schedule, timesteps: o.timesteps },
    train: {
      data: o.data, objective: o.objective, schedule: o.schedule, timesteps: o.timesteps, preset: o.preset,
      classConditional: o.classConditional, minSnrGamma: o.minSnrGamma, condDropout: o.condDropout, steps: o.steps,
      batchSize: o.batchSize, lr: o.lr, emaDecay: o.emaDecay, seed: o.seed, stepsPerCall: o.stepsPerCall,
      limit: o.limit ?? null, images: images.n,
    },
    seed: o.seed, created: new Date().toISOString(),
  };
  await writeJsonAtomic(join(dir, RUN_FILES.config), cfg);
  const ema = copyWeights(model);
  const pixels = image[0] * image[1] * image[2];
  const progress = new Progress({ total: o.steps * o.batchSize, label: progressLabel(device), unit: 'img', ...o.progress });
  let seconds = 0;
  let lastLoss = NaN;
  const snapshots = [...new Set(o.snapshots ?? [])].filter((n) => n < o.steps).sort((a, b) => a - b);
  while (step.updates < o.steps) {
    // A call stops at the next snapshot, so its EMA is the one after exactly that many updates.
    const until = snapshots.find((n) => n > step.updates) ?? o.steps;
    const k = Math.min(o.stepsPerCall, until - step.updates);
    const x = new Float32Array(k * o.batchSize * pixels);
    const t = new Float32Array(k * o.batchSize);
    const tgt = new Float32Array(x.length);
    const label = new BigInt64Array(k * o.batchSize);
    const weight = new Float32Array(k * o.batchSize);
    for (let i = 0; i < k; i++) {
      const rng = new Rng(o.seed * 1_000_003 + step.microSteps + i + 1);
      const x0 = new Float32Array(o.batchSize * pixels);
      for (let b = 0; b < o.batchSize; b++) {
        const pick = rng.int(images.n);
        x0.set(x0all.subarray(pick * pixels, (pick + 1) * pixels), b * pixels);
        label[i * o.batchSize + b] = BigInt(rng.next() < o.condDropout ? classNames.length : labelIds[pick]);
      }
      const f = diffusionFeeds(o.objective, ab, x0, o.batchSize, rng, o.minSnrGamma);
      weight.set(f.weight, i * o.batchSize);
      x.set(f.x, i * f.x.length);
      tgt.set(f.target, i * f.x.length);
      t.set(f.t, i * o.batchSize);
    }
    const shape = [k, o.batchSize, ...image];
    const feeds = {
      x: { dtype: 'f32' as const, shape, data: x }, t: { dtype: 'f32' as const, shape: [k, o.batchSize], data: t },
      target: { dtype: 'f32' as const, shape, data: tgt },
      ...(o.classConditional ? { label: { dtype: 'i64' as const, shape: [k, o.batchSize], data: label } } : {}),
      ...(o.minSnrGamma > 0 ? { weight: { dtype: 'f32' as const, shape: [k, o.batchSize], data: weight } } : {}),
    };
    const t0 = performance.now();
    const r = await step.run(feeds, Array.from({ length: k }, (_, u) => lrAt(step.updates + u)));
    const dt = (performance.now() - t0) / 1000;
    if (r.nonFinite !== null) throw new SwitchyardError('E_NONFINITE', `training diverged: ${divergence(r)}`, `lower the learning rate (e.g. --lr ${(o.lr / 3).toPrecision(2)})`);
    seconds += dt;
    await step.syncToHost(); // the EMA reads the weights on the host (a no-op on the CPU)
    foldEma(ema, model.stateDict(), o.emaDecay, k, step.updates);
    lastLoss = r.losses.reduce((s, l) => s + l, 0) / k;
    const rec = {
      step: step.updates, loss: lastLoss, lr: lrAt(step.updates - 1), imagesPerSecond: (k * o.batchSize) / dt,
      msPerStep: (dt * 1000) / k,
    };
    await appendFile(join(dir, RUN_FILES.metrics), JSON.stringify(rec) + '\n');
    progress.tick(k * o.batchSize, { step: `${step.updates}/${o.steps}`, loss: lastLoss.toFixed(4) });
    if (snapshots.includes(step.updates)) {
      await saveWeights(join(dir, emaSnapshotFile(step.updates)), ema, { updates: String(step.updates), emaDecay: String(o.emaDecay) });
    }
  }
  progress.done();
  await step.release();
  await saveWeights(join(dir, RUN_FILES.model), model.stateDict(), { updates: String(step.updates) });
  await saveWeights(join(dir, EMA_FILE), ema, { updates: String(step.updates), emaDecay: String(o.emaDecay) });
  const msPerStep = (seconds * 1000) / o.steps;
  await writeJsonAtomic(join(dir, RUN_FILES.summary), { params: model.parameterCount(), msPerStep, lastLoss, device });
  await finishRunDir(target);
  return { out: o.out, params: model.parameterCount(), msPerStep, lastLoss };
}
