/**
 * The statistics refuse what they cannot answer (an empty sample, misaligned bins, negative counts) with one
 * coded error naming the function, and switch methods exactly at their documented limits.
 */
import { describe, expect, it } from 'vitest';
import { chiSquareTwoSample, jensenShannon, KS_EXACT_MAX_PRODUCT, ksTwoSample, psi, quantileBins, wasserstein1 } from '../../src/stats/drift.ts';
import { MCNEMAR_EXACT_BELOW, mcnemar } from '../../src/stats/paired.ts';
import { expectCode } from '../expect-error.ts';

describe('input checks', () => {
  it('empty samples (NaNs do not count) are E_STATS_EMPTY, naming the function and the sizes', () => {
    expectCode(() => ksTwoSample([], [1, 2]), 'E_STATS_EMPTY', /ksTwoSample: both samples need values \(got 0 and 2\)/);
    expectCode(() => ksTwoSample([1], [Number.NaN]), 'E_STATS_EMPTY', /got 1 and 0/);
    expectCode(() => wasserstein1([1, 2, 3], []), 'E_STATS_EMPTY', /wasserstein1: both samples need values \(got 3 and 0\)/);
    expectCode(() => wasserstein1([Number.NaN], [1]), 'E_STATS_EMPTY', /got 0 and 1/);
    expectCode(() => quantileBins([Number.NaN]), 'E_STATS_EMPTY', /quantileBins: empty reference/);
    expectCode(() => psi([0, 0], [1, 1]), 'E_STATS_EMPTY', /zero total mass/);
    expectCode(() => jensenShannon([1, 1], [0, 0]), 'E_STATS_EMPTY', /zero total mass/);
  });

  it('misaligned bins are E_STATS_LENGTH with both sizes', () => {
    const e = expectCode(() => chiSquareTwoSample([1, 2], [1, 2, 3]), 'E_STATS_LENGTH', /chiSquareTwoSample: 2 categories vs 3/);
    expect(e.hint).toMatch(/same categories/);
    expectCode(() => jensenShannon([1], [1, 2]), 'E_STATS_LENGTH', /jensenShannon: 1 bins vs 2/);
    expectCode(() => psi([1, 2, 3], [1, 2]), 'E_STATS_LENGTH', /psi: 3 bins vs 2/);
  });

  it('McNemar counts must be non-negative integers', () => {
    for (const [b, c] of [[-1, 2], [2, -1], [1.5, 2], [2, 0.5]]) {
      expectCode(() => mcnemar(b, c), 'E_STATS_COUNTS', new RegExp(`mcnemar: discordant counts must be non-negative integers \\(got ${b}, ${c}\\)`));
    }
  });
});

describe('method limits', () => {
  it(`McNemar is exact below ${MCNEMAR_EXACT_BELOW} discordant pairs and the corrected chi-square from there`, () => {
    expect(mcnemar(10, 14)).toMatchObject({ exact: true, statistic: 10 });
    // b + c = 25: (|10 - 15| - 1)² / 25 = 0.64 on 1 df (statsmodels mcnemar(exact=False, correction=True)).
    const chi = mcnemar(10, 15);
    expect(chi.exact).toBe(false);
    expect(chi.statistic).toBeCloseTo(0.64, 15);
    expect(chi.pValue).toBeCloseTo(0.4237107971667934, 9); // scipy.stats.chi2.sf(0.64, 1)
  });

  it('chi-square of two samples when one is empty: nothing to compare, p = 1', () => {
    expect(chiSquareTwoSample([0, 0, 0], [5, 3, 2])).toEqual({ statistic: 0, pValue: 1, df: 0 });
    expect(chiSquareTwoSample([4, 1], [0, 0])).toEqual({ statistic: 0, pValue: 1, df: 0 });
  });

  it(`KS is exact up to n1·n2 = ${KS_EXACT_MAX_PRODUCT} inclusive, asymptotic beyond`, () => {
    const a = Float64Array.from({ length: 2000 }, (_, i) => i / 2000);
    const at = Float64Array.from({ length: KS_EXACT_MAX_PRODUCT / 2000 }, (_, i) => i / 5000 + 0.01);
    const beyond = Float64Array.from({ length: KS_EXACT_MAX_PRODUCT / 2000 + 1 }, (_, i) => i / 5001 + 0.01);
    expect(ksTwoSample(a, at).method).toBe('exact');
    expect(ksTwoSample(a, beyond).method).toBe('asymp');
  });
});
