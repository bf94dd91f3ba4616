/**
 * The Fréchet distance's linear algebra at the cases random matrices never hit: Jacobi rotations with equal
 * diagonal entries (theta = 0) or a zero off-diagonal pair, singular and indefinite inputs to the PSD square root,
 * rounding below zero, and the errors for fits that cannot be made or compared. Closed forms throughout.
 */
import { describe, expect, it } from 'vitest';
import { frechetDistance, gaussianFit, type GaussianFit, sqrtPsd, symmetricEigen } from '../../src/stats/frechet.ts';
import { expectCode } from '../expect-error.ts';

const sorted = (v: Float64Array) => Array.from(v).sort((a, b) => a - b);
const gauss = (mean: number[], cov: number[]): GaussianFit => ({ dim: mean.length, mean: Float64Array.from(mean), cov: Float64Array.from(cov), count: 10 });

function expectAllClose(actual: ArrayLike<number>, want: number[], digits = 12): void {
  expect(actual.length).toBe(want.length);
  want.forEach((w, i) => expect(actual[i]).toBeCloseTo(w, digits));
}

describe('symmetricEigen on the degenerate rotations', () => {
  it('[[1, a], [a, 1]] (equal diagonal, theta = 0) has eigenvalues 1 -+ a and eigenvectors (1, -+1) / sqrt 2', () => {
    const { values, vectors } = symmetricEigen(Float64Array.of(1, 0.5, 0.5, 1), 2);
    expectAllClose(sorted(values), [0.5, 1.5]);
    for (let k = 0; k < 2; k++) expect(Math.abs(vectors[k])).toBeCloseTo(Math.SQRT1_2, 12); // row 0 of V
  });

  it('skips a pair whose off-diagonal entry is zero (here with equal diagonals: 0 / 0)', () => {
    // Pair (0, 1) is already diagonal with a00 = a11; the (0, 2) block [[1, 0.5], [0.5, 2]] has (3 -+ sqrt 2) / 2.
    const { values } = symmetricEigen(Float64Array.of(1, 0, 0.5, 0, 1, 0, 0.5, 0, 2), 3);
    expectAllClose(sorted(values), [(3 - Math.SQRT2) / 2, 1, (3 + Math.SQRT2) / 2]);
  });

  it('a diagonal or zero matrix comes back as it is, with V = I', () => {
    const diag = symmetricEigen(Float64Array.of(3, 0, 0, 0, -1, 0, 0, 0, 2), 3);
    expect(Array.from(diag.values)).toEqual([3, -1, 2]);
    expect(Array.from(diag.vectors)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(Array.from(symmetricEigen(new Float64Array(4), 2).values)).toEqual([0, 0]);
  });
});

describe('sqrtPsd', () => {
  it('of the singular [[1, 1], [1, 1]] is itself over sqrt 2', () => {
    expectAllClose(sqrtPsd(Float64Array.of(1, 1, 1, 1), 2), [1, 1, 1, 1].map((v) => v * Math.SQRT1_2));
  });

  it('counts a negative eigenvalue as zero: [[1, 2], [2, 1]] = 3 uu^T - vv^T gives sqrt 3 uu^T', () => {
    const half = Math.sqrt(3) / 2;
    expectAllClose(sqrtPsd(Float64Array.of(1, 2, 2, 1), 2), [half, half, half, half]);
  });
});

describe('frechetDistance on singular covariances and at zero', () => {
  it('is |mu1 - mu2|^2 + tr S1 + tr S2 when S1 S2 = 0 (the product\'s eigenvalues round to ±1e-15)', () => {
    // S1 = u u^T, S2 = v v^T with u = (1, 3) and v = (3, -1) orthogonal; sqrt(1e-15) = 3e-8 bounds the error.
    expect(frechetDistance(gauss([0, 0], [1, 3, 3, 9]), gauss([1, 0], [9, -3, -3, 1]))).toBeCloseTo(1 + 10 + 10, 6);
  });

  it('is exactly 0, never below, for a fit against itself whose rounding overshoots', () => {
    // 1-D, variance 7: 2 * 7 - 2 * sqrt(sqrt 7 * 7 * sqrt 7) rounds to -1.8e-15.
    expect(frechetDistance(gauss([1], [7]), gauss([1], [7]))).toBe(0);
  });

  it('fits that cannot be made or compared are errors naming the sizes', () => {
    const hint = /pass at least two feature rows/;
    expectCode(() => gaussianFit(Float32Array.of(1, 2, 3, 4, 5), 2), 'E_USAGE', /^gaussianFit: 5 values are not n >= 2 rows of 2$/, hint);
    expectCode(() => gaussianFit(Float32Array.of(1, 2, 3, 4), 0), 'E_USAGE', /rows of 0$/);
    expectCode(() => gaussianFit(Float32Array.of(1, 2, 3, 4), 1.5), 'E_USAGE', /rows of 1.5$/);
    expectCode(() => gaussianFit(Float32Array.of(1, 2, 3), 3), 'E_USAGE', /3 values/);
    expect(Array.from(gaussianFit(Float32Array.of(1, 3), 1).cov)).toEqual([2]);
    expectCode(() => frechetDistance(gauss([0, 0], [1, 0, 0, 1]), gauss([0], [1])), 'E_SHAPE', /^frechetDistance: fits of 2 and 1 dimensions$/, /fit the same features/);
  });
});
