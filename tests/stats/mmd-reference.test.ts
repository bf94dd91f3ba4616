/**
 * MMD with an RBF kernel against numpy: the median-heuristic bandwidth (an even count of pairs, so the median
 * interpolates), the permutation p-value (1 + #{permuted >= observed}) / (1 + R) at both of its ends, and the
 * seeded subsample above `maxSamples`.
 */
import { describe, expect, it } from 'vitest';
import { mmdRbf } from '../../src/stats/mmd.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectCode } from '../expect-error.ts';

function rel(actual: number, expected: number, rtol = 1e-9): void {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(rtol * Math.abs(expected));
}

/** The unbiased MMD^2 by its definition (plain loops over rows of `dim`), for samples the test picks itself. */
function mmdByDefinition(x: ArrayLike<number>, y: ArrayLike<number>, dim: number, gamma: number): number {
  const rows = (a: ArrayLike<number>) => Array.from({ length: a.length / dim }, (_, i) => Array.from({ length: dim }, (_, t) => a[i * dim + t]));
  const k = (a: number[], b: number[]) => Math.exp(-gamma * a.reduce((s, v, t) => s + (v - b[t]) ** 2, 0));
  const mean = (a: number[][], b: number[][], same: boolean) => {
    let s = 0;
    let c = 0;
    a.forEach((r, i) => b.forEach((q, j) => {
      if (same && i === j) return;
      s += k(r, q);
      c++;
    }));
    return s / c;
  };
  const [xr, yr] = [rows(x), rows(y)];
  return mean(xr, xr, true) + mean(yr, yr, true) - 2 * mean(xr, yr, false);
}

// Values from numpy 2.4: d = pairwise squared distances of the pooled rows, gamma = 1 / np.median(d[triu(1)]),
// K = exp(-gamma d), MMD^2 = (sum Kxx - n) / (n (n-1)) + (sum Kyy - m) / (m (m-1)) - 2 mean Kxy.
describe('MMD median heuristic (numpy reference)', () => {
  it('gamma is 1 / the median pairwise squared distance, interpolated between the two middle pairs', () => {
    // Pairs: 1, 1, 4, 9, 16, 25, 36, 49, 49, 64 -> median (16 + 25) / 2 = 20.5.
    const r = mmdRbf(Float32Array.of(0, 1), Float32Array.of(3, 7, 8), 1, { permutations: 0 });
    rel(r.gamma, 1 / 20.5, 1e-15);
    rel(r.statistic, 0.898571543175227, 1e-12);
  });

  it('on 300 rows (44850 pairs, the median of every second pair) gamma and the statistic match numpy', () => {
    const x = Float32Array.from({ length: 150 }, (_, i) => i / 64);
    const y = Float32Array.from({ length: 150 }, (_, i) => 1 + i / 32);
    const r = mmdRbf(x, y, 1, { permutations: 0 });
    rel(r.gamma, 0.5171064259563186, 1e-9);
    rel(r.statistic, 0.5468000141249286, 1e-9);
  });

  it('identical rows (median distance 0) fall back to gamma 1 and a statistic of 0', () => {
    const r = mmdRbf(Float32Array.of(2, 2, 2, 2), Float32Array.of(2, 2, 2, 2), 2, { permutations: 0 });
    expect(r.gamma).toBe(1);
    expect(r.statistic).toBe(0);
  });
});

describe('MMD permutation p-value', () => {
  it('is 1 when every relabelling is at least as far apart as the observed one (ties count)', () => {
    // Pooled 0, 1, 1, 0: 4 of the 6 splits equal the observed one, the other 2 ({0, 0} vs {1, 1}) are larger.
    const r = mmdRbf(Float32Array.of(0, 1), Float32Array.of(1, 0), 1, { gamma: 1, permutations: 50, seed: 3 });
    expect(r.pValue).toBe(1);
    rel(r.statistic, mmdByDefinition([0, 1], [1, 0], 1, 1), 1e-12);
  });

  it('is 1 / (1 + R) for two far-apart clusters, which no relabelling matches', () => {
    const x = Float32Array.from({ length: 8 }, (_, i) => i / 8);
    const y = Float32Array.from({ length: 8 }, (_, i) => 10 + i / 8);
    const r = mmdRbf(x, y, 1, { gamma: 1, permutations: 99, seed: 5 });
    expect(r.pValue).toBe(1 / 100);
    rel(r.statistic, mmdByDefinition(x, y, 1, 1), 1e-12);
  });

  it('with R permutations is a multiple of 1 / (1 + R) between 1 / (1 + R) and 1', () => {
    const rng = new Rng(4);
    const x = Float32Array.from({ length: 40 }, () => rng.normal());
    const y = Float32Array.from({ length: 40 }, () => rng.normal() + 0.3);
    const r = mmdRbf(x, y, 2, { permutations: 30, seed: 2 });
    const count = r.pValue * 31;
    expect(Math.abs(count - Math.round(count))).toBeLessThan(1e-9);
    expect(count).toBeGreaterThan(1.5); // a modest shift on 20 rows: some relabellings beat it
    expect(count).toBeLessThan(31.5);
  });
});

describe('MMD subsampling above maxSamples', () => {
  const rng = new Rng(8);
  const x = Float32Array.from({ length: 30 * 2 }, () => rng.normal());
  const y = Float32Array.from({ length: 12 * 2 }, () => rng.normal() + 0.5);

  it('leaves a sample of exactly maxSamples rows alone (same statistic and p-value as no limit)', () => {
    expect(mmdRbf(x, y, 2, { maxSamples: 30, seed: 1, permutations: 20 })).toEqual(mmdRbf(x, y, 2, { seed: 1, permutations: 20 }));
  });

  it('above it, uses the first maxSamples rows of a seeded shuffle of each sample', () => {
    const r = mmdRbf(x, y, 2, { maxSamples: 10, seed: 6, gamma: 0.4, permutations: 0 });
    // The same stream: x's row order is shuffled first, then y's.
    const stream = new Rng(6);
    const pick = (a: Float32Array) => {
      const order = Int32Array.from({ length: a.length / 2 }, (_, i) => i);
      stream.shuffle(order);
      return Array.from(order.subarray(0, 10)).flatMap((i) => [a[2 * i], a[2 * i + 1]]);
    };
    const [xs, ys] = [pick(x), pick(y)];
    rel(r.statistic, mmdByDefinition(xs, ys, 2, 0.4), 1e-12);
    // A different subsample is a different statistic (the rows matter, not just their count).
    expect(Math.abs(r.statistic - mmdByDefinition(x.subarray(0, 20), y.subarray(0, 20), 2, 0.4))).toBeGreaterThan(1e-6);
  });

  it('needs two rows on each side after subsampling and rows of dim values', () => {
    expectCode(() => mmdRbf(Float32Array.of(1, 2), Float32Array.of(3), 1), 'E_STATS_EMPTY', /got 2 and 1/);
    expectCode(() => mmdRbf(Float32Array.of(1, 2, 3), Float32Array.of(3, 4), 2), 'E_STATS_SHAPE');
    expectCode(() => mmdRbf(x, y, 2, { maxSamples: 1 }), 'E_STATS_EMPTY');
  });

  it('names the lengths and the dim, and checks the first sample too', () => {
    expectCode(() => mmdRbf(Float32Array.of(1), Float32Array.of(2, 3), 1), 'E_STATS_EMPTY', /^mmdRbf: each sample needs at least 2 rows \(got 1 and 2\)$/);
    expectCode(() => mmdRbf(Float32Array.of(1, 2, 3), Float32Array.of(3, 4), 2), 'E_STATS_SHAPE', /^mmdRbf: sample lengths 3 and 2 are not multiples of dim 2$/);
  });
});
