/**
 * Noise schedules and training feeds pinned to their closed forms (DDPM's linear betas, Nichol & Dhariwal's
 * cosine), written out here independently of src/train/diffusion.ts, and the feeds' draw order re-derived from
 * the seed.
 */
import { describe, expect, it } from 'vitest';
import { alphaBarSchedule, diffusionFeeds, noiseScales } from '../../src/train/diffusion.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectCode } from '../expect-error.ts';

/** DDPM (Ho et al. 2020): betas = linspace(1e-4, 0.02, 1000), alphaBar_i = prod_{j <= i} (1 - beta_j). */
function ddpmLinear1000(): number[] {
  const ab = [1];
  for (let i = 0; i < 1000; i++) ab.push(ab[i] * (1 - (1e-4 + (i * (0.02 - 1e-4)) / 999)));
  return ab;
}

describe('alphaBarSchedule', () => {
  it('linear at 1000 steps is DDPM\'s cumulative product (alphaBar_T ~ 4.04e-5)', () => {
    const ab = alphaBarSchedule('linear', 1000);
    const ref = ddpmLinear1000();
    expect(ab.length).toBe(1001);
    for (const i of [0, 1, 2, 10, 500, 999, 1000]) expect(ab[i]).toBeCloseTo(ref[i], 12);
    expect(ab[1]).toBeCloseTo(1 - 1e-4, 14);
    expect(ab[1000]).toBeGreaterThan(4.0e-5);
    expect(ab[1000]).toBeLessThan(4.1e-5);
  });

  it('linear with fewer steps rescales the betas (x 1000 / steps); one step is allowed', () => {
    const ab = alphaBarSchedule('linear', 100);
    expect(ab[1]).toBeCloseTo(1 - 1e-4 * 10, 14);
    expect(ab[2] / ab[1]).toBeCloseTo(1 - (1e-4 + (0.02 - 1e-4) / 99) * 10, 12);
    expect([...alphaBarSchedule('linear', 1)]).toEqual([1, 1 - 0.1]);
  });

  it('cosine follows f(t) = cos^2((t + s) / (1 + s) pi / 2) with s = 0.008, betas clipped at 0.999', () => {
    const f = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    const ab = alphaBarSchedule('cosine', 1000);
    for (const i of [1, 250, 500, 900]) expect(ab[i]).toBeCloseTo(f(i / 1000) / f(0), 10);
    // The last step's beta is 1 - f(1) / f(0.999) = 1: clipped, so alphaBar keeps a thousandth of the previous one.
    expect(ab[1000] / ab[999]).toBeCloseTo(0.001, 12);
    expect(alphaBarSchedule('cosine', 1)[1]).toBeCloseTo(0.001, 12);
  });

  it('refuses a step count that is not a whole number >= 1, with a hint', () => {
    for (const steps of [0, -3, 1.5, Number.NaN]) {
      expectCode(() => alphaBarSchedule('cosine', steps), 'E_CONFIG', /steps must be an integer >= 1, got/, /1000/);
    }
  });
});

describe('noiseScales and diffusionFeeds', () => {
  it('ddpm/v read the schedule at round(t * steps); flow is (1 - t, t)', () => {
    const ab = alphaBarSchedule('linear', 10);
    expect(noiseScales('ddpm', ab, 0.5)).toEqual([Math.sqrt(ab[5]), Math.sqrt(1 - ab[5])]);
    expect(noiseScales('v', ab, 0.26)).toEqual([Math.sqrt(ab[3]), Math.sqrt(1 - ab[3])]);
    expect(noiseScales('flow', ab, 0.25)).toEqual([0.75, 0.25]);
  });

  it('draws t then one normal per pixel, image by image, from the seed (re-derived here)', () => {
    const steps = 10;
    const ab = alphaBarSchedule('cosine', steps);
    const n = 3;
    const pixels = 4;
    const x0 = Float32Array.from({ length: n * pixels }, (_, i) => ((i * 7) % 11) / 5.5 - 1);
    for (const objective of ['ddpm', 'v', 'flow'] as const) {
      const feeds = diffusionFeeds(objective, ab, x0, n, new Rng(5));
      const rng = new Rng(5);
      for (let b = 0; b < n; b++) {
        const t = objective === 'flow' ? rng.next() : (1 + Math.floor(rng.next() * steps)) / steps;
        expect(feeds.t[b]).toBe(Math.fround(t));
        const [a, s] = noiseScales(objective, ab, t);
        for (let p = b * pixels; p < (b + 1) * pixels; p++) {
          const eps = rng.normal();
          expect(feeds.x[p]).toBe(Math.fround(a * x0[p] + s * eps));
          const target = objective === 'ddpm' ? eps : objective === 'v' ? a * eps - s * x0[p] : eps - x0[p];
          expect(feeds.target[p]).toBe(Math.fround(target));
        }
      }
      // ddpm/v times are whole steps in 1..steps; flow's are continuous.
      const onGrid = [...feeds.t].every((t) => Math.abs(t * steps - Math.round(t * steps)) < 1e-5);
      expect(onGrid).toBe(objective !== 'flow');
    }
  });
});
