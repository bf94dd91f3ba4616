/** Maximum mean discrepancy with an RBF kernel and a permutation test, for embedding drift. */
import { check } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { quantileSorted } from './quantile.ts';

/**
 * Options of {@link mmdRbf}.
 *
 * @example
 * const o: MmdOptions = { permutations: 200, seed: 1, maxSamples: 500 };
 */
export interface MmdOptions {
  /** Kernel k(a,b) = exp(-gamma·|a-b|²); default 1 / median pairwise squared distance (median heuristic). */
  gamma?: number;
  /** Label permutations for the p-value (default 200; 0 gives pValue NaN). */
  permutations?: number;
  seed?: number;
  /** Rows per sample above which a seeded random subsample is used (default 1000). */
  maxSamples?: number;
}

function subsample(x: Float32Array, dim: number, max: number, rng: Rng): Float32Array {
  const n = x.length / dim;
  if (n <= max) return x;
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  rng.shuffle(idx);
  const out = new Float32Array(max * dim);
  for (let r = 0; r < max; r++) out.set(x.subarray(idx[r] * dim, (idx[r] + 1) * dim), r * dim);
  return out;
}

/**
 * Unbiased squared MMD between samples `x` [n, dim] and `y` [m, dim] (row-major) under an RBF kernel,
 * with a permutation-test p-value (1 + #{permuted >= observed}) / (1 + permutations).
 *
 * @example
 * const r = mmdRbf(Float32Array.of(0, 0.1, 0.2), Float32Array.of(5, 5.1, 5.2), 1, { gamma: 1, permutations: 0 });
 * r.statistic; // ≈ 2 (both within-sample kernels ≈ 1, cross-kernel ≈ 0)
 */
export function mmdRbf(x: Float32Array, y: Float32Array, dim: number, opts: MmdOptions = {}): { statistic: number; pValue: number; gamma: number } {
  check(dim > 0 && x.length % dim === 0 && y.length % dim === 0, 'E_STATS_SHAPE', `mmdRbf: sample lengths ${x.length} and ${y.length} are not multiples of dim ${dim}`);
  const rng = new Rng(opts.seed ?? 0);
  const max = opts.maxSamples ?? 1000;
  const xs = subsample(x, dim, max, rng);
  const ys = subsample(y, dim, max, rng);
  const n = xs.length / dim;
  const m = ys.length / dim;
  check(n >= 2 && m >= 2, 'E_STATS_EMPTY', `mmdRbf: each sample needs at least 2 rows (got ${n} and ${m})`);
  const N = n + m;
  const row = (i: number): Float32Array => (i < n ? xs.subarray(i * dim, (i + 1) * dim) : ys.subarray((i - n) * dim, (i - n + 1) * dim));
  const k = new Float64Array((N * (N - 1)) / 2); // upper triangle, row-major
  let p = 0;
  for (let i = 0; i < N; i++) {
    const a = row(i);
    for (let j = i + 1; j < N; j++) {
      const b = row(j);
      let d = 0;
      for (let t = 0; t < dim; t++) d += (a[t] - b[t]) ** 2;
      k[p++] = d;
    }
  }
  let gamma = opts.gamma;
  if (gamma === undefined) {
    const step = Math.max(1, Math.floor(k.length / 20000));
    const sample = Float64Array.from({ length: Math.ceil(k.length / step) }, (_, i) => k[i * step]).sort();
    const med = quantileSorted(sample, 0.5);
    gamma = med > 0 ? 1 / med : 1;
  }
  for (let i = 0; i < k.length; i++) k[i] = Math.exp(-gamma * k[i]);
  const label = new Int32Array(N);
  for (let i = n; i < N; i++) label[i] = 1;
  const stat = (): number => {
    const s = [0, 0, 0];
    let q = 0;
    for (let i = 0; i < N; i++) {
      const li = label[i];
      for (let j = i + 1; j < N; j++) s[li + label[j]] += k[q++];
    }
    return (2 * s[0]) / (n * (n - 1)) + (2 * s[2]) / (m * (m - 1)) - (2 * s[1]) / (n * m);
  };
  const statistic = stat();
  const perms = opts.permutations ?? 200;
  if (perms <= 0) return { statistic, pValue: NaN, gamma };
  let ge = 0;
  for (let r = 0; r < perms; r++) {
    rng.shuffle(label);
    if (stat() >= statistic) ge++;
  }
  return { statistic, pValue: (1 + ge) / (1 + perms), gamma };
}
