/**
 * Host-side helpers over class scores or logits held row-major ([rows, cols]): the predicted class of each
 * row, and the cross-entropy of one target.
 *
 * @module
 */

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

/**
 * −log softmax(logits)[target]: the cross-entropy (nats) of one row of logits against its target class,
 * computed stably (max subtracted before exp).
 *
 * @example
 * crossEntropyAt(Float32Array.of(0, 0), 1); // Math.log(2)
 */
export function crossEntropyAt(logits: ArrayLike<number>, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += Math.exp(logits[i] - max);
  return max + Math.log(z) - logits[target];
}
