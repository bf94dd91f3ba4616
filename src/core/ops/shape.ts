import type { Tensor } from '../graph.ts';
import { broadcastShapes, type Dim, formatShape, normAxis, type Shape } from '../shape.ts';
import { sumTo } from './elementwise.ts';
import { apply, apply1, defineOp, fail } from './registry.ts';
import { fullLike } from './constant.ts';

/**
 * A symbolic dimension is a product written `'batch'`, `'batch*seq'` or `'4*batch'`. Splits a shape into the
 * product of its static factors and the sorted list of its symbol factors.
 */
export function factorShape(s: Shape): { coeff: number; syms: string[] } {
  let coeff = 1;
  const syms: string[] = [];
  for (const d of s) {
    if (typeof d === 'number') coeff *= d;
    else
      for (const f of d.split('*')) {
        if (/^\d+$/.test(f)) coeff *= Number(f);
        else syms.push(f);
      }
  }
  return { coeff, syms: syms.sort() };
}

function symbolicDim(coeff: number, syms: string[]): Dim {
  if (syms.length === 0) return coeff;
  return coeff === 1 ? syms.join('*') : `${coeff}*${syms.join('*')}`;
}

defineOp({
  name: 'reshape',
  infer([x], attrs, where) {
    const target = attrs.shape as Dim[];
    const holes = target.filter((d) => d === -1).length;
    if (holes > 1) fail(where, `reshape target ${formatShape(target)} has more than one -1`, 'leave at most one dimension to be inferred');
    if (target.some((d) => typeof d === 'number' && d !== -1 && !(Number.isInteger(d) && d >= 0))) fail(where, `reshape target ${formatShape(target)} has an invalid dimension`, 'use sizes >= 0, symbols, or one -1');
    const known = target.filter((d) => d !== -1);
    const src = factorShape(x.shape);
    const dst = factorShape(known);
    const left = [...src.syms];
    for (const s of dst.syms) {
      const i = left.indexOf(s);
      if (i < 0) fail(where, `cannot reshape ${formatShape(x.shape)} to ${formatShape(target)}: symbol '${s}' is not in the input`, 'reshape with -1 or the input\'s own dimensions');
      left.splice(i, 1);
    }
    const bad = () => fail(where, `cannot reshape ${formatShape(x.shape)} (${src.coeff}${src.syms.map((s) => '*' + s).join('')} elements) to ${formatShape(target)}`, 'the element counts must match');
    if (holes === 0) {
      if (left.length > 0 || src.coeff !== dst.coeff) bad();
      return [{ dtype: x.dtype, shape: target }];
    }
    if (dst.coeff === 0 || src.coeff % dst.coeff !== 0) bad();
    const inferred = symbolicDim(src.coeff / dst.coeff, left);
    return [{ dtype: x.dtype, shape: target.map((d) => (d === -1 ? inferred : d)) }];
  },
  grad: ({ inputs: [x], grads: [g] }) => [reshape(g!, [...x.shape])],
});

/** Reshape; one dimension may be -1; symbolic dimensions may be named (`['batch', -1]`). */
export function reshape(x: Tensor, shape: Dim[]): Tensor {
  if (shape.length === x.rank && shape.every((d, i) => d === x.shape[i])) return x;
  return apply1('reshape', [x], { shape: [...shape] });
}

defineOp({
  name: 'transpose',
  infer([x], attrs, where) {
    const perm = attrs.perm as number[];
    const ok = perm.length === x.rank && [...perm].sort((a, b) => a - b).every((p, i) => p === i);
    if (!ok) fail(where, `permutation [${perm}] does not fit rank ${x.rank}`, `give a permutation of 0..${x.rank - 1}`);
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
  },
  grad: ({ grads: [g], attrs }) => {
    const perm = attrs.perm as number[];
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [transpose(g!, inv)];
  },
});

/** Permutes dimensions; without `perm` swaps the last two. */
export function transpose(x: Tensor, perm?: number[]): Tensor {
  const p = perm ?? [...x.shape.keys()].map((i) => (i === x.rank - 2 ? x.rank - 1 : i === x.rank - 1 ? x.rank - 2 : i));
  return apply1('transpose', [x], { perm: p });
}

defineOp({
  name: 'slice',
  infer([x], attrs, where) {
    const { axes, starts, ends } = attrs as { axes: number[]; starts: number[]; ends: number[] };
    const shape = [...x.shape];
    axes.forEach((a, i) => {
      const d = shape[a];
      if (typeof d !== 'number') fail(where, `cannot slice symbolic dimension '${d}' (axis ${a})`, 'slice static dimensions only');
      if (starts[i] < 0 || ends[i] > d || starts[i] >= ends[i]) fail(where, `slice [${starts[i]}:${ends[i]}] is outside axis ${a} of size ${d}`, 'use 0 <= start < end <= size');
      shape[a] = ends[i] - starts[i];
    });
    return [{ dtype: x.dtype, shape }];
  },
  grad: ({ inputs: [x], grads: [g], attrs }) => {
    const { axes, starts, ends } = attrs as { axes: number[]; starts: number[]; ends: number[] };
    const before = x.shape.map(() => 0);
    const after = x.shape.map(() => 0);
    axes.forEach((a, i) => {
      before[a] = starts[i];
      after[a] = (x.shape[a] as number) - ends[i];
    });
    return [pad(g!, before, after)];
  },
});

/** `x[start:end]` along `axis` (static, step 1; negative indices count from the end). */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const a = normAxis(axis, x.rank, 'slice');
  const d = x.shape[a];
  const size = typeof d === 'number' ? d : NaN;
  const s = start < 0 ? start + size : start;
  const e = end === undefined ? size : end < 0 ? end + size : Math.min(end, size);
  return apply1('slice', [x], { axes: [a], starts: [s], ends: [e] });
}

defineOp({
  name: 'pad',
  infer([x], attrs, where) {
    const { before, after } = attrs as { before: number[]; after: number[] };
    const ok = (p: number[]) => p.length === x.rank && p.every((n) => Number.isInteger(n) && n >= 0);
    if (!ok(before) || !ok(after)) fail(where, `pad widths [${before}] / [${after}] do not fit ${x}`, `give ${x.rank} non-negative integers before and after`);
    const shape = x.shape.map((d, i) => {
      if (before[i] === 0 && after[i] === 0) return d;
      if (typeof d !== 'number') fail(where, `cannot pad symbolic dimension '${d}'`, 'pad static dimensions only');
      return d + before[i] + after[i];
    });
    return [{ dtype: x.dtype, shape }];
  },
  grad: ({ inputs: [x], grads: [g], attrs }) => {
    const { before } = attrs as { before: number[] };
    const axes = x.shape.map((_, i) => i).filter((i) => typeof x.shape[i] === 'number');
    return [apply1('slice', [g!], { axes, starts: axes.map((a) => before[a]), ends: axes.map((a) => before[a] + (x.shape[a] as number)) })];
  },
});

/** Zero padding: `before[i]` and `after[i]` zeros on axis i. */
export function pad(x: Tensor, before: number[], after: number[]): Tensor {
  return apply1('pad', [x], { before, after });
}

defineOp({
  name: 'concat',
  infer(xs, attrs, where) {
    const axis = attrs.axis as number;
    if (xs.length === 0) fail(where, 'concat of nothing', 'pass at least one tensor');
    const shape = [...xs[0].shape];
    let total = 0;
    for (const x of xs) {
      if (x.rank !== shape.length || x.dtype !== xs[0].dtype || x.shape.some((d, i) => i !== axis && d !== shape[i])) {
        fail(where, `cannot concat ${xs.map(String).join(', ')} on axis ${axis}`, 'all inputs need the same dtype and the same dims except the concat axis');
      }
      const d = x.shape[axis];
      if (typeof d !== 'number') fail(where, `cannot concat along symbolic dimension '${d}'`, 'concat along static dimensions');
      total += d;
    }
    shape[axis] = total;
    return [{ dtype: xs[0].dtype, shape }];
  },
  grad: ({ inputs, grads: [g], attrs }) => {
    const axis = attrs.axis as number;
    let at = 0;
    return inputs.map((x) => {
      const d = x.shape[axis] as number;
      const part = slice(g!, axis, at, at + d);
      at += d;
      return part;
    });
  },
});

/** Joins tensors along `axis`. */
export function concat(xs: Tensor[], axis = 0): Tensor {
  if (xs.length === 1) return xs[0];
  return apply1('concat', xs, { axis: normAxis(axis, xs[0].rank, 'concat') });
}

defineOp({
  name: 'broadcastLike',
  infer([x, like], _attrs, where) {
    return [{ dtype: x.dtype, shape: broadcastShapes(x.shape, like.shape, where) }];
  },
  grad: ({ inputs: [x], grads: [g] }) => [sumTo(g!, x.shape), null],
});

/** Broadcasts `x` to the shape of `like` (which may have symbolic dims). */
export function broadcastLike(x: Tensor, like: Tensor): Tensor {
  if (x.rank === like.rank && x.shape.every((d, i) => d === like.shape[i])) return x;
  return apply1('broadcastLike', [x, like]);
}

defineOp({
  name: 'expand',
  infer([x], attrs, where) {
    return [{ dtype: x.dtype, shape: broadcastShapes(x.shape, attrs.shape as number[], where) }];
  },
  grad: ({ inputs: [x], grads: [g] }) => [sumTo(g!, x.shape)],
});

/** Broadcasts `x` to a static `shape`. */
export function expand(x: Tensor, shape: number[]): Tensor {
  return apply1('expand', [x], { shape });
}

defineOp({ name: 'identity', infer: ([x]) => [{ dtype: x.dtype, shape: x.shape }], grad: ({ grads: [g] }) => [g] });
defineOp({ name: 'stopGradient', infer: ([x]) => [{ dtype: x.dtype, shape: x.shape }] });

/** The same value; gradients pass through. */
export const identity = (x: Tensor): Tensor => apply1('identity', [x]);
/** The same value, but no gradient flows back through it. */
export const stopGradient = (x: Tensor): Tensor => apply1('stopGradient', [x]);

/** Inserts a size-1 axis at `axis`. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.rank + 1 : axis;
  const s = [...x.shape];
  s.splice(a, 0, 1);
  return reshape(x, s);
}

/** Removes the size-1 axis at `axis`. */
export function squeeze(x: Tensor, axis: number): Tensor {
  const a = normAxis(axis, x.rank, 'squeeze');
  if (x.shape[a] !== 1) fail('squeeze', `axis ${a} of ${x} has size ${x.shape[a]}, not 1`, 'squeeze only size-1 axes');
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

defineOp({
  name: 'split',
  infer([x], attrs, where) {
    const { axis, sizes } = attrs as { axis: number; sizes: number[] };
    const d = x.shape[axis];
    if (typeof d !== 'number' || sizes.reduce((a, b) => a + b, 0) !== d || sizes.some((s) => !(Number.isInteger(s) && s > 0))) {
      fail(where, `split sizes [${sizes}] do not add up to axis ${axis} of ${x}`, 'give positive sizes that sum to the (static) axis length');
    }
    return sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((dd, i) => (i === axis ? s : dd)) }));
  },
  // One concat of the pieces' gradients: cheaper than one zero-padded gradient per piece summed up.
  grad: ({ outputs, grads, attrs }) => [concat(outputs.map((o, i) => grads[i] ?? fullLike(o, 0)), attrs.axis as number)],
});

/** Splits `x` along a static `axis` into consecutive pieces of the given sizes (one node, many outputs). */
export function split(x: Tensor, axis: number, sizes: number[]): Tensor[] {
  return apply('split', [x], { axis: normAxis(axis, x.rank, 'split'), sizes });
}

let dynamicRows = 0;

defineOp({
  name: 'splitRows',
  infer([x, sizes], attrs, where) {
    const dims = attrs.dims as Dim[];
    if (sizes.dtype !== 'i64' || sizes.rank !== 1 || sizes.shape[0] !== dims.length || x.rank < 1) {
      fail(where, `splitRows needs i64 sizes [${dims.length}] and data of rank >= 1, got ${sizes} and ${x}`, 'pass one i64 row count per piece');
    }
    return dims.map((d) => ({ dtype: x.dtype, shape: [d, ...x.shape.slice(1)] }));
  },
  grad: ({ inputs: [x, sizes], outputs, grads }) => [concatRows(sizes, outputs.map((o, i) => grads[i] ?? fullLike(o, 0)), x.shape[0]), null],
});

/**
 * Splits `x` along axis 0 into `sizes.shape[0]` consecutive pieces whose row counts are the run-time values of
 * the i64 vector `sizes` (they must add up to the rows of `x`; a piece may be empty). Each piece's row count is
 * a fresh data-dependent dim (`?rows1`, ...) unless `dims` names them. The gradient is one {@link concatRows}.
 *
 * @example
 * const [a, b] = splitRows(x, counts); // x [6, 4], counts = [2, 4] at run time -> a [2, 4], b [4, 4]
 */
export function splitRows(x: Tensor, sizes: Tensor, dims?: Dim[]): Tensor[] {
  const n = sizes.shape[0];
  if (typeof n !== 'number') fail('splitRows', `the number of pieces must be static, got ${sizes}`, 'use a sizes vector of static length');
  return apply('splitRows', [x, sizes], { dims: dims ?? Array.from({ length: n }, () => `?rows${++dynamicRows}`) });
}

defineOp({
  name: 'concatRows',
  infer([sizes, ...xs], attrs, where) {
    if (xs.length === 0 || xs.some((x) => x.dtype !== xs[0].dtype || x.rank !== xs[0].rank || x.shape.some((d, i) => i > 0 && d !== xs[0].shape[i]))) {
      fail(where, `cannot concatRows ${xs.map(String).join(', ')}`, 'all pieces need the same dtype and the same dims after axis 0');
    }
    if (sizes.dtype !== 'i64' || sizes.shape[0] !== xs.length) fail(where, `concatRows needs i64 sizes [${xs.length}], got ${sizes}`, 'pass the sizes the pieces were split by');
    return [{ dtype: xs[0].dtype, shape: [attrs.rows as Dim, ...xs[0].shape.slice(1)] }];
  },
  grad: ({ inputs: [sizes, ...xs], grads: [g] }) => [null, ...splitRows(g!, sizes, xs.map((x) => x.shape[0]))],
});

/**
 * Concatenates pieces along axis 0 whose row counts are the run-time values of the i64 vector `sizes` (the
 * inverse of {@link splitRows}); `rows` is the declared row count of the result.
 *
 * @example
 * const y = concatRows(counts, splitRows(x, counts).map(f), x.shape[0]);
 */
export function concatRows(sizes: Tensor, pieces: Tensor[], rows: Dim): Tensor {
  return apply1('concatRows', [sizes, ...pieces], { rows });
}
