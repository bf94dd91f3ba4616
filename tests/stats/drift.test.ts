import { describe, expect, it } from 'vitest';
import { binCounts, chiSquareTwoSample, jensenShannon, ksTwoSample, mmdRbf, psi, quantileBins, wasserstein1 } from '../../src/stats/drift.ts';
import { quantileSorted } from '../../src/stats/quantile.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectCode } from '../expect-error.ts';

function rel(actual: number, expected: number, rtol = 1e-9): void {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(rtol * Math.abs(expected));
}

// Reference values from scipy 1.17 (stats.ks_2samp, chi2_contingency, spatial.distance.jensenshannon, wasserstein_distance).
describe('two-sample Kolmogorov-Smirnov', () => {
  it('exact p-value by hand: disjoint samples of 3 → 2 / C(6,3)', () => {
    const r = ksTwoSample([1, 2, 3], [4, 5, 6]);
    expect(r.statistic).toBe(1);
    rel(r.pValue, 0.1, 1e-14);
    expect(r.method).toBe('exact');
  });

  it('matches scipy exact on small samples, with and without ties', () => {
    const a = [0.61, 0.29, 0.06, 0.59, -1.73, -0.74, 0.51, -0.56, 0.39, 1.64, 0.05, -0.06, 0.64, -0.82, 0.37, 1.77, 1.09, -1.28, 2.36, 1.31, 1.05, -0.32, -0.4, 1.06, -2.47];
    const b = [2.2, 1.66, 1.38, 0.2, 0.36, 0.0, 0.96, 1.56, 0.44, 1.5, -0.3, 0.66, 2.31, 3.29, -0.27, -0.37, 0.38, 0.7, 0.19, -0.41, -0.25, 0.14, 0.27, 0.78];
    const r = ksTwoSample(a, b);
    rel(r.statistic, 0.24, 1e-12);
    rel(r.pValue, 0.3694543201026078, 1e-9);
    const t = ksTwoSample([1, 1, 2, 2, 3, 3, 3], [2, 3, 3, 4, 4, 5]);
    expect(t.statistic).toBe(0.5);
    rel(t.pValue, 0.3327505827505828, 1e-9);
  });

  it('exact on 2000 x 3000 and asymptotic (Stephens-corrected Kolmogorov) beyond the exact limit', () => {
    const a = Array.from({ length: 2000 }, (_, i) => ((i * 7919) % 2003) / 2003);
    const b = Array.from({ length: 3000 }, (_, j) => (((j * 104729) % 3001) / 3001) * 1.1 - 0.02);
    const r = ksTwoSample(a, b);
    rel(r.statistic, 0.073, 1e-12);
    rel(r.pValue, 5.3436016402546655e-6, 1e-6);
    const c = Array.from({ length: 4000 }, (_, i) => ((i * 7919) % 4001) / 4001);
    const d = Array.from({ length: 3000 }, (_, j) => (((j * 104729) % 3001) / 3001) * 1.05 - 0.01);
    const s = ksTwoSample(c, d);
    expect(s.method).toBe('asymp');
    rel(s.statistic, 0.03833333333333333, 1e-12);
    rel(s.pValue, 0.012590123121539823, 1e-8); // scipy.special.kolmogorov((√en+0.12+0.11/√en)·D)
    expect(Math.abs(s.pValue - 0.012642809180814616)).toBeLessThan(1e-3); // scipy 'asymp' (kstwo with n=round(en))
  });

  it('same distribution stays quiet, shifted is found; identical samples give p = 1', () => {
    const rng = new Rng(3);
    const x = Array.from({ length: 500 }, () => rng.normal());
    const y = Array.from({ length: 500 }, () => rng.normal());
    const z = Array.from({ length: 500 }, () => rng.normal() + 0.5);
    expect(ksTwoSample(x, y).pValue).toBeGreaterThan(0.05);
    expect(ksTwoSample(x, z).pValue).toBeLessThan(1e-6);
    expect(ksTwoSample(x, x).pValue).toBe(1);
    expectCode(() => ksTwoSample([], [1]), 'E_STATS_EMPTY');
  });
});

describe('categorical and binned distances', () => {
  it('chi-square homogeneity by hand and vs scipy', () => {
    // [[10,20],[20,10]]: expected 15 everywhere, X² = 4·25/15.
    const r = chiSquareTwoSample([10, 20], [20, 10]);
    rel(r.statistic, 100 / 15, 1e-14);
    expect(r.df).toBe(1);
    const s = chiSquareTwoSample([10, 20, 30, 0], [25, 15, 20, 0]);
    rel(s.statistic, 9.142857142857142, 1e-12);
    rel(s.pValue, 0.010343173196618252, 1e-9);
    expect(s.df).toBe(2);
    expect(chiSquareTwoSample([5, 0], [7, 0])).toEqual({ statistic: 0, pValue: 1, df: 0 });
    expectCode(() => chiSquareTwoSample([1, 2], [1]), 'E_STATS_LENGTH');
  });

  it('Jensen-Shannon distance', () => {
    expect(jensenShannon([1, 0], [0, 1])).toBe(1);
    expect(jensenShannon([2, 2], [5, 5])).toBe(0);
    rel(jensenShannon([1, 2, 3], [3, 2, 1]), 0.35470351519813204, 1e-12);
    rel(jensenShannon([0.5, 0.5, 0], [0, 0.1, 0.9]), 0.8972141737096521, 1e-12);
  });

  it('PSI by hand, with empty bins replaced by eps', () => {
    expect(psi([50, 50], [50, 50])).toBe(0);
    // e = (0.5, 0.5), a = (0.8, 0.2): 0.3·ln 1.6 + (-0.3)·ln 0.4
    rel(psi([1, 1], [8, 2]), 0.3 * Math.log(1.6) - 0.3 * Math.log(0.4), 1e-14);
    rel(psi([1, 0], [1, 1]), (0.5 - 1) * Math.log(0.5) + (0.5 - 1e-4) * Math.log(0.5 / 1e-4), 1e-14);
  });

  it('Wasserstein-1 by hand and vs scipy', () => {
    expect(wasserstein1([0, 1, 3], [5, 6, 8])).toBe(5);
    rel(wasserstein1([1, 2, 2, 7], [0.5, 3, 3.5]), 1.5833333333333333, 1e-14);
    expect(wasserstein1([4, 4], [4])).toBe(0);
  });

  it('quantile bins and counts', () => {
    expect(quantileSorted(Float64Array.of(1, 3, 4, 10, 20), 0.25)).toBe(3);
    expect(quantileBins([1, 2, 3, 4, 5], 4)).toEqual([1, 2, 3, 4, 5]);
    expect(quantileBins([7, 7, 7], 10)).toEqual([7, 7]);
    expect(quantileBins([0, 0, 0, 0, 1], 4)).toEqual([0, 1]);
    expect(binCounts([0, 1.5, 2.5, 9, NaN], [1, 2, 3])).toEqual([2, 2]);
    expect(binCounts([1, 2, 3, 4, 5], quantileBins([1, 2, 3, 4, 5], 4))).toEqual([1, 1, 1, 2]);
  });
});

describe('MMD with an RBF kernel', () => {
  it('unbiased statistic equals the direct formula (numpy)', () => {
    const r = mmdRbf(Float32Array.of(0, 1, 2), Float32Array.of(1.5, 3, 4, 4.5), 1, { gamma: 0.5, permutations: 0 });
    rel(r.statistic, 0.3091010313404279, 1e-6);
    expect(Number.isNaN(r.pValue)).toBe(true);
  });

  it('permutation test: shifted embeddings found, same distribution quiet, seeded', () => {
    const rng = new Rng(11);
    const sample = (n: number, shift: number) => Float32Array.from({ length: n * 4 }, (_, i) => rng.normal() + (i % 4 === 0 ? shift : 0));
    const x = sample(120, 0);
    const y = sample(120, 0);
    const z = sample(120, 1);
    const quiet = mmdRbf(x, y, 4, { seed: 1, permutations: 100 });
    const loud = mmdRbf(x, z, 4, { seed: 1, permutations: 100 });
    expect(quiet.pValue).toBeGreaterThan(0.05);
    expect(loud.pValue).toBeLessThan(0.02);
    expect(mmdRbf(x, z, 4, { seed: 1, permutations: 100 })).toEqual(loud);
    expectCode(() => mmdRbf(x, Float32Array.of(1, 2, 3), 4), 'E_STATS_SHAPE');
  });
});
