import { describe, expect, it } from 'vitest';
import { bootstrapCi, bootstrapCounts, pairedBootstrapCi, percentileInterval, resampleCounts } from '../../src/stats/bootstrap.ts';
import { mcnemar } from '../../src/stats/paired.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectCode } from '../expect-error.ts';

describe('McNemar', () => {
  it('exact binomial below 25 discordant pairs, corrected chi-square above (statsmodels conventions)', () => {
    expect(mcnemar(0, 5)).toEqual({ statistic: 0, pValue: 0.0625, exact: true });
    const e = mcnemar(3, 12);
    expect(e.statistic).toBe(3);
    expect(e.pValue).toBeCloseTo(0.03515625, 12); // 2·binom.cdf(3, 15, 0.5)
    const c = mcnemar(10, 25);
    expect(c.exact).toBe(false);
    expect(c.statistic).toBeCloseTo(196 / 35, 12);
    expect(c.pValue).toBeCloseTo(0.01796047752607879, 12); // chi2.sf(5.6, 1)
    expect(mcnemar(0, 0).pValue).toBe(1);
    expect(mcnemar(7, 7).pValue).toBe(1);
    expectCode(() => mcnemar(-1, 2), 'E_STATS_COUNTS');
  });
});

describe('bootstrap', () => {
  it('resample counts are multinomial: sum to n, mean 1 per example', () => {
    const rng = new Rng(5);
    const n = 50;
    const tot = new Float64Array(n);
    const c = new Int32Array(n);
    for (let r = 0; r < 2000; r++) {
      resampleCounts(n, rng, c);
      expect(c.reduce((a, b) => a + b, 0)).toBe(n);
      for (let i = 0; i < n; i++) tot[i] += c[i];
    }
    for (const t of tot) expect(Math.abs(t / 2000 - 1)).toBeLessThan(0.1);
  });

  it('percentile interval uses numpy-linear quantiles and skips NaN', () => {
    expect(percentileInterval(Float64Array.of(1, 2, 3, 4, 5), 3, 0.5)).toEqual({ estimate: 3, low: 2, high: 4 });
    expect(percentileInterval(Float64Array.of(NaN, 1, 3), 2, 0)).toEqual({ estimate: 2, low: 2, high: 2 });
  });

  it('the CI of a mean covers the normal-theory interval and is seeded', () => {
    const rng = new Rng(9);
    const n = 400;
    const y = Float64Array.from({ length: n }, () => rng.normal() * 2 + 1);
    const mean = (w: Int32Array) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += w[i] * y[i];
      return [s / n];
    };
    const [ci] = bootstrapCounts(n, mean, { seed: 1, resamples: 2000 });
    const m = y.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(y.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1));
    const half = (1.96 * sd) / Math.sqrt(n);
    expect(ci.estimate).toBeCloseTo(m, 12);
    expect(Math.abs(ci.low - (m - half))).toBeLessThan(0.25 * half);
    expect(Math.abs(ci.high - (m + half))).toBeLessThan(0.25 * half);
    expect(bootstrapCounts(n, mean, { seed: 1, resamples: 2000 })[0]).toEqual(ci);
    expect(bootstrapCounts(n, mean, { seed: 2, resamples: 2000 })[0]).not.toEqual(ci);
  });

  it('index form agrees with the counts form on the same seed', () => {
    const y = [3, 1, 4, 1, 5, 9, 2, 6];
    const byIdx = bootstrapCi(8, (idx) => idx.reduce((s, i) => s + y[i], 0) / idx.length, { seed: 4, resamples: 300 });
    const [byCounts] = bootstrapCounts(8, (w) => [w.reduce((s, c, i) => s + c * y[i], 0) / 8], { seed: 4, resamples: 300 });
    expect(byIdx.estimate).toBeCloseTo(31 / 8, 12);
    expect(byIdx.low).toBeCloseTo(byCounts.low, 12);
    expect(byIdx.high).toBeCloseTo(byCounts.high, 12);
  });

  it('paired bootstrap: a real difference is significant, a null one is not', () => {
    const rng = new Rng(2);
    const n = 300;
    const a = Array.from({ length: n }, () => (rng.next() < 0.8 ? 1 : 0));
    const worse = a.map((v, i) => (i % 5 === 0 ? 0 : v));
    const same = a.slice();
    const mean = (v: number[]) => (idx: Int32Array) => idx.reduce((s, i) => s + v[i], 0) / idx.length;
    const d = pairedBootstrapCi(n, mean(a), mean(worse), { seed: 3 });
    expect(d.estimate).toBeLessThan(0);
    expect(d.high).toBeLessThan(0);
    expect(d.pValue).toBeLessThan(0.01);
    const z = pairedBootstrapCi(n, mean(a), mean(same), { seed: 3 });
    expect(z.estimate).toBe(0);
    expect(z.pValue).toBe(1);
  });
});
