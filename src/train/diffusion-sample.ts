/**
 * `switchyard sample`: the sampling loop of a diffusion run, on the host, calling a compiled {@link Forward} of the
 * denoiser once per step (twice the batch with classifier-free guidance). `ddpm` (ancestral) and `ddim`
 * (deterministic) sample `ddpm`/`v` runs on a strided subset of their timesteps; `euler` integrates a `flow` run's
 * velocity from t = 1 (noise) to t = 0. Seeded: the same run, flags and seed give the same images.
 */
import { type ImageBatch, writeImageGrid } from '../data/images/index.ts';
import { UNet } from '../models/unet.ts';
import { SwitchyardError } from '../util/errors.ts';
import type { DeviceChoice } from '../runtime/compile-for.ts';
import { checkRanges } from '../util/ranges.ts';
import { Rng } from '../util/rng.ts';
import { loadWeightsFile } from './checkpoint.ts';
import {
  alphaBarSchedule, denoise, diffusionBatchSpec, type DiffusionObjective, type NoiseSchedule,
} from './diffusion.ts';
import type { DiffusionRunConfig } from './diffusion-run.ts';
import { EMA_FILE, emaSnapshotFile } from './diffusion-run.ts';
import { Forward } from './forward.ts';
import { type OpenedRun, openRun, RUN_FILES } from './run-dir.ts';

/** How {@link sampleDiffusion} steps from noise to images. */
export type Sampler = 'ddpm' | 'ddim' | 'euler';

/** What to draw from a loaded diffusion run ({@link DiffusionSampler}). */
export interface DrawOptions {
  /** Images to draw (default 16). */
  count?: number;
  /** Denoising steps (default 50). */
  steps?: number;
  /** Default: `euler` for flow runs, `ddim` otherwise. */
  sampler?: Sampler;
  /** Seed of the initial noise (and of DDPM's per-step noise); default 0. */
  seed?: number;
  /** Class id to draw (class-conditional runs; default: classes in turn). */
  classId?: number;
  /**
   * Classifier-free guidance weight w: out = uncond + w (cond - uncond); 1 = no guidance. Default
   * {@link DEFAULT_GUIDANCE} (3); unconditional runs ignore it.
   */
  guidance?: number;
  /** Images denoised per batch (default 256; the first batch's noise is the seed's own stream). */
  batch?: number;
  /** Stops the loop between steps (`E_CANCELLED`): a server's client went away. */
  signal?: AbortSignal;
  /** Name fields in errors as JSON request fields (`"sampler"`) instead of `switchyard sample` flags. */
  jsonNames?: boolean;
}

/** Which weights of a run {@link loadDiffusionSampler} loads, and where it runs them. */
export interface SamplerLoadOptions {
  /** Use the raw weights instead of the EMA ones. */
  raw?: boolean;
  /** Use the EMA weights kept after this many updates (a `snapshots` entry of the training run). */
  snapshot?: number;
  /** ONNX Runtime intra-op threads. */
  threads?: number;
  /** Where the denoiser runs (default `cpu`; see {@link DeviceChoice}). */
  device?: DeviceChoice;
}

/** Options of {@link sampleDiffusion}. */
export interface DiffusionSampleOptions extends Omit<DrawOptions, 'signal' | 'jsonNames'>, SamplerLoadOptions {
  /** PNG grid to write. */
  out: string;
}

/**
 * Ranges of {@link sampleDiffusion}'s numeric options with their `switchyard sample` flags.
 *
 * @example
 * const spec = { steps: { type: 'number', default: 50, ...SAMPLE_RANGES.steps, help: 'denoising steps' } };
 */
export const SAMPLE_RANGES = {
  count: { flag: '--count', min: 1, max: 1024, integer: true },
  steps: { flag: '--steps', min: 1, max: 10_000, integer: true },
  guidance: { flag: '--guidance', min: 0, max: 100 },
  seed: { flag: '--seed', min: 0, max: 4294967295, integer: true },
  classId: { flag: '--class', min: 0, integer: true },
  batch: { flag: '--batch', min: 1, max: 4096, integer: true },
  snapshot: { flag: '--snapshot', min: 1, integer: true },
} as const;

/**
 * The classifier-free guidance weight a draw uses unless told: 3. Short runs draw the class asked for far more
 * often with it than without (w = 1): 93% against 63% for a 150-update run on three MNIST digits (docs/diffusion.md).
 *
 * @example
 * const s = await loadDiffusionSampler('runs/unet');
 * await s.draw({ classId: 3, guidance: DEFAULT_GUIDANCE }); // the same as leaving guidance out
 */
export const DEFAULT_GUIDANCE = 3;

/** What {@link denoiseLoop} needs besides the predictor and the starting noise. */
export interface DenoiseLoopOptions {
  objective: DiffusionObjective;
  schedule: NoiseSchedule;
  /** The run's discrete timesteps (ddpm and v). */
  timesteps: number;
  sampler: Sampler;
  /** Denoising steps. */
  steps: number;
  /** Source of DDPM's per-step noise. */
  rng: Rng;
  /** Checked before every step: an aborted signal ends the loop with `E_CANCELLED`. */
  signal?: AbortSignal;
}

/** Throws `E_CANCELLED` once `signal` is aborted. */
function checkCancelled(signal?: AbortSignal): void {
  if (!signal?.aborted) return;
  const what = `sampling cancelled (${String(signal.reason)})`;
  throw new SwitchyardError('E_CANCELLED', what, 'nothing to do: the request went away');
}

/**
 * The sampling loop: from noise `x` (at t = 1) to images, calling `predict(x, t)` (the denoiser's output for the
 * whole batch at time t) once per step. `ddim` (eta 0) and `ddpm` (eta 1) step through `steps` evenly spaced
 * timesteps of the schedule, clipping the predicted x0 to [-1, 1]; `euler` integrates a flow's velocity.
 *
 * @example
 * const opts = { objective: 'flow', schedule: 'cosine', timesteps: 1000, sampler: 'euler', steps: 20, rng } as const;
 * const images = await denoiseLoop(predict, noise, opts);
 */
export async function denoiseLoop(
  predict: (x: Float32Array, t: number) => Promise<Float32Array>, x: Float32Array, o: DenoiseLoopOptions,
): Promise<Float32Array> {
  for (const st of samplerSteps(o)) {
    checkCancelled(o.signal);
    const out = await predict(x, st.t);
    x = x.map((xi, p) => st.keep * xi + st.toX0 * Math.max(-1, Math.min(1, st.fromX * xi + st.fromOut * out[p]))
      + st.velocity * out[p] + (st.sigma > 0 ? st.sigma * o.rng.normal() : 0));
  }
  return x;
}

/**
 * One step of a sampler as coefficients: from x and the denoiser's output `out` at time `t`,
 * x' = keep x + toX0 clip(fromX x + fromOut out, -1, 1) + velocity out (+ sigma * fresh noise). The clipped term
 * is the predicted x0 of `ddpm`/`ddim` (x0 = (x - s out) / a for epsilon, a x - s out for v); `euler` is
 * x' = x + dt out. The host loop ({@link denoiseLoop}) and the exported ONNX loop run the same steps.
 */
export interface SamplerStep {
  t: number;
  keep: number;
  toX0: number;
  fromX: number;
  fromOut: number;
  velocity: number;
  sigma: number;
}

/**
 * The steps of a sampler (see {@link SamplerStep}): `euler` from t = 1 to 0 in `steps` equal steps; `ddim` (eta 0)
 * and `ddpm` (eta 1) through `steps` evenly spaced timesteps of the schedule (repeated timesteps skipped), each
 * moving to the previous one with the noise consistent with the clipped x0.
 *
 * @example
 * samplerSteps({ objective: 'flow', schedule: 'cosine', timesteps: 1000, sampler: 'euler', steps: 2 });
 * // [{ t: 1, keep: 1, velocity: -0.5, ... }, { t: 0.5, keep: 1, velocity: -0.5, ... }]
 */
export function samplerSteps(o: Omit<DenoiseLoopOptions, 'rng' | 'signal'>): SamplerStep[] {
  const { objective, steps } = o;
  const none = { toX0: 0, fromX: 0, fromOut: 0, sigma: 0 };
  if (o.sampler === 'euler') {
    return Array.from({ length: steps }, (_, n) => {
      const k = steps - n;
      return { t: k / steps, keep: 1, velocity: (k - 1) / steps - k / steps, ...none };
    });
  }
  const ab = alphaBarSchedule(o.schedule, o.timesteps);
  const eta = o.sampler === 'ddpm' ? 1 : 0;
  const ts = Array.from({ length: steps + 1 }, (_, k) => Math.round((k * o.timesteps) / steps));
  const out: SamplerStep[] = [];
  for (let k = steps; k > 0; k--) {
    const [i, j] = [ts[k], ts[k - 1]];
    if (i === j) continue;
    const [a, s, aPrev] = [Math.sqrt(ab[i]), Math.sqrt(1 - ab[i]), Math.sqrt(ab[j])];
    const sigma = eta * Math.sqrt((1 - ab[j]) / (1 - ab[i])) * Math.sqrt(1 - ab[i] / ab[j]);
    const dir = Math.sqrt(Math.max(0, 1 - ab[j] - sigma * sigma));
    // x' = aPrev x0 + dir eps with eps = (x - a x0) / s, the noise consistent with the clipped x0.
    const [fromX, fromOut] = objective === 'v' ? [a, -s] : [1 / a, -s / a];
    out.push({ t: i / o.timesteps, keep: dir / s, toX0: aPrev - (dir * a) / s, fromX, fromOut, velocity: 0, sigma });
  }
  return out;
}

/** The weights file of the run that `o` asks for: a snapshot, the raw weights, or the EMA ones (the default). */
function weightsFile(run: OpenedRun, o: SamplerLoadOptions): string {
  if (o.snapshot === undefined) return !o.raw && run.lists(EMA_FILE) ? EMA_FILE : RUN_FILES.model;
  const file = emaSnapshotFile(o.snapshot);
  if (!run.lists(file)) {
    const what = `--snapshot ${o.snapshot}: the run keeps no EMA weights after ${o.snapshot} updates`;
    throw new SwitchyardError('E_USAGE', what, 'train with snapshots at that step, or drop --snapshot');
  }
  return file;
}

/**
 * The sampler a draw of a run with `objective` uses: `sampler`, or the objective's default (`euler` for flow,
 * else `ddim`); `E_USAGE` naming `runDir` when it does not fit the objective.
 *
 * @param named how the caller spells the setting, e.g. `(v) => \`--sampler ${v}\``
 * @example
 * pickSampler('flow', undefined, 'runs/unet'); // 'euler'
 */
export function pickSampler(
  objective: DiffusionObjective, sampler: Sampler | undefined, runDir: string,
  named: (v: string) => string = (v) => `--sampler ${v}`,
): Sampler {
  const picked = sampler ?? (objective === 'flow' ? 'euler' : 'ddim');
  if ((picked === 'euler') !== (objective === 'flow')) {
    const fits = objective === 'flow' ? 'euler' : 'ddpm or ddim';
    const what = `${named(picked)} does not fit a ${objective} run (${runDir})`;
    throw new SwitchyardError('E_USAGE', what, `use ${named(fits)}`);
  }
  return picked;
}

/**
 * Opens a diffusion run (manifest verified) and loads its U-Net with the weights `opts` asks for (EMA by default,
 * raw, or an EMA snapshot).
 *
 * @example
 * const { cfg, model } = await loadDenoiser('runs/unet', { snapshot: 250 });
 */
export async function loadDenoiser(
  runDir: string, opts: Pick<SamplerLoadOptions, 'raw' | 'snapshot'> = {},
): Promise<{ cfg: DiffusionRunConfig; model: UNet }> {
  const run = await openRun(runDir, { kinds: ['unet'] });
  const cfg = run.config as unknown as DiffusionRunConfig;
  const model = new UNet(cfg.unet);
  await loadWeightsFile(run.file(weightsFile(run, opts)), model);
  return { cfg, model };
}

/**
 * The denoiser's prediction for a batch x at time t, with classifier-free guidance when `w` is not 1: the batch
 * runs twice, with its class ids `ids` and with the null class, mixed as uncond + w (cond - uncond).
 */
function guidedPredictor(
  fwd: Forward, image: [number, number, number], ids: Int32Array | null, classes: number, w: number,
): (x: Float32Array, t: number) => Promise<Float32Array> {
  const pixels = image[0] * image[1] * image[2];
  const guided = ids !== null && w !== 1;
  return async (x, t) => {
    const n = x.length / pixels;
    const rows = guided ? 2 * n : n;
    const xs = guided ? Float32Array.from({ length: rows * pixels }, (_, i) => x[i % (n * pixels)]) : x;
    // Rows n.. (guided) are the null class.
    const labels = BigInt64Array.from({ length: rows }, (_, i) => BigInt(i >= n || !ids ? classes : ids[i]));
    const feeds = {
      x: { dtype: 'f32' as const, shape: [rows, ...image], data: xs },
      t: { dtype: 'f32' as const, shape: [rows], data: new Float32Array(rows).fill(t) },
      ...(classes > 0 ? { label: { dtype: 'i64' as const, shape: [rows], data: labels } } : {}),
    };
    const out = (await fwd.run(feeds)).out.data as Float32Array;
    if (!guided) return out;
    const uncond = n * pixels;
    return Float32Array.from({ length: uncond }, (_, i) => out[uncond + i] + w * (out[i] - out[uncond + i]));
  };
}

/** Images drawn by a {@link DiffusionSampler}: values in [-1, 1] (not clipped), and the class each was drawn for. */
export interface DiffusionDraw extends ImageBatch {
  /** The class id each image was drawn for (null for an unconditional run). */
  labels: Int32Array | null;
}

/** A diffusion run loaded for sampling: its config and a compiled denoiser, drawn from many times. */
export interface DiffusionSampler {
  readonly config: DiffusionRunConfig;
  /** Draws `count` images, `batch` at a time; draws run one at a time, in call order. */
  draw(o?: DrawOptions): Promise<DiffusionDraw>;
  release(): Promise<void>;
}

/** What {@link sampleDiffusion} drew. */
export interface DiffusionSamples {
  /** Size of the PNG grid written. */
  width: number;
  height: number;
  /** The images, [count, C, H, W] with values in [-1, 1] (not clipped). */
  images: Float32Array;
  /** The class id each image was drawn for (null for an unconditional run). */
  labels: Int32Array | null;
  /** The run's class names by id. */
  classNames: string[];
  /** The dataset the run was trained on (`--data`). */
  data: string;
}

/**
 * Opens a diffusion run (manifest verified) and compiles its denoiser (the EMA weights, the raw ones with `raw`, or
 * an EMA `snapshot`) once, for many draws: `switchyard sample` draws once (scoring them with `--fid`), `serve`
 * once per request.
 *
 * @example
 * const s = await loadDiffusionSampler('runs/unet');
 * const batch = await s.draw({ count: 4, steps: 20, classId: 3 });
 * await s.release();
 */
export async function loadDiffusionSampler(runDir: string, opts: SamplerLoadOptions = {}): Promise<DiffusionSampler> {
  const { cfg, model } = await loadDenoiser(runDir, opts);
  const classes = cfg.unet.classes;
  const image: [number, number, number] = [cfg.unet.channels, cfg.unet.imageSize, cfg.unet.imageSize];
  const spec = diffusionBatchSpec(image, classes > 0);
  delete spec.target;
  const compile = { threads: opts.threads, device: opts.device };
  const fwd = await Forward.compile(model, (m, b) => ({ out: denoise(m, b) }), spec, compile);
  const pixels = image[0] * image[1] * image[2];
  let queue: Promise<unknown> = Promise.resolve();
  const draw = async (o: DrawOptions): Promise<DiffusionDraw> => {
    checkRanges(o, SAMPLE_RANGES); // a batch of 0 would never end
    const { objective } = cfg.diffusion;
    /** A setting as the caller wrote it: a request's JSON field, or a flag. */
    const name = (field: string, flag: string, v: unknown) =>
      (o.jsonNames ? `"${field}": ${JSON.stringify(v)}` : `${flag} ${v}`);
    const sampler = pickSampler(objective, o.sampler, runDir, (v) => name('sampler', '--sampler', v));
    if (o.classId !== undefined && o.classId >= classes) {
      const hint = classes
        ? `pass a class id below ${classes} (${cfg.classNames.join(', ')})`
        : 'this run is unconditional: drop the class';
      const what = `${name('class', '--class', o.classId)}: the run has ${classes} classes`;
      throw new SwitchyardError('E_USAGE', what, hint);
    }
    const n = o.count ?? 16;
    const w = o.guidance ?? DEFAULT_GUIDANCE;
    // Without a class the images take the classes in turn.
    const labels = classes > 0 ? Int32Array.from({ length: n }, (_, i) => o.classId ?? i % classes) : null;
    const x = new Float32Array(n * pixels);
    const chunk = o.batch ?? 256;
    const seed = o.seed ?? 0;
    for (let start = 0; start < n; start += chunk) {
      const rows = Math.min(chunk, n - start);
      const ids = labels?.subarray(start, start + rows) ?? null;
      // The first batch's stream is the seed's own, so a count within one batch draws what it always drew.
      const rng = new Rng(start === 0 ? seed : seed * 1_000_003 + start);
      const noise = Float32Array.from({ length: rows * pixels }, () => rng.normal());
      const predict = guidedPredictor(fwd, image, ids, classes, w);
      const loop = { ...cfg.diffusion, sampler, steps: o.steps ?? 50, rng, signal: o.signal };
      x.set(await denoiseLoop(predict, noise, loop), start * pixels);
    }
    return { n, channels: image[0], height: image[1], width: image[2], data: x, labels };
  };
  return {
    config: cfg,
    draw(o = {}) {
      // One draw at a time: the compiled denoiser is not re-entrant.
      const next = queue.then(() => draw(o));
      queue = next.catch(() => undefined);
      return next;
    },
    release: () => fwd.release(),
  };
}

/**
 * Draws images from a diffusion run and writes them as a PNG grid of ceil(sqrt(count)) columns (values in
 * [-1, 1] mapped to 0..255).
 *
 * @example
 * await sampleDiffusion('runs/unet', { out: 'grid.png', steps: 20, sampler: 'ddim', seed: 1, classId: 3 });
 */
export async function sampleDiffusion(
  runDir: string, o: DiffusionSampleOptions,
): Promise<DiffusionSamples> {
  checkRanges(o, SAMPLE_RANGES);
  const sampler = await loadDiffusionSampler(runDir, o);
  let batch: DiffusionDraw;
  try {
    batch = await sampler.draw(o);
  } finally {
    await sampler.release();
  }
  const size = await writeImageGrid(batch, Math.ceil(Math.sqrt(batch.n)), o.out, { range: [-1, 1] });
  const { classNames, train } = sampler.config;
  return { ...size, images: batch.data, labels: batch.labels, classNames, data: train.data };
}
