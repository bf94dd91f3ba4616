/**
 * Mini-batching over row indices: a seeded shuffle per epoch, and gathering the selected rows of a
 * row-major feature matrix or target vector into a contiguous buffer.
 */
import { SwitchyardError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';

/**
 * Yields one epoch of shuffled index batches over rows `0..n-1` (or over the given row subset): every row
 * exactly once, in batches of `batchSize`; the last, shorter batch is dropped when `dropLast` is true.
 * Each yielded array is a fresh copy the caller may keep.
 *
 * @example
 * for (const idx of shuffledBatches(split.train, 64, rng)) {
 *   const xb = gatherRows(enc.x, enc.features, idx);
 * }
 */
export function* shuffledBatches(
  n: number | ArrayLike<number>,
  batchSize: number,
  rng: Rng,
  dropLast = false,
): Generator<Int32Array, void, undefined> {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new SwitchyardError('E_BATCH', `batch size must be a positive integer, got ${batchSize}`, 'use e.g. --batch-size 64');
  }
  const perm = typeof n === 'number' ? Int32Array.from({ length: n }, (_, i) => i) : Int32Array.from(n);
  rng.shuffle(perm);
  const total = perm.length;
  const end = dropLast ? total - (total % batchSize) : total;
  for (let s = 0; s < end; s += batchSize) yield perm.slice(s, Math.min(s + batchSize, end));
}

/**
 * The batches of epoch `epoch` (1-based) of a run seeded `seed`: {@link shuffledBatches} with a shuffle drawn
 * afresh for every epoch, and the same one for the same (seed, epoch), so a resumed run repeats its batches.
 *
 * @example
 * const first = epochBatches(1000, 64, 0, 1);
 * const second = epochBatches(1000, 64, 0, 2); // another order of the same rows
 */
export function epochBatches(
  n: number | ArrayLike<number>, batchSize: number, seed: number, epoch: number, dropLast = false,
): Int32Array[] {
  return [...shuffledBatches(n, batchSize, new Rng(seed * 1_000_003 + epoch), dropLast)];
}

/**
 * The rows of update `u` (0-based) when every update takes one full batch of {@link epochBatches} in turn (the short
 * last batch of each epoch dropped): epoch `floor(u / batchesPerEpoch) + 1`, batch `u mod batchesPerEpoch`. Epochs are
 * drawn once, when first reached.
 *
 * @example
 * const batchAt = epochCursor(8000, 64, 0);
 * batchAt(0); batchAt(125); // the first batch of epoch 1, then of epoch 2
 */
export function epochCursor(n: number, batchSize: number, seed: number): (u: number) => Int32Array {
  const perEpoch = Math.floor(n / batchSize);
  const epochs = new Map<number, Int32Array[]>();
  return (u) => {
    const epoch = Math.floor(u / perEpoch) + 1;
    if (!epochs.has(epoch)) epochs.set(epoch, epochBatches(n, batchSize, seed, epoch, true));
    return epochs.get(epoch)![u % perEpoch];
  };
}

/**
 * Copies rows `idx` of the row-major matrix `x` (`features` values per row) into a new (or the given)
 * contiguous buffer of `idx.length × features` values. Throws `E_BATCH` on an out-of-range index.
 *
 * @example
 * const xb = gatherRows(x, 12, Int32Array.of(5, 0, 9)); // 3 × 12 values
 */
export function gatherRows(x: Float32Array, features: number, idx: ArrayLike<number>, out?: Float32Array): Float32Array {
  const rows = features > 0 ? x.length / features : 0;
  const dst = out ?? new Float32Array(idx.length * features);
  if (dst.length < idx.length * features) {
    throw new SwitchyardError('E_BATCH', `gatherRows: output holds ${dst.length} values, needs ${idx.length * features}`, '');
  }
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    if (!(r >= 0 && r < rows)) throw new SwitchyardError('E_BATCH', `gatherRows: row ${r} out of range 0..${rows - 1}`, '');
    if (features === 1) dst[i] = x[r];
    else dst.set(x.subarray(r * features, (r + 1) * features), i * features);
  }
  return dst;
}

/**
 * Picks `y[idx[i]]` for each index into a new array of the same type (targets of a batch).
 *
 * @example
 * const yb = gatherValues(y, idx); // Int32Array for class indices, Float32Array for regression
 */
export function gatherValues<T extends Int32Array | Float32Array>(y: T, idx: ArrayLike<number>): T {
  const out = new (y.constructor as new (n: number) => T)(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    if (!(r >= 0 && r < y.length)) throw new SwitchyardError('E_BATCH', `gatherValues: row ${r} out of range 0..${y.length - 1}`, '');
    out[i] = y[r];
  }
  return out;
}
