import { describe, expect, it } from 'vitest';
import { alphaBarSchedule, type DiffusionObjective, noiseScales } from '../../src/train/diffusion.ts';
import { denoiseLoop, type Sampler } from '../../src/train/diffusion-sample.ts';
import { Rng } from '../../src/util/rng.ts';

/**
 * The exact denoiser of a dataset holding one image `x0`: from x_t it recovers the noise and returns each
 * objective's target. Every sampler must then land on x0.
 */
function oracle(objective: DiffusionObjective, x0: Float32Array) {
  const ab = alphaBarSchedule('cosine', 1000);
  return async (x: Float32Array, t: number): Promise<Float32Array> => {
    const [a, s] = noiseScales(objective, ab, t);
    return x.map((xi, p) => {
      const eps = (xi - a * x0[p]) / s;
      return objective === 'ddpm' ? eps : objective === 'v' ? a * eps - s * x0[p] : eps - x0[p];
    });
  };
}

describe('denoiseLoop', () => {
  const x0 = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i) * 0.9);
  const cases: [DiffusionObjective, Sampler, number][] = [
    ['ddpm', 'ddim', 10], ['ddpm', 'ddpm', 10], ['v', 'ddim', 4], ['v', 'ddpm', 25], ['flow', 'euler', 3], ['flow', 'euler', 1],
  ];
  for (const [objective, sampler, steps] of cases) {
    it(`${objective} + ${sampler} in ${steps} steps: the exact denoiser of one image samples that image`, async () => {
      const rng = new Rng(3);
      const noise = Float32Array.from({ length: x0.length }, () => rng.normal());
      const calls: number[] = [];
      const predict = oracle(objective, x0);
      const out = await denoiseLoop(async (x, t) => (calls.push(t), predict(x, t)), noise, {
        objective, schedule: 'cosine', timesteps: 1000, sampler, steps, rng,
      });
      expect(calls.length).toBe(steps);
      expect(calls[0]).toBe(1);
      for (let p = 0; p < x0.length; p++) expect(out[p]).toBeCloseTo(x0[p], 4);
    });
  }

  it('a wrong denoiser does not land on the image (the check can fail)', async () => {
    const rng = new Rng(3);
    const noise = Float32Array.from({ length: x0.length }, () => rng.normal());
    const out = await denoiseLoop(async (x) => x.map(() => 0), noise, {
      objective: 'ddpm', schedule: 'cosine', timesteps: 1000, sampler: 'ddim', steps: 5, rng,
    });
    expect(Math.max(...out.map((v, p) => Math.abs(v - x0[p])))).toBeGreaterThan(0.1);
  });
});
