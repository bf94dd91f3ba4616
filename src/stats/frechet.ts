/**
 * The Fréchet distance between two Gaussians, the statistic of FID: d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2)
 * - 2 tr((S1^(1/2) S2 S1^(1/2))^(1/2)). The trace of the matrix square root is taken through the symmetric
 * product S1^(1/2) S2 S1^(1/2) (PSD, so its square root is its eigenvalues' square roots), never through the
 * non-symmetric S1 S2; eigendecompositions are cyclic Jacobi rotations in float64.
 */
import { SwitchyardError } from '../util/errors.ts';

/**
 * A Gaussian fit: the mean [d] and the covariance [d, d] (row-major), in float64.
 *
 * @example
 * const g: GaussianFit = { dim: 2, mean: Float64Array.of(0, 0), cov: Float64Array.of(1, 0, 0, 1), count: 100 };
 */
export interface GaussianFit {
  dim: number;
  mean: Float64Array;
  cov: Float64Array;
  /** Rows the fit was made from. */
  count: number;
}

/**
 * The mean and the unbiased (n - 1) covariance of `n` rows of `dim` values (row-major, any float array).
 *
 * @example
 * gaussianFit(Float32Array.of(0, 0, 2, 2), 2); // mean [1, 1], cov [[2, 2], [2, 2]]
 */
export function gaussianFit(rows: ArrayLike<number>, dim: number): GaussianFit {
  const n = Math.floor(rows.length / dim);
  if (!(Number.isInteger(dim) && dim >= 1) || n < 2 || n * dim !== rows.length) {
    const what = `gaussianFit: ${rows.length} values are not n >= 2 rows of ${dim}`;
    throw new SwitchyardError('E_USAGE', what, 'pass at least two feature rows');
  }
  const mean = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let j = 0; j < dim; j++) mean[j] += rows[r * dim + j] / n;
  const cov = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < dim; j++) centred[j] = rows[r * dim + j] - mean[j];
    for (let a = 0; a < dim; a++) {
      const ca = centred[a];
      for (let b = a; b < dim; b++) cov[a * dim + b] += ca * centred[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) cov[b * dim + a] = cov[a * dim + b] /= n - 1;
  }
  return { dim, mean, cov, count: n };
}

/**
 * Eigenvalues and eigenvectors of a symmetric matrix `a` [d, d] (row-major) by cyclic Jacobi rotations:
 * `values[k]` with `vectors` column k (row-major [d, d]), so a = V diag(values) V^T.
 *
 * @example
 * const { values } = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2); // [1, 3] in some order
 */
export function symmetricEigen(a: ArrayLike<number>, d: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  const scale = m.reduce((s, x) => s + x * x, 0);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += m[p * d + q] ** 2;
    if (off <= 1e-30 * scale || off === 0) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = m[p * d + q];
        if (apq === 0) continue;
        // The rotation that zeroes a[p][q] (Golub & Van Loan, the smaller root of t^2 + 2 theta t - 1 = 0).
        const theta = (m[q * d + q] - m[p * d + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          const [mkp, mkq] = [m[k * d + p], m[k * d + q]];
          m[k * d + p] = c * mkp - s * mkq;
          m[k * d + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < d; k++) {
          const [mpk, mqk] = [m[p * d + k], m[q * d + k]];
          m[p * d + k] = c * mpk - s * mqk;
          m[q * d + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < d; k++) {
          const [vkp, vkq] = [v[k * d + p], v[k * d + q]];
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: d }, (_, i) => m[i * d + i]), vectors: v };
}

/**
 * The square root of a symmetric positive semi-definite matrix, V diag(sqrt(max(0, lambda))) V^T (eigenvalues
 * below zero are rounding and count as zero).
 *
 * @example
 * sqrtPsd(Float64Array.of(4, 0, 0, 9), 2); // [2, 0, 0, 3]
 */
export function sqrtPsd(a: ArrayLike<number>, d: number): Float64Array {
  const { values, vectors: v } = symmetricEigen(a, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const r = Math.sqrt(Math.max(0, values[k]));
    if (r === 0) continue;
    for (let i = 0; i < d; i++) {
      const vik = v[i * d + k] * r;
      for (let j = 0; j < d; j++) out[i * d + j] += vik * v[j * d + k];
    }
  }
  return out;
}

/** a [d, d] times b [d, d], row-major, float64. */
function matmul(a: Float64Array, b: ArrayLike<number>, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k];
      if (aik !== 0) for (let j = 0; j < d; j++) out[i * d + j] += aik * b[k * d + j];
    }
  }
  return out;
}

/**
 * The squared Fréchet (2-Wasserstein) distance between Gaussian fits `a` and `b` (see the module comment). Zero
 * for equal fits, symmetric, and for diagonal covariances |mu1 - mu2|^2 + sum_i (sqrt(s1_i) - sqrt(s2_i))^2.
 *
 * @example
 * frechetDistance(gaussianFit(realFeatures, 64), gaussianFit(fakeFeatures, 64));
 */
export function frechetDistance(a: GaussianFit, b: GaussianFit): number {
  if (a.dim !== b.dim) {
    throw new SwitchyardError('E_SHAPE', `frechetDistance: fits of ${a.dim} and ${b.dim} dimensions`, 'fit the same features');
  }
  const d = a.dim;
  let meanTerm = 0;
  let traces = 0;
  for (let i = 0; i < d; i++) {
    meanTerm += (a.mean[i] - b.mean[i]) ** 2;
    traces += a.cov[i * d + i] + b.cov[i * d + i];
  }
  const root = sqrtPsd(a.cov, d);
  const product = matmul(matmul(root, b.cov, d), root, d);
  // Symmetrise away rounding so the Jacobi sweeps see an exactly symmetric matrix.
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) product[i * d + j] = product[j * d + i] = (product[i * d + j] + product[j * d + i]) / 2;
  }
  const { values } = symmetricEigen(product, d);
  const traceRoot = values.reduce((s, l) => s + Math.sqrt(Math.max(0, l)), 0);
  return Math.max(0, meanTerm + traces - 2 * traceRoot);
}
