/**
 * The index of the largest value of each row of a row-major [rows, cols] array (the first on ties; NaN never
 * wins): predicted classes from probabilities or logits.
 *
 * @example
 * argmaxRows(Float32Array.of(0.2, 0.8, 0.6, 0.4), 2); // Int32Array [1, 0]
 */
export function argmaxRows(v: ArrayLike<number>, cols: number): Int32Array {
  const out = new Int32Array(cols > 0 ? Math.floor(v.length / cols) : 0);
  for (let r = 0; r < out.length; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (v[r * cols + c] > v[r * cols + best]) best = c;
    out[r] = best;
  }
  return out;
}
