/**
 * Diffusion objectives. The noise and the time of every image are drawn on the host with a seeded RNG and fed as
 * batch inputs (so a seed fixes the run exactly); the traced loss is a plain mean squared error between the
 * denoiser's output and the objective's target:
 * - `ddpm`: x_t = a x0 + s eps with a = sqrt(alphaBar(t)), s = sqrt(1 - alphaBar(t)); target eps.
 * - `v`: the same x_t; target v = a eps - s x0 (v-prediction).
 * - `flow`: rectified flow, x_t = (1 - t) x0 + t eps with t ~ U(0, 1); target the velocity eps - x0.
 */
import type { Tensor } from '../core/graph.ts';
import { mul, reduceMean, square, sub } from '../core/ops/index.ts';
import { mse } from '../nn/functional.ts';
import type { Module } from '../nn/module.ts';
import { SwitchyardError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';
import type { BatchSpec } from './step.ts';

/** What the denoiser predicts and how images are noised. */
export type DiffusionObjective = 'ddpm' | 'v' | 'flow';
/** The DDPM noise schedule's shape. */
export type NoiseSchedule = 'linear' | 'cosine';

/**
 * The objectives {@link diffusionFeeds} accepts (CLI `--objective`).
 *
 * @example
 * DIFFUSION_OBJECTIVES.includes('flow'); // true
 */
export const DIFFUSION_OBJECTIVES: readonly DiffusionObjective[] = ['ddpm', 'v', 'flow'];

/**
 * alphaBar(t) at `steps + 1` times t = i / steps, i = 0..steps: the share of signal variance left at t. `linear`
 * is DDPM's betas from 1e-4 to 0.02 (scaled to `steps`), `cosine` is Nichol & Dhariwal's with s = 0.008 (betas
 * clipped at 0.999). alphaBar(0) = 1, decreasing, alphaBar(1) near 0.
 *
 * @example
 * const ab = alphaBarSchedule('cosine', 1000); // ab[0] = 1, ab[1000] ~ 0
 */
export function alphaBarSchedule(kind: NoiseSchedule, steps: number): Float64Array {
  if (!(Number.isInteger(steps) && steps >= 1)) {
    const what = `diffusion schedule: steps must be an integer >= 1, got ${steps}`;
    throw new SwitchyardError('E_CONFIG', what, 'e.g. 1000');
  }
  const ab = new Float64Array(steps + 1);
  ab[0] = 1;
  const f = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  for (let i = 1; i <= steps; i++) {
    // Linear betas are DDPM's at 1000 steps, rescaled so fewer steps reach the same final noise level.
    const linear = (1e-4 + ((0.02 - 1e-4) * (i - 1)) / Math.max(1, steps - 1)) * (1000 / steps);
    const beta = kind === 'linear' ? linear : 1 - f(i / steps) / f((i - 1) / steps);
    ab[i] = ab[i - 1] * (1 - Math.min(0.999, beta));
  }
  return ab;
}

/**
 * Signal and noise scales (a, s) of x_t = a x0 + s eps at time t in [0, 1]: from the nearest step of the schedule
 * `ab` for `ddpm`/`v`, (1 - t, t) for `flow`.
 *
 * @example
 * const [a, s] = noiseScales('ddpm', alphaBarSchedule('cosine', 1000), 0.5); // a ~ 0.71, s ~ 0.71
 */
export function noiseScales(objective: DiffusionObjective, ab: Float64Array, t: number): [number, number] {
  if (objective === 'flow') return [1 - t, t];
  const i = Math.round(t * (ab.length - 1));
  return [Math.sqrt(ab[i]), Math.sqrt(1 - ab[i])];
}

/** Host-side batch of a diffusion step: noisy images, times, targets (and labels when conditional). */
export interface DiffusionFeeds {
  /** Noisy images x_t, f32 [N * C * H * W]. */
  x: Float32Array;
  /** Times t in [0, 1], f32 [N] (DDPM/v: i / steps with i in 1..steps). */
  t: Float32Array;
  /** The objective's regression target, f32 like x. */
  target: Float32Array;
  /** Signal scale a per image, f32 [N]. */
  signal: Float32Array;
  /** Noise scale s per image, f32 [N]. */
  noise: Float32Array;
  /** Loss weight per image, f32 [N]: min-SNR-gamma's, or 1 (see {@link minSnrWeight}). */
  weight: Float32Array;
}

/**
 * Min-SNR-gamma loss weight (Hang et al., 2023) of an image noised with scales (a, s), SNR = a^2 / s^2: for
 * epsilon prediction min(SNR, gamma) / SNR, for v-prediction min(SNR, gamma) / (SNR + 1); `gamma` 0 turns it
 * off (weight 1). Flow matching has no such weighting here (E_CONFIG).
 *
 * @example
 * minSnrWeight('ddpm', 0.99, 0.14, 5); // SNR 50 -> 0.1
 */
export function minSnrWeight(objective: DiffusionObjective, a: number, s: number, gamma: number): number {
  if (gamma === 0) return 1;
  if (objective === 'flow') {
    const what = 'min-SNR weighting is defined for the ddpm and v objectives, not flow';
    throw new SwitchyardError('E_CONFIG', what, 'drop --min-snr-gamma or use --objective ddpm|v');
  }
  const snr = (a * a) / (s * s);
  return Math.min(snr, gamma) / (objective === 'ddpm' ? snr : snr + 1);
}

/**
 * Noises clean images `x0` (f32 [N * pixels], in [-1, 1]) for one training step: draws t and eps from `rng`
 * and returns x_t and the target of `objective` (see the module comment). `ab` is the DDPM schedule (ignored by
 * `flow`); `minSnrGamma` (default 0: off) sets the per-image loss weights.
 *
 * @example
 * const f = diffusionFeeds('ddpm', alphaBarSchedule('cosine', 1000), x0, 16, new Rng(0));
 */
export function diffusionFeeds(
  objective: DiffusionObjective, ab: Float64Array, x0: Float32Array, n: number, rng: Rng, minSnrGamma = 0,
): DiffusionFeeds {
  const pixels = x0.length / n;
  const out: DiffusionFeeds = {
    x: new Float32Array(x0.length), t: new Float32Array(n), target: new Float32Array(x0.length),
    signal: new Float32Array(n), noise: new Float32Array(n), weight: new Float32Array(n),
  };
  const steps = ab.length - 1;
  for (let b = 0; b < n; b++) {
    const t = objective === 'flow' ? rng.next() : (1 + Math.floor(rng.next() * steps)) / steps;
    const [a, s] = noiseScales(objective, ab, t);
    out.t[b] = t;
    out.signal[b] = a;
    out.noise[b] = s;
    out.weight[b] = minSnrWeight(objective, a, s, minSnrGamma);
    for (let p = b * pixels; p < (b + 1) * pixels; p++) {
      const eps = rng.normal();
      out.x[p] = a * x0[p] + s * eps;
      out.target[p] = objective === 'ddpm' ? eps : objective === 'v' ? a * eps - s * x0[p] : eps - x0[p];
    }
  }
  return out;
}

/**
 * The batch inputs of a diffusion training step for images [C, H, W] (`label` only when class-conditional,
 * `weight` [N] only when the loss is weighted per image).
 *
 * @example
 * const spec = diffusionBatchSpec([1, 28, 28], true);
 */
export function diffusionBatchSpec(image: [number, number, number], conditional: boolean, weighted = false): BatchSpec {
  return {
    x: { dtype: 'f32', shape: ['batch', ...image] },
    t: { dtype: 'f32', shape: ['batch'] },
    target: { dtype: 'f32', shape: ['batch', ...image] },
    ...(conditional ? { label: { dtype: 'i64' as const, shape: ['batch'] } } : {}),
    ...(weighted ? { weight: { dtype: 'f32' as const, shape: ['batch'] } } : {}),
  };
}

/**
 * The denoiser's output on batch `b` (`x`, `t`, and `label` when present).
 *
 * @example
 * const fwd = await Forward.compile(unet, (m, b) => ({ out: denoise(m, b) }), diffusionBatchSpec([1, 28, 28], false));
 */
export function denoise(model: Module, b: Record<string, Tensor>): Tensor {
  return b.label ? model.call(b.x, b.t, b.label) : model.call(b.x, b.t);
}

/**
 * The traced diffusion loss: mean squared error between the denoiser's output and the host-computed target, each
 * image's error scaled by `weight` when the batch has one (min-SNR-gamma).
 *
 * @example
 * const batch = diffusionBatchSpec([1, 28, 28], false);
 * await TrainStep.compile({ model: unet, loss: diffusionLoss, batch, optimizer: adamw() });
 */
export function diffusionLoss(model: Module, b: Record<string, Tensor>): Tensor {
  if (!b.weight) return mse(denoise(model, b), b.target);
  const perImage = reduceMean(square(sub(denoise(model, b), b.target)), [1, 2, 3]); // [N]
  return reduceMean(mul(perImage, b.weight));
}
