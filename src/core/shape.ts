import { SwitchyardError } from '../util/errors.ts';

/** One dimension: a static size, or a symbolic name such as `'batch'` fixed only when the graph runs. */
export type Dim = number | string;
/** A tensor shape. `[]` is a scalar. */
export type Shape = readonly Dim[];

/** `[batch, 784]` style rendering used in every shape error. */
export function formatShape(s: Shape): string {
  return `[${s.join(', ')}]`;
}

/** True when every dimension is a number. */
export function isStatic(s: Shape): s is readonly number[] {
  return s.every((d) => typeof d === 'number');
}

/** Number of elements of a static shape. */
export function sizeOf(s: Shape): number {
  let n = 1;
  for (const d of s) {
    if (typeof d !== 'number') throw new SwitchyardError('E_SHAPE', `shape ${formatShape(s)} is not static`, 'this operation needs concrete sizes; bind the symbolic dimension first');
    n *= d;
  }
  return n;
}

/** Normalises a possibly negative axis against `rank`; throws naming `where` when out of range. */
export function normAxis(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new SwitchyardError('E_SHAPE', `${where}: axis ${axis} is out of range for rank ${rank}`, `use an axis in [${-rank}, ${rank - 1}]`);
  }
  return a;
}

/** Numpy broadcasting of two shapes; symbolic dims broadcast against 1 or an equal symbol. */
export function broadcastShapes(a: Shape, b: Shape, where: string): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = new Array(rank);
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else {
      throw new SwitchyardError(
        'E_SHAPE',
        `${where}: shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast (dim ${i}: ${da} vs ${db})`,
        'check the layer sizes; broadcasting needs equal dims or 1',
      );
    }
  }
  return out;
}

/** Shapes equal dimension by dimension (symbols compare by name). */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
