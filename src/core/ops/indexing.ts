import type { Tensor } from '../graph.ts';
import { type Dim, formatShape, normAxis } from '../shape.ts';
import { zerosLike } from './constant.ts';
import { transpose, unsqueeze } from './shape.ts';
import { apply, apply1, defineOp, expectDtype, fail } from './registry.ts';

defineOp({
  name: 'gather',
  infer([x, idx], attrs, where) {
    expectDtype(where, idx, ['i64'], 'indices');
    const a = attrs.axis as number;
    return [{ dtype: x.dtype, shape: [...x.shape.slice(0, a), ...idx.shape, ...x.shape.slice(a + 1)] }];
  },
  grad: ({ inputs: [x, idx], grads: [g], attrs }) => {
    const a = attrs.axis as number;
    if (a === 0) return [scatterNDAdd(zerosLike(x), unsqueeze(idx, -1), g!), null];
    // Move the gathered axis to the front, scatter there, move it back.
    const front = [a, ...x.shape.keys()].filter((i, j) => j === 0 || i !== a);
    const q = idx.rank;
    const gPerm = [...Array(q).keys()].map((i) => i + a).concat([...Array(a).keys()], [...Array(g!.rank - a - q).keys()].map((i) => i + a + q));
    const scattered = scatterNDAdd(zerosLike(transpose(x, front)), unsqueeze(idx, -1), transpose(g!, gPerm));
    return [transpose(scattered, front.map((_, i) => front.indexOf(i))), null];
  },
});

/** Rows (or slices along `axis`) of `x` picked by integer `indices` — an embedding lookup. */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  return apply1('gather', [x, indices], { axis: normAxis(axis, x.rank, 'gather') });
}

function sameRankIndex(where: string, x: Tensor, idx: Tensor, a: number): void {
  expectDtype(where, idx, ['i64'], 'indices');
  if (idx.rank !== x.rank) fail(where, `indices ${formatShape(idx.shape)} must have the rank of data ${formatShape(x.shape)}`, 'use indices of the same rank');
  idx.shape.forEach((d, i) => {
    if (i !== a && d !== x.shape[i] && typeof d === 'number' && typeof x.shape[i] === 'number' && d > (x.shape[i] as number)) {
      fail(where, `indices dim ${i} is ${d}, data has ${x.shape[i]}`, 'indices may not exceed the data outside the axis');
    }
  });
}

defineOp({
  name: 'gatherElements',
  infer([x, idx], attrs, where) {
    sameRankIndex(where, x, idx, attrs.axis as number);
    return [{ dtype: x.dtype, shape: idx.shape }];
  },
  grad: ({ inputs: [x, idx], grads: [g], attrs }) => [scatterElementsAdd(zerosLike(x), idx, g!, attrs.axis as number), null],
});

/** `out[i][j] = x[i][idx[i][j]]` along `axis` (ONNX GatherElements). */
export function gatherElements(x: Tensor, indices: Tensor, axis: number): Tensor {
  return apply1('gatherElements', [x, indices], { axis: normAxis(axis, x.rank, 'gatherElements') });
}

defineOp({
  name: 'scatterElementsAdd',
  infer([base, idx, upd], attrs, where) {
    sameRankIndex(where, base, idx, attrs.axis as number);
    if (upd.rank !== idx.rank || upd.shape.some((d, i) => d !== idx.shape[i])) fail(where, `updates ${formatShape(upd.shape)} must match indices ${formatShape(idx.shape)}`, 'one update per index');
    return [{ dtype: base.dtype, shape: base.shape }];
  },
  grad: ({ inputs: [, idx], grads: [g], attrs, needs }) => [g, null, needs[2] ? gatherElements(g!, idx, attrs.axis as number) : null],
});

/** `base` with `updates` added at `indices` along `axis`; repeated indices accumulate. */
export function scatterElementsAdd(base: Tensor, indices: Tensor, updates: Tensor, axis: number): Tensor {
  return apply1('scatterElementsAdd', [base, indices, updates], { axis: normAxis(axis, base.rank, 'scatterElementsAdd') });
}

function ndType(where: string, x: Tensor, idx: Tensor): Dim[] {
  expectDtype(where, idx, ['i64'], 'indices');
  const q = idx.shape[idx.rank - 1];
  if (typeof q !== 'number' || q > x.rank) fail(where, `index depth ${q} exceeds data rank ${x.rank}`, 'the last dim of indices addresses leading data dims');
  return [...idx.shape.slice(0, -1), ...x.shape.slice(q as number)];
}

defineOp({
  name: 'gatherND',
  infer([x, idx], _attrs, where) {
    return [{ dtype: x.dtype, shape: ndType(where, x, idx) }];
  },
  grad: ({ inputs: [x, idx], grads: [g] }) => [scatterNDAdd(zerosLike(x), idx, g!), null],
});

/** Slices of `x` addressed by the last dim of `indices` (ONNX GatherND). */
export function gatherND(x: Tensor, indices: Tensor): Tensor {
  return apply1('gatherND', [x, indices]);
}

defineOp({
  name: 'scatterNDAdd',
  infer([base, idx, upd], _attrs, where) {
    const want = ndType(where, base, idx);
    if (upd.rank !== want.length || upd.shape.some((d, i) => d !== want[i])) fail(where, `updates ${formatShape(upd.shape)} should be ${formatShape(want)}`, 'updates = indices.shape[:-1] + data.shape[q:]');
    return [{ dtype: base.dtype, shape: base.shape }];
  },
  grad: ({ inputs: [, idx], grads: [g], needs }) => [g, null, needs[2] ? gatherND(g!, idx) : null],
});

/** `base` with slices of `updates` added at the addresses in `indices`; repeats accumulate. */
export function scatterNDAdd(base: Tensor, indices: Tensor, updates: Tensor): Tensor {
  return apply1('scatterNDAdd', [base, indices, updates]);
}

defineOp({
  name: 'topk',
  infer([x], attrs, where) {
    const a = attrs.axis as number;
    const k = attrs.k as number;
    const d = x.shape[a];
    if (typeof d === 'number' && (k < 1 || k > d)) fail(where, `top-k with k=${k} on an axis of size ${d}`, `use 1 <= k <= ${d}`);
    const shape = [...x.shape];
    shape[a] = k;
    return [{ dtype: x.dtype, shape }, { dtype: 'i64', shape }];
  },
  grad: ({ inputs: [x], outputs: [, idx], grads: [g], attrs }) => [g ? scatterElementsAdd(zerosLike(x), idx, g, attrs.axis as number) : null],
});

/** The `k` largest (or smallest) values along `axis`, sorted, and their i64 indices. */
export function topk(x: Tensor, k: number, axis = -1, largest = true): [Tensor, Tensor] {
  const [v, i] = apply('topk', [x], { k, axis: normAxis(axis, x.rank, 'topk'), largest });
  return [v, i];
}

defineOp({
  name: 'oneHot',
  infer([idx], attrs, where) {
    expectDtype(where, idx, ['i64'], 'indices');
    const depth = attrs.depth as number;
    if (!Number.isInteger(depth) || depth < 1) fail(where, `one-hot depth ${depth} is not a positive integer`, 'use the number of classes');
    return [{ dtype: 'f32', shape: [...idx.shape, depth] }];
  },
});

/** f32 one-hot rows of length `depth` appended as a last axis. */
export function oneHot(indices: Tensor, depth: number): Tensor {
  return apply1('oneHot', [indices], { depth });
}

defineOp({
  name: 'cumsum',
  infer([x], attrs, where) {
    expectDtype(where, x, ['f32', 'i64']);
    normAxis(attrs.axis as number, x.rank, where);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  grad: ({ grads: [g], attrs }) => [cumsum(g!, attrs.axis as number, attrs.exclusive as boolean, !(attrs.reverse as boolean))],
});

/** Running sum along `axis`; `exclusive` leaves out the current element, `reverse` runs from the end. */
export function cumsum(x: Tensor, axis: number, exclusive = false, reverse = false): Tensor {
  return apply1('cumsum', [x], { axis: normAxis(axis, x.rank, 'cumsum'), exclusive, reverse });
}

let dynamicDims = 0;

defineOp({
  name: 'nonzero',
  infer([mask], attrs, where) {
    expectDtype(where, mask, ['bool'], 'mask');
    if (mask.rank !== 1) fail(where, `nonzero takes a 1-d mask, got ${mask}`, 'flatten the mask first');
    return [{ dtype: 'i64', shape: [attrs.dim as string] }];
  },
});

/**
 * Positions (i64) where a 1-d bool `mask` is true. The length is data-dependent: a fresh symbolic dim whose
 * name starts with `?` (e.g. `?nz3`), known only when the graph runs — it may be 0.
 */
export function nonzero(mask: Tensor): Tensor {
  return apply1('nonzero', [mask], { dim: `?nz${++dynamicDims}` });
}
