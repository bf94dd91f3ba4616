/**
 * The bootstrap's resampling against closed forms (an example is left out of a resample of n with probability
 * (1 - 1/n)^n), skipping ahead to resample r, the defaults (1000 resamples, seed 0, level 0.95), and the options
 * reaching every entry point.
 */
import { describe, expect, it } from 'vitest';
import {
  bootstrapCi, bootstrapCounts, bootstrapSamples, pairedBootstrapCi, percentileInterval, resampleCounts, skipResamples,
} from '../../src/stats/bootstrap.ts';
import { Rng } from '../../src/util/rng.ts';

const y = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
const weightedMean = (w: Int32Array) => [w.reduce((s, c, i) => s + c * y[i], 0) / y.length];
const indexMean = (v: number[]) => (idx: Int32Array) => idx.reduce((s, i) => s + v[i], 0) / idx.length;

describe('resample counts', () => {
  it('leave an example out with probability (1 - 1/n)^n and overwrite what the buffer held', () => {
    const n = 10;
    const rng = new Rng(12);
    const out = new Int32Array(n).fill(7);
    let absent = 0;
    let twice = 0;
    const draws = 6000;
    for (let r = 0; r < draws; r++) {
      resampleCounts(n, rng, out);
      expect(out.reduce((a, b) => a + b, 0)).toBe(n);
      if (out[3] === 0) absent++;
      if (out[3] === 2) twice++;
    }
    // Binomial(10, 1/10): P(0) = 0.9^10 = 0.34868, P(2) = 45 * 0.01 * 0.9^8 = 0.19371; 4 standard errors ~ 0.025.
    expect(Math.abs(absent / draws - 0.9 ** 10)).toBeLessThan(0.025);
    expect(Math.abs(twice / draws - 45 * 0.01 * 0.9 ** 8)).toBeLessThan(0.025);
  });

  it('skipResamples(n, rng, r) lands where the r-th resample of the sequential stream starts', () => {
    const n = 7;
    const sequential = new Rng(21);
    const stream = Array.from({ length: 5 }, () => Array.from(resampleCounts(n, sequential, new Int32Array(n))));
    for (let r = 0; r < 5; r++) {
      const rng = new Rng(21);
      expect(skipResamples(n, rng, r)).toBe(rng);
      expect(Array.from(resampleCounts(n, rng, new Int32Array(n)))).toEqual(stream[r]);
    }
  });
});

describe('bootstrap defaults and options', () => {
  it('defaults to 1000 resamples from seed 0; the estimate is the statistic on the full sample', () => {
    const { estimates, samples } = bootstrapSamples(y.length, weightedMean);
    expect(samples[0].length).toBe(1000);
    expect(estimates[0]).toBeCloseTo(3.9, 12);
    expect(bootstrapSamples(y.length, weightedMean, { seed: 0 }).samples[0]).toEqual(samples[0]);
    expect(bootstrapSamples(y.length, weightedMean, { resamples: 37, seed: 4 }).samples[0].length).toBe(37);
  });

  it('every statistic sees the same resamples', () => {
    const both = (w: Int32Array) => [weightedMean(w)[0], 2 * weightedMean(w)[0] + 1];
    const { estimates, samples } = bootstrapSamples(y.length, both, { resamples: 50, seed: 9 });
    expect(estimates[1]).toBeCloseTo(2 * 3.9 + 1, 12);
    samples[0].forEach((v, r) => expect(samples[1][r]).toBeCloseTo(2 * v + 1, 12));
    // Resamples of a mean of 10 values vary (a resample that repeated the full sample would not).
    expect(new Set(samples[0]).size).toBeGreaterThan(10);
  });

  it('the level reaches the interval: 0.5 gives the quartiles of the resampled statistic, 0.95 the 2.5/97.5 %', () => {
    const opts = { resamples: 400, seed: 3 };
    const { samples } = bootstrapSamples(y.length, weightedMean, opts);
    const narrow = bootstrapCounts(y.length, weightedMean, { ...opts, level: 0.5 })[0];
    expect(narrow).toEqual(percentileInterval(samples[0], 3.9, 0.5));
    const wide = bootstrapCounts(y.length, weightedMean, opts)[0];
    expect(wide.low).toBeCloseTo(percentileInterval(samples[0], 3.9).low, 12);
    expect(wide.low).toBeLessThan(narrow.low);
    expect(wide.high).toBeGreaterThan(narrow.high);
    const byIndex = bootstrapCi(y.length, indexMean(y), { ...opts, level: 0.5 });
    expect(byIndex.low).toBeCloseTo(narrow.low, 12);
    expect(byIndex.high).toBeCloseTo(narrow.high, 12);
  });

  it('index statistics get n sorted indices, each example as often as its count', () => {
    const seen: number[][] = [];
    bootstrapCi(6, (idx) => {
      seen.push(Array.from(idx));
      return 0;
    }, { resamples: 20, seed: 2 });
    expect(seen[0]).toEqual([0, 1, 2, 3, 4, 5]);
    const rng = new Rng(2);
    for (const idx of seen.slice(1)) {
      const counts = resampleCounts(6, rng, new Int32Array(6));
      expect(idx).toEqual([...idx].sort((a, b) => a - b));
      expect(idx).toEqual(Array.from(counts).flatMap((c, i) => Array<number>(c).fill(i)));
    }
  });

  it('the paired interval honours the level and is B - A on each resample', () => {
    const a = y.map((v) => v % 2);
    const b = y.map((v) => (v >= 2 ? 1 : 0)); // mean 0.8 against 0.7
    const wide = pairedBootstrapCi(y.length, indexMean(a), indexMean(b), { resamples: 300, seed: 8 });
    const narrow = pairedBootstrapCi(y.length, indexMean(a), indexMean(b), { resamples: 300, seed: 8, level: 0.5 });
    expect(wide.estimate).toBeCloseTo(0.1, 12);
    expect(narrow.estimate).toBeCloseTo(0.1, 12);
    expect(narrow.low).toBeGreaterThan(wide.low);
    expect(narrow.high).toBeLessThan(wide.high);
    expect(narrow.pValue).toBe(wide.pValue);
  });

  it('evaluates the statistic once on the full sample and once per resample, no more', () => {
    let calls = 0;
    bootstrapSamples(y.length, (w) => {
      calls++;
      return weightedMean(w);
    }, { resamples: 25, seed: 1 });
    expect(calls).toBe(26);
  });

  it('an all-NaN statistic has NaN bounds', () => {
    const r = percentileInterval(Float64Array.of(Number.NaN, Number.NaN), 1);
    expect(r.estimate).toBe(1);
    expect(r.low).toBeNaN();
    expect(r.high).toBeNaN();
  });
});
