/**
 * Train/validation splits: stratified by class for classification, uniformly random for regression.
 * Both are deterministic for a given {@link Rng} state and return sorted row indices.
 */
import { SwitchyardError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';

/**
 * Row indices of the two parts of a split, each sorted ascending.
 *
 * @example
 * const { train, valid }: Split = randomSplit(100, 0.2, new Rng(0));
 */
export interface Split {
  train: Int32Array;
  valid: Int32Array;
}

function checkFraction(fraction: number): void {
  if (!(fraction >= 0 && fraction < 1)) {
    throw new SwitchyardError('E_SPLIT', `validation fraction must be in [0, 1), got ${fraction}`, 'use e.g. 0.2 for a 20% validation split');
  }
}

function sorted(a: number[]): Int32Array {
  return Int32Array.from(a).sort();
}

/**
 * Splits rows so every class keeps (about) its share in both parts: each class contributes
 * `round(count × validFraction)` rows to validation, at least one when the class has two or more rows
 * (and never all of them). A class with a single row stays in training. `validFraction` 0 gives an empty
 * validation set.
 *
 * @example
 * const { train, valid } = stratifiedSplit(encoded.y as Int32Array, 0.2, new Rng(0));
 */
export function stratifiedSplit(labels: ArrayLike<number>, validFraction: number, rng: Rng): Split {
  checkFraction(validFraction);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0) {
      throw new SwitchyardError('E_SPLIT', `label at row ${i} is ${c}; stratified split needs class indices >= 0`, 'use randomSplit for regression targets');
    }
    let rows = byClass.get(c);
    if (!rows) byClass.set(c, (rows = []));
    rows.push(i);
  }
  const train: number[] = [];
  const valid: number[] = [];
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  for (const c of classes) {
    const rows = byClass.get(c)!;
    rng.shuffle(rows);
    let k = Math.round(rows.length * validFraction);
    if (validFraction > 0 && rows.length >= 2) k = Math.min(Math.max(k, 1), rows.length - 1);
    if (rows.length < 2) k = 0;
    for (let i = 0; i < rows.length; i++) (i < k ? valid : train).push(rows[i]);
  }
  return { train: sorted(train), valid: sorted(valid) };
}

/**
 * Splits `n` rows uniformly at random: `round(n × fraction)` rows go to validation (at least one when
 * `fraction > 0` and `n >= 2`, never all).
 *
 * @example
 * const { train, valid } = randomSplit(1000, 0.2, new Rng(0)); // 800 / 200 rows
 */
export function randomSplit(n: number, fraction: number, rng: Rng): Split {
  checkFraction(fraction);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  rng.shuffle(perm);
  let k = Math.round(n * fraction);
  if (fraction > 0 && n >= 2) k = Math.min(Math.max(k, 1), n - 1);
  if (n < 2) k = 0;
  return { train: perm.slice(k).sort(), valid: perm.slice(0, k).sort() };
}

/**
 * A seeded, stratified subset of rows: each class keeps `max(1, round(count × fraction))` of its rows (every class
 * that has rows stays represented), drawn by a shuffle of that class's rows. The same labels, fraction and
 * {@link Rng} state give the same rows; `fraction` 1 keeps every row. Returns sorted row indices.
 *
 * @example
 * const labelled = stratifiedSubset(y, 0.1, new Rng(seed)); // about 10% of the rows of each class
 */
export function stratifiedSubset(labels: ArrayLike<number>, fraction: number, rng: Rng): Int32Array {
  if (!(fraction > 0 && fraction <= 1)) {
    const what = `labelled fraction must be in (0, 1], got ${fraction}`;
    throw new SwitchyardError('E_SPLIT', what, 'use e.g. 0.1 for 10% of the labels');
  }
  const { train } = stratifiedSplit(labels, 0, rng); // checks the labels; every row, sorted
  const byClass = new Map<number, number[]>();
  for (const i of train) (byClass.get(labels[i]) ?? byClass.set(labels[i], []).get(labels[i])!).push(i);
  const kept: number[] = [];
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = byClass.get(c)!;
    rng.shuffle(rows);
    kept.push(...rows.slice(0, Math.max(1, Math.round(rows.length * fraction))));
  }
  return sorted(kept);
}
