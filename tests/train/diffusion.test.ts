import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/core/graph.ts';
import { constant, div, mul, reshape, sub } from '../../src/core/ops/index.ts';
import { Module } from '../../src/nn/module.ts';
import {
  alphaBarSchedule, diffusionBatchSpec, diffusionFeeds, diffusionLoss, DIFFUSION_OBJECTIVES, type DiffusionObjective,
  minSnrWeight,
} from '../../src/train/diffusion.ts';
import { Forward } from '../../src/train/forward.ts';
import { Rng } from '../../src/util/rng.ts';
import { randArray } from './helpers.ts';

describe('noise schedules', () => {
  for (const kind of ['linear', 'cosine'] as const) {
    it(`${kind}: alphaBar starts at 1, decreases strictly, ends near 0`, () => {
      for (const steps of [10, 1000]) {
        const ab = alphaBarSchedule(kind, steps);
        expect(ab.length).toBe(steps + 1);
        expect(ab[0]).toBe(1);
        for (let i = 1; i <= steps; i++) expect(ab[i]).toBeLessThan(ab[i - 1]);
        expect(ab[steps]).toBeLessThan(1e-4);
        expect(ab[steps]).toBeGreaterThanOrEqual(0);
      }
    });
  }
  it('rejects a non-integer step count', () => {
    expect(() => alphaBarSchedule('cosine', 2.5)).toThrow(/integer >= 1/);
  });
});

/**
 * A denoiser that knows the clean images x0 and reads the per-image scales (a, s) from the batch: it computes
 * the exact target of each objective from x_t, so its loss must be 0.
 */
class Oracle extends Module {
  constructor(readonly clean: Float32Array, readonly objective: DiffusionObjective) {
    super();
  }
  forward(x: Tensor, a: Tensor, s: Tensor): Tensor {
    const x0 = constant(this.clean, [...x.shape] as number[]);
    const eps = div(sub(x, mul(a, x0)), s); // x_t = a x0 + s eps
    if (this.objective === 'ddpm') return eps;
    return this.objective === 'v' ? sub(mul(a, eps), mul(s, x0)) : sub(eps, x0);
  }
}

describe('diffusion objectives', () => {
  for (const objective of DIFFUSION_OBJECTIVES) {
    it(`${objective}: a perfect predictor has loss 0, a zero predictor does not`, async () => {
      const n = 3;
      const x0 = randArray(5, n * 16);
      const f = diffusionFeeds(objective, alphaBarSchedule('cosine', 50), x0, n, new Rng(1));
      // Flow's t could be 0 (no noise); the rng here draws none, and s > 0 keeps the oracle finite.
      expect(Array.from(f.noise).every((s) => s > 0)).toBe(true);
      const dyn = { ...diffusionBatchSpec([1, 4, 4], false), a: { dtype: 'f32' as const, shape: ['batch'] }, s: { dtype: 'f32' as const, shape: ['batch'] } };
      const spec = Object.fromEntries(Object.entries(dyn).map(([k, v]) => [k, { ...v, shape: [n, ...v.shape.slice(1)] }]));
      const col = (v: Tensor) => reshape(v, [n, 1, 1, 1]);
      const losses: number[] = [];
      for (const perfect of [true, false]) {
        const model = new Oracle(perfect ? x0 : new Float32Array(x0.length), objective);
        const fwd = await Forward.compile(model, (m, b) => ({
          loss: diffusionLoss({ call: (x: Tensor) => m.call(x, col(b.a), col(b.s)) } as unknown as Module, b),
        }), spec, { threads: 1 });
        const out = await fwd.run({
          x: { dtype: 'f32', shape: [n, 1, 4, 4], data: f.x }, t: { dtype: 'f32', shape: [n], data: f.t },
          target: { dtype: 'f32', shape: [n, 1, 4, 4], data: f.target },
          a: { dtype: 'f32', shape: [n], data: f.signal }, s: { dtype: 'f32', shape: [n], data: f.noise },
        });
        await fwd.release();
        losses.push((out.loss.data as Float32Array)[0]);
      }
      expect(losses[0]).toBeLessThan(1e-8);
      expect(losses[1]).toBeGreaterThan(0.05);
    });
  }

  it('draws the same noise for the same seed', () => {
    const x0 = randArray(3, 32);
    const a = diffusionFeeds('flow', alphaBarSchedule('linear', 10), x0, 2, new Rng(7));
    const b = diffusionFeeds('flow', alphaBarSchedule('linear', 10), x0, 2, new Rng(7));
    const c = diffusionFeeds('flow', alphaBarSchedule('linear', 10), x0, 2, new Rng(8));
    expect(a).toEqual(b);
    expect(a.x).not.toEqual(c.x);
  });
});

describe('min-SNR-gamma weighting', () => {
  it('weights each image by min(SNR, gamma) / SNR (eps) or / (SNR + 1) (v); 0 turns it off; flow refuses it', () => {
    expect(minSnrWeight('ddpm', 0.99, 0.14, 5)).toBeCloseTo(5 / (0.99 ** 2 / 0.14 ** 2), 12);
    expect(minSnrWeight('ddpm', 0.5, 0.8, 5)).toBe(1); // SNR below gamma
    expect(minSnrWeight('v', 0.5, 0.8, 5)).toBeCloseTo(0.390625 / 1.390625, 12);
    expect(minSnrWeight('ddpm', 0.99, 0.14, 0)).toBe(1);
    expect(() => minSnrWeight('flow', 0.5, 0.5, 5)).toThrow(/not flow/);
    const f = diffusionFeeds('ddpm', alphaBarSchedule('cosine', 100), randArray(4, 64), 4, new Rng(2), 5);
    f.weight.forEach((w, b) => expect(w).toBeCloseTo(minSnrWeight('ddpm', f.signal[b], f.noise[b], 5), 6));
  });

  it('scales each image\'s squared error by its weight in the traced loss', async () => {
    const n = 4;
    const f = diffusionFeeds('v', alphaBarSchedule('linear', 100), randArray(6, n * 16), n, new Rng(3), 2);
    class Zero extends Module {
      forward(x: Tensor): Tensor {
        return mul(x, 0);
      }
    }
    const spec = diffusionBatchSpec([1, 4, 4], false, true);
    const fwd = await Forward.compile(new Zero(), (m, b) => ({ loss: diffusionLoss(m, b) }), spec, { threads: 1 });
    const out = await fwd.run({
      x: { dtype: 'f32', shape: [n, 1, 4, 4], data: f.x }, t: { dtype: 'f32', shape: [n], data: f.t },
      target: { dtype: 'f32', shape: [n, 1, 4, 4], data: f.target }, weight: { dtype: 'f32', shape: [n], data: f.weight },
    });
    await fwd.release();
    let expected = 0;
    for (let b = 0; b < n; b++) {
      let se = 0;
      for (let p = b * 16; p < (b + 1) * 16; p++) se += f.target[p] ** 2;
      expected += (f.weight[b] * se) / 16 / n;
    }
    expect(new Set(f.weight).size).toBeGreaterThan(1);
    expect((out.loss.data as Float32Array)[0]).toBeCloseTo(expected, 5);
  });
});
