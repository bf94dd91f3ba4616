/**
 * Checked inputs of the metric functions: class indices and row-major probabilities, regression targets,
 * language-model sums. Bad input is a one-line SwitchyardError naming what and where.
 */
import { check, SwitchyardError } from '../util/errors.ts';

/** Largest |row sum - 1| accepted for a probability row. */
export const PROB_SUM_TOLERANCE = 1e-3;

/**
 * Classifier outputs on labelled examples: `labels[i]` in [0, k), `probs` row-major [n, k].
 *
 * @example
 * const d: ClassificationData = { labels: Int32Array.of(0, 1), probs: Float64Array.of(0.9, 0.1, 0.2, 0.8), classes: ['a', 'b'] };
 */
export interface ClassificationData {
  labels: Int32Array;
  probs: Float32Array | Float64Array;
  classes: readonly string[];
}

/**
 * Validates a {@link ClassificationData}: lengths agree, labels are class indices, each probability row is
 * finite, non-negative and sums to 1 (± {@link PROB_SUM_TOLERANCE}). `where` names the source in messages.
 *
 * @example
 * checkClassification({ labels: Int32Array.of(0), probs: Float64Array.of(0.3, 0.7), classes: ['a', 'b'] });
 */
export function checkClassification(d: ClassificationData, where = 'predictions'): void {
  const k = d.classes.length;
  const n = d.labels.length;
  check(k >= 1, 'E_EVAL_CLASSES', `${where}: no classes`);
  if (d.probs.length !== n * k)
    throw new SwitchyardError(
      'E_EVAL_LENGTH',
      `${where}: ${d.probs.length / k} prediction rows (${k} classes) but ${n} labels`,
      'predictions and labels must describe the same examples, in the same order',
    );
  for (let i = 0; i < n; i++) {
    const y = d.labels[i];
    if (!(y >= 0 && y < k)) throw new SwitchyardError('E_EVAL_LABEL', `${where}: row ${i + 1}: label index ${y} is not one of the ${k} classes`, `classes: ${d.classes.join(', ')}`);
    let s = 0;
    for (let c = 0; c < k; c++) {
      const p = d.probs[i * k + c];
      if (!(p >= 0 && p <= 1 + PROB_SUM_TOLERANCE)) throw new SwitchyardError('E_EVAL_PROBS', `${where}: row ${i + 1}, class '${d.classes[c]}': probability ${p} is not in [0, 1]`, 'pass softmax outputs, not logits');
      s += p;
    }
    if (Math.abs(s - 1) > PROB_SUM_TOLERANCE)
      throw new SwitchyardError('E_EVAL_PROBS', `${where}: row ${i + 1}: probabilities sum to ${s.toPrecision(6)}, not 1`, 'pass softmax outputs (each row summing to 1), or normalise the rows first');
  }
}

/**
 * Maps label strings to class indices; an unknown label is a bad-input error naming its row.
 *
 * @example
 * labelIndices(['b', 'a'], ['a', 'b']); // Int32Array [1, 0]
 */
export function labelIndices(labels: readonly string[], classes: readonly string[], where = 'labels'): Int32Array {
  const index = new Map(classes.map((c, i) => [c, i]));
  return Int32Array.from(labels, (l, i) => {
    const c = index.get(l);
    if (c === undefined) throw new SwitchyardError('E_EVAL_LABEL', `${where}: row ${i + 1}: label '${l}' is not a class of the model`, `the model knows: ${classes.slice(0, 20).join(', ')}`);
    return c;
  });
}

/**
 * Validates paired arrays (predictions vs targets, or any two per-example arrays) have the same length.
 *
 * @example
 * checkSameLength(3, 3, 'predictions', 'targets');
 */
export function checkSameLength(a: number, b: number, whatA: string, whatB: string): void {
  if (a !== b) throw new SwitchyardError('E_EVAL_LENGTH', `${a} ${whatA} but ${b} ${whatB}`, `${whatA} and ${whatB} must describe the same examples, in the same order`);
}

/**
 * Validates that every value is finite, naming the first bad row.
 *
 * @example
 * checkFinite(Float64Array.of(1, 2), 'targets');
 */
export function checkFinite(v: ArrayLike<number>, what: string): void {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) throw new SwitchyardError('E_EVAL_VALUE', `${what}: row ${i + 1}: value ${v[i]} is not a finite number`);
}
