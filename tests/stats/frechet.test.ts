import { describe, expect, it } from 'vitest';
import { frechetDistance, gaussianFit, type GaussianFit, sqrtPsd, symmetricEigen } from '../../src/stats/frechet.ts';
import { Rng } from '../../src/util/rng.ts';

/** A random symmetric positive definite d x d matrix: A A^T / d + eps I. */
function randomSpd(d: number, rng: Rng): Float64Array {
  const a = Float64Array.from({ length: d * d }, () => rng.normal());
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += a[i * d + k] * a[j * d + k];
      out[i * d + j] = s / d + (i === j ? 0.05 : 0);
    }
  }
  return out;
}

const fit = (mean: number[], cov: ArrayLike<number>): GaussianFit => ({
  dim: mean.length, mean: Float64Array.from(mean), cov: Float64Array.from(cov), count: 1000,
});

/** Q A Q^T and Q mu for a random rotation Q (Gram-Schmidt of a Gaussian matrix). */
function rotate(g: GaussianFit, q: Float64Array): GaussianFit {
  const d = g.dim;
  const mean = Float64Array.from({ length: d }, (_, i) => q.slice(i * d, (i + 1) * d).reduce((s, x, k) => s + x * g.mean[k], 0));
  const cov = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
    let s = 0;
    for (let k = 0; k < d; k++) for (let l = 0; l < d; l++) s += q[i * d + k] * g.cov[k * d + l] * q[j * d + l];
    cov[i * d + j] = s;
  }
  return { ...g, mean, cov };
}

function randomRotation(d: number, rng: Rng): Float64Array {
  const q = Float64Array.from({ length: d * d }, () => rng.normal());
  for (let i = 0; i < d; i++) {
    for (let p = 0; p < i; p++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += q[i * d + k] * q[p * d + k];
      for (let k = 0; k < d; k++) q[i * d + k] -= dot * q[p * d + k];
    }
    const norm = Math.hypot(...q.slice(i * d, (i + 1) * d));
    for (let k = 0; k < d; k++) q[i * d + k] /= norm;
  }
  return q;
}

describe('frechetDistance (the statistic of the classifier FID)', () => {
  it('matches the closed form for diagonal covariances', () => {
    const rng = new Rng(1);
    for (const d of [1, 5, 40]) {
      const [m1, m2] = [0, 1].map(() => Array.from({ length: d }, () => rng.normal()));
      const [v1, v2] = [0, 1].map(() => Array.from({ length: d }, () => 0.1 + 3 * rng.next()));
      const diag = (v: number[]) => Float64Array.from({ length: d * d }, (_, k) => (k % (d + 1) === 0 ? v[k / (d + 1)] : 0));
      let expected = 0;
      for (let i = 0; i < d; i++) expected += (m1[i] - m2[i]) ** 2 + (Math.sqrt(v1[i]) - Math.sqrt(v2[i])) ** 2;
      expect(frechetDistance(fit(m1, diag(v1)), fit(m2, diag(v2)))).toBeCloseTo(expected, 9);
    }
  });

  it('matches the 2x2 closed form for covariances that do not commute', () => {
    // For 2x2 PSD M: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)); with M = S1^(1/2) S2 S1^(1/2), tr M = tr(S1 S2).
    const s1 = [2, 0.9, 0.9, 1];
    const s2 = [0.5, -0.3, -0.3, 3];
    const trS1S2 = s1[0] * s2[0] + s1[1] * s2[2] + s1[2] * s2[1] + s1[3] * s2[3];
    const det = (s: number[]) => s[0] * s[3] - s[1] * s[2];
    const traceRoot = Math.sqrt(trS1S2 + 2 * Math.sqrt(det(s1) * det(s2)));
    const expected = (1 - -0.5) ** 2 + (2 - 2) ** 2 + s1[0] + s1[3] + s2[0] + s2[3] - 2 * traceRoot;
    expect(frechetDistance(fit([1, 2], s1), fit([-0.5, 2], s2))).toBeCloseTo(expected, 10);
    // tr(S1^(1/2) S2^(1/2)), right only when S1 and S2 commute, gives another number here.
    const [r1, r2] = [sqrtPsd(s1, 2), sqrtPsd(s2, 2)];
    const naive = r1[0] * r2[0] + r1[1] * r2[2] + r1[2] * r2[1] + r1[3] * r2[3];
    expect(Math.abs(naive - traceRoot)).toBeGreaterThan(0.01);
  });

  it('is zero for equal fits, symmetric, and unchanged by rotating both fits', () => {
    const rng = new Rng(2);
    const d = 24;
    const a = fit(Array.from({ length: d }, () => rng.normal()), randomSpd(d, rng));
    const b = fit(Array.from({ length: d }, () => rng.normal()), randomSpd(d, rng));
    expect(frechetDistance(a, a)).toBeLessThan(1e-9);
    const ab = frechetDistance(a, b);
    expect(ab).toBeGreaterThan(1);
    expect(frechetDistance(b, a)).toBeCloseTo(ab, 8);
    const q = randomRotation(d, rng);
    expect(frechetDistance(rotate(a, q), rotate(b, q))).toBeCloseTo(ab, 8);
  });

  it('is the squared shift for two fits of the same samples shifted by a constant', () => {
    const rng = new Rng(3);
    const [n, d] = [500, 8];
    const x = Float64Array.from({ length: n * d }, () => rng.normal());
    const shifted = x.map((v, i) => v + (i % d === 0 ? 3 : 0));
    expect(frechetDistance(gaussianFit(x, d), gaussianFit(shifted, d))).toBeCloseTo(9, 8);
  });
});

describe('Gaussian fits and PSD square roots', () => {
  it('fits the mean and the unbiased covariance', () => {
    const g = gaussianFit(Float32Array.of(0, 1, 2, 5, 4, 0), 2);
    expect([...g.mean]).toEqual([2, 2]);
    expect([...g.cov]).toEqual([4, -1, -1, 7]);
    expect(() => gaussianFit(Float32Array.of(1, 2), 2)).toThrow(/n >= 2 rows/);
  });

  it('decomposes a symmetric matrix and squares its root back', () => {
    const rng = new Rng(4);
    const d = 16;
    const a = randomSpd(d, rng);
    const { values, vectors: v } = symmetricEigen(a, d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += v[i * d + k] * values[k] * v[j * d + k];
      expect(s).toBeCloseTo(a[i * d + j], 10);
    }
    const r = sqrtPsd(a, d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += r[i * d + k] * r[k * d + j];
      expect(s).toBeCloseTo(a[i * d + j], 10);
    }
  });
});
