/**
 * Two-sample tests and distances used for drift detection: Kolmogorov-Smirnov, chi-square on category
 * counts, Jensen-Shannon distance, population stability index, Wasserstein-1, quantile bins, and
 * (re-exported from mmd.ts) the kernel MMD test for embeddings. Pure functions: arrays in, numbers out.
 */
import { check } from '../util/errors.ts';
import { sortedCopy, quantileSorted } from './quantile.ts';
import { chiSquareSf, kolmogorovSf } from './special.ts';

export { mmdRbf } from './mmd.ts';

/**
 * A test statistic with its p-value.
 *
 * @example
 * const r: TestResult = ksTwoSample(reference, current);
 */
export interface TestResult {
  statistic: number;
  pValue: number;
}

/** Largest n1·n2 for which {@link ksTwoSample} computes the exact p-value. */
export const KS_EXACT_MAX_PRODUCT = 10_000_000;

/**
 * Two-sided two-sample Kolmogorov-Smirnov test. The statistic is sup |F_a - F_b| (ties handled by
 * evaluating both ECDFs after each distinct value). The p-value is exact (the lattice-path count of
 * scipy's `ks_2samp(method='exact')`) when n1·n2 <= {@link KS_EXACT_MAX_PRODUCT}; otherwise the Kolmogorov
 * limit with Stephens' correction, λ = (√en + 0.12 + 0.11/√en)·D, en = n1·n2/(n1+n2). NaNs are ignored.
 *
 * @example
 * ksTwoSample([1, 2, 3], [4, 5, 6]); // { statistic: 1, pValue: 0.1, method: 'exact' }
 */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): TestResult & { method: 'exact' | 'asymp' } {
  const x = sortedCopy(a);
  const y = sortedCopy(b);
  const n1 = x.length;
  const n2 = y.length;
  check(n1 > 0 && n2 > 0, 'E_STATS_EMPTY', `ksTwoSample: both samples need values (got ${n1} and ${n2})`);
  // sup over distinct values, in integer units of 1/(n1 n2) so the exact count needs no float tolerance.
  let i = 0;
  let j = 0;
  let dInt = 0;
  while (i < n1 && j < n2) {
    const v = Math.min(x[i], y[j]);
    while (i < n1 && x[i] === v) i++;
    while (j < n2 && y[j] === v) j++;
    dInt = Math.max(dInt, Math.abs(i * n2 - j * n1));
  }
  const statistic = dInt / (n1 * n2);
  if (n1 * n2 <= KS_EXACT_MAX_PRODUCT) return { statistic, pValue: ksExactOutside(n1, n2, dInt), method: 'exact' };
  const en = (n1 * n2) / (n1 + n2);
  const se = Math.sqrt(en);
  return { statistic, pValue: kolmogorovSf((se + 0.12 + 0.11 / se) * statistic), method: 'asymp' };
}

/**
 * P(D >= d) under the null: probability that a uniformly random monotone lattice path from (0,0) to
 * (n1,n2) touches a point with |i·n2 - j·n1| >= dInt. g(i,j) = (i/(i+j))·g(i-1,j) + (j/(i+j))·g(i,j-1),
 * which keeps every value a probability (no overflow) and the small tail precise.
 */
function ksExactOutside(n1: number, n2: number, dInt: number): number {
  if (dInt <= 0) return 1;
  const g = new Float64Array(n2 + 1);
  for (let jj = 0; jj <= n2; jj++) g[jj] = jj === 0 ? 0 : Math.abs(jj * n1) >= dInt ? 1 : g[jj - 1];
  for (let ii = 1; ii <= n1; ii++) {
    g[0] = ii * n2 >= dInt ? 1 : g[0];
    for (let jj = 1; jj <= n2; jj++) {
      if (Math.abs(ii * n2 - jj * n1) >= dInt) g[jj] = 1;
      else g[jj] = (ii * g[jj] + jj * g[jj - 1]) / (ii + jj);
    }
  }
  return Math.min(1, g[n2]);
}

/**
 * Pearson chi-square test of homogeneity on a 2 x k table of aligned category counts (no continuity
 * correction, as scipy's `chi2_contingency(..., correction=False)`). Categories empty in both samples are
 * dropped; df = (non-empty categories - 1). A table with fewer than two non-empty categories gives
 * statistic 0, p-value 1, df 0.
 *
 * @example
 * chiSquareTwoSample([10, 20], [20, 10]); // { statistic: 6.666..., pValue: 0.00982..., df: 1 }
 */
export function chiSquareTwoSample(countsA: readonly number[], countsB: readonly number[]): TestResult & { df: number } {
  check(countsA.length === countsB.length, 'E_STATS_LENGTH', `chiSquareTwoSample: ${countsA.length} categories vs ${countsB.length}`, 'align both count vectors on the same categories');
  const ta = countsA.reduce((s, v) => s + v, 0);
  const tb = countsB.reduce((s, v) => s + v, 0);
  const total = ta + tb;
  let stat = 0;
  let k = 0;
  if (ta > 0 && tb > 0) {
    for (let c = 0; c < countsA.length; c++) {
      const col = countsA[c] + countsB[c];
      if (col <= 0) continue;
      k++;
      const ea = (ta * col) / total;
      const eb = (tb * col) / total;
      stat += (countsA[c] - ea) ** 2 / ea + (countsB[c] - eb) ** 2 / eb;
    }
  }
  if (k < 2) return { statistic: 0, pValue: 1, df: 0 };
  return { statistic: stat, pValue: chiSquareSf(stat, k - 1), df: k - 1 };
}

function normalise(v: readonly number[]): Float64Array {
  const s = v.reduce((a, b) => a + b, 0);
  check(s > 0, 'E_STATS_EMPTY', 'distribution has zero total mass');
  return Float64Array.from(v, (x) => x / s);
}

/**
 * Jensen-Shannon *distance* (square root of the divergence, log base 2, in [0, 1]) between two
 * distributions given as aligned counts or probabilities (normalised inside), as
 * `scipy.spatial.distance.jensenshannon(p, q, base=2)`.
 *
 * @example
 * jensenShannon([1, 0], [0, 1]); // 1
 */
export function jensenShannon(p: readonly number[], q: readonly number[]): number {
  check(p.length === q.length, 'E_STATS_LENGTH', `jensenShannon: ${p.length} bins vs ${q.length}`);
  const a = normalise(p);
  const b = normalise(q);
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const m = (a[i] + b[i]) / 2;
    if (a[i] > 0) d += 0.5 * a[i] * Math.log2(a[i] / m);
    if (b[i] > 0) d += 0.5 * b[i] * Math.log2(b[i] / m);
  }
  return Math.sqrt(Math.min(1, Math.max(0, d)));
}

/**
 * Population stability index Σ (a - e)·ln(a / e) over aligned bin counts, with empty-bin proportions
 * replaced by `eps` (as Evidently does). Rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 shifted.
 *
 * @example
 * psi([50, 50], [50, 50]); // 0
 */
export function psi(expected: readonly number[], actual: readonly number[], eps = 1e-4): number {
  check(expected.length === actual.length, 'E_STATS_LENGTH', `psi: ${expected.length} bins vs ${actual.length}`);
  const e = normalise(expected);
  const a = normalise(actual);
  let s = 0;
  for (let i = 0; i < e.length; i++) {
    const ei = e[i] === 0 ? eps : e[i];
    const ai = a[i] === 0 ? eps : a[i];
    s += (ai - ei) * Math.log(ai / ei);
  }
  return s;
}

/**
 * Wasserstein-1 (earth mover's) distance between two empirical distributions, ∫ |F_a - F_b| dx,
 * as `scipy.stats.wasserstein_distance`. NaNs are ignored.
 *
 * @example
 * wasserstein1([0, 1, 3], [5, 6, 8]); // 5
 */
export function wasserstein1(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const x = sortedCopy(a);
  const y = sortedCopy(b);
  check(x.length > 0 && y.length > 0, 'E_STATS_EMPTY', `wasserstein1: both samples need values (got ${x.length} and ${y.length})`);
  let i = 0;
  let j = 0;
  let prev = Math.min(x[0], y[0]);
  let dist = 0;
  while (i < x.length || j < y.length) {
    const v = j >= y.length || (i < x.length && x[i] <= y[j]) ? x[i] : y[j];
    dist += Math.abs(i / x.length - j / y.length) * (v - prev);
    prev = v;
    while (i < x.length && x[i] === v) i++;
    while (j < y.length && y[j] === v) j++;
  }
  return dist;
}

/**
 * Bin edges at the quantiles k/bins of a reference sample (linear interpolation), ascending, with
 * duplicate edges removed (so heavily tied data gives fewer bins). Includes the minimum and maximum.
 *
 * @example
 * quantileBins([1, 2, 3, 4, 5], 4); // [1, 2, 3, 4, 5]
 */
export function quantileBins(reference: ArrayLike<number>, bins = 10): number[] {
  const s = sortedCopy(reference);
  check(s.length > 0, 'E_STATS_EMPTY', 'quantileBins: empty reference');
  const edges: number[] = [];
  for (let k = 0; k <= bins; k++) {
    const e = quantileSorted(s, k / bins);
    if (edges.length === 0 || e > edges[edges.length - 1]) edges.push(e);
  }
  if (edges.length === 1) edges.push(edges[0]);
  return edges;
}

/**
 * Counts of `values` in the bins defined by `edges` (from {@link quantileBins}): bin i holds
 * edges[i] <= v < edges[i+1]; values below the first or above the last edge go to the end bins.
 * NaNs are skipped.
 *
 * @example
 * binCounts([0, 1.5, 2.5, 9], [1, 2, 3]); // [2, 2]
 */
export function binCounts(values: ArrayLike<number>, edges: readonly number[]): number[] {
  const nb = Math.max(1, edges.length - 1);
  const counts = new Array<number>(nb).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    // number of interior edges <= v
    let lo = 1;
    let hi = nb; // interior edges are edges[1 .. nb-1]
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (edges[mid] <= v) lo = mid + 1;
      else hi = mid;
    }
    counts[lo - 1]++;
  }
  return counts;
}
