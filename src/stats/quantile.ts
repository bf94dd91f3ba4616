/** Order statistics shared by the tests and the bootstrap: sorting copies and interpolated quantiles. */

/**
 * A sorted Float64Array copy of `values` with NaN removed.
 *
 * @example
 * sortedCopy([3, NaN, 1]); // Float64Array [1, 3]
 */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  let k = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) out[k++] = values[i];
  return out.subarray(0, k).sort();
}

/**
 * Quantile `q` in [0, 1] of an ascending array with linear interpolation between order statistics
 * (numpy's default 'linear' method). NaN for an empty array.
 *
 * @example
 * quantileSorted(Float64Array.of(1, 2, 3, 4), 0.5); // 2.5
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = Math.min(Math.max(q, 0), 1) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
