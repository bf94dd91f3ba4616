/**
 * Weighted per-bin sums for the calibration metrics without scattering: the examples of every binning
 * (top-label equal-width, equal-mass, and one equal-width binning per class) are laid out once, grouped
 * by bin and in example order inside a bin, so a resample sums each bin as one contiguous run. Sums of
 * weights and hits are integers; the value sum of a bin adds the same products in the same order as a
 * scatter over the examples would, so the results are bit-identical.
 */

/**
 * Examples grouped by bin for several binnings laid end to end.
 *
 * @example
 * const plan: BinPlan = binPlan(3, [{ bin: Int32Array.of(0, 1, 0), flag: Uint8Array.of(1, 0, 0), value: Float64Array.of(0.9, 0.6, 0.7) }], 2);
 */
export interface BinPlan {
  /** Per run position: example index·2 + flag (the flag marks a hit). */
  codes: Int32Array;
  /** Per run position: the value summed with the example's weight. */
  values: Float64Array;
  /** End offset (exclusive) of each bin's run; bins of binning b are b·bins … b·bins + bins - 1. */
  ends: Int32Array;
}

/**
 * One binning of n examples: bin index, hit flag and value per example.
 *
 * @example
 * const b: Binning = { bin: Int32Array.of(0, 1), flag: Uint8Array.of(1, 0), value: Float64Array.of(0.9, 0.4) };
 */
export interface Binning {
  bin: Int32Array;
  flag: ArrayLike<number>;
  value: ArrayLike<number>;
}

/**
 * Lays out `binnings` (each over the same n examples, bin indices in [0, bins)) by a stable counting sort.
 *
 * @example
 * const plan = binPlan(2, [{ bin: Int32Array.of(1, 0), flag: Uint8Array.of(1, 1), value: Float64Array.of(0.8, 0.3) }], 2);
 */
export function binPlan(n: number, binnings: Binning[], bins: number): BinPlan {
  const codes = new Int32Array(n * binnings.length);
  const values = new Float64Array(n * binnings.length);
  const ends = new Int32Array(bins * binnings.length);
  const next = new Int32Array(bins);
  binnings.forEach(({ bin, flag, value }, b) => {
    next.fill(0);
    for (let i = 0; i < n; i++) next[bin[i]]++;
    let at = b * n;
    for (let s = 0; s < bins; s++) {
      const count = next[s];
      next[s] = at;
      at += count;
      ends[b * bins + s] = at;
    }
    for (let i = 0; i < n; i++) {
      const j = next[bin[i]]++;
      codes[j] = i * 2 + (flag[i] ? 1 : 0);
      values[j] = value[i];
    }
  });
  return { codes, values, ends };
}

/**
 * Fills, for every bin of `plan`, the weight sum `ws`, the value sum Σ w·value `vs` and the hit-weight
 * sum `hs` under per-example weights `w`.
 *
 * @example
 * const plan = binPlan(2, [{ bin: Int32Array.of(1, 0), flag: Uint8Array.of(1, 1), value: Float64Array.of(0.8, 0.3) }], 2);
 * const ws = new Float64Array(2), vs = new Float64Array(2), hs = new Float64Array(2);
 * binSums(plan, Int32Array.of(2, 1), ws, vs, hs); // ws [1, 2], vs [0.3, 1.6], hs [1, 2]
 */
export function binSums(plan: BinPlan, w: Int32Array | Uint8Array, ws: Float64Array, vs: Float64Array, hs: Float64Array): void {
  const { codes, values, ends } = plan;
  let j = 0;
  for (let s = 0; s < ends.length; s++) {
    const end = ends[s];
    let a = 0;
    let h = 0;
    let v = 0;
    for (; j < end; j++) {
      const code = codes[j];
      const wt = w[code >> 1];
      a += wt;
      h += wt & -(code & 1);
      v += wt * values[j];
    }
    ws[s] = a;
    hs[s] = h;
    vs[s] = v;
  }
}
