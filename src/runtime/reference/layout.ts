import type { Dim } from '../../core/shape.ts';
import { aroundAxis, broadcastDims, broadcastTo, forEachIndex, type Kernel, numel, refFail, type RefValue, stridesOf } from './tensor.ts';

/**
 * The concrete target of a reshape: symbols resolved, at most one unknown (-1 or an unbound symbol) inferred.
 *
 * @example
 * reshapeTarget([-1, 4], 8, () => undefined, 'reshape'); // [2, 4]
 */
export function reshapeTarget(target: Dim[], total: number, dim: (d: Dim) => number | undefined, where: string): number[] {
  const out = target.map((d) => (d === -1 ? undefined : dim(d)));
  const holes = out.filter((d) => d === undefined).length;
  const known = numel(out.filter((d): d is number => d !== undefined));
  if (holes > 1) refFail(where, `cannot resolve reshape target [${target.join(', ')}]`, 'bind the symbolic dimensions');
  if (holes === 1) {
    if (known === 0 || total % known !== 0) refFail(where, `cannot reshape ${total} elements to [${target.join(', ')}]`, 'the element counts must match', 'E_SHAPE');
    return out.map((d) => d ?? total / known);
  }
  if (known !== total) refFail(where, `cannot reshape ${total} elements to [${out.join(', ')}]`, 'the element counts must match', 'E_SHAPE');
  return out as number[];
}

/** Copies `x` into a new shape, the source offset of each output element given by `offset(idx)`. */
function gatherCopy(outShape: number[], offset: (idx: number[]) => number, src: Float64Array): RefValue {
  const data = new Float64Array(numel(outShape));
  forEachIndex(outShape, (idx, flat) => {
    data[flat] = src[offset(idx)];
  });
  return { shape: outShape, data };
}

/** Kernels of layout ops: reshape, transpose, slice, pad, concat, broadcasts and pass-throughs. */
export const layoutKernels: Record<string, Kernel> = {
  reshape: ([x], attrs, ctx) => [{ shape: reshapeTarget(attrs.shape as Dim[], x.data.length, (d) => ctx.dim(d), ctx.where), data: x.data }],
  transpose: ([x], attrs) => {
    const perm = attrs.perm as number[];
    const st = stridesOf(x.shape);
    const pst = perm.map((p) => st[p]);
    return [
      gatherCopy(
        perm.map((p) => x.shape[p]),
        (idx) => {
          let off = 0;
          for (let j = 0; j < idx.length; j++) off += idx[j] * pst[j];
          return off;
        },
        x.data,
      ),
    ];
  },
  slice: ([x], attrs, ctx) => {
    const { axes, starts, ends } = attrs as { axes: number[]; starts: number[]; ends: number[] };
    const begin = x.shape.map(() => 0);
    const shape = [...x.shape];
    axes.forEach((a, i) => {
      if (starts[i] < 0 || ends[i] > x.shape[a] || starts[i] > ends[i]) refFail(ctx.where, `slice [${starts[i]}:${ends[i]}] is outside axis ${a} of size ${x.shape[a]}`, '', 'E_SHAPE');
      begin[a] = starts[i];
      shape[a] = ends[i] - starts[i];
    });
    const st = stridesOf(x.shape);
    return [
      gatherCopy(
        shape,
        (idx) => {
          let off = 0;
          for (let j = 0; j < idx.length; j++) off += (idx[j] + begin[j]) * st[j];
          return off;
        },
        x.data,
      ),
    ];
  },
  split: ([x], attrs, ctx) => {
    const { axis, sizes } = attrs as { axis: number; sizes: number[] };
    let at = 0;
    return sizes.map((size) => {
      const piece = layoutKernels.slice([x], { axes: [axis], starts: [at], ends: [at + size] }, ctx)[0];
      at += size;
      return piece;
    });
  },
  splitRows: ([x, sizes], _attrs, ctx) => {
    let at = 0;
    return Array.from(sizes.data, (size) => {
      if (!(size >= 0 && at + size <= x.shape[0])) refFail(ctx.where, `splitRows sizes [${sizes.data}] do not fit ${x.shape[0]} rows`, 'the sizes must add up to the rows', 'E_SHAPE');
      const inner = x.shape.slice(1).reduce((a, b) => a * b, 1);
      const piece = { shape: [size, ...x.shape.slice(1)], data: x.data.slice(at * inner, (at + size) * inner) };
      at += size;
      return piece;
    });
  },
  concatRows: ([, ...xs], _attrs, ctx) => layoutKernels.concat(xs, { axis: 0 }, ctx),
  pad: ([x], attrs) => {
    const { before, after } = attrs as { before: number[]; after: number[] };
    const shape = x.shape.map((d, i) => d + before[i] + after[i]);
    const st = stridesOf(shape);
    const data = new Float64Array(numel(shape));
    forEachIndex(x.shape, (idx, flat) => {
      let off = 0;
      for (let j = 0; j < idx.length; j++) off += (idx[j] + before[j]) * st[j];
      data[off] = x.data[flat];
    });
    return [{ shape, data }];
  },
  concat: (xs, attrs) => {
    const axis = attrs.axis as number;
    const shape = [...xs[0].shape];
    shape[axis] = xs.reduce((s, x) => s + x.shape[axis], 0);
    const [outer, total, inner] = aroundAxis(shape, axis);
    const data = new Float64Array(outer * total * inner);
    let at = 0;
    for (const x of xs) {
      const block = x.shape[axis] * inner;
      for (let o = 0; o < outer; o++) data.set(x.data.subarray(o * block, (o + 1) * block), (o * total + at) * inner);
      at += x.shape[axis];
    }
    return [{ shape, data }];
  },
  broadcastLike: ([x, like], _attrs, ctx) => [broadcastTo(x, broadcastDims(x.shape, like.shape, ctx.where))],
  expand: ([x], attrs, ctx) => [broadcastTo(x, broadcastDims(x.shape, attrs.shape as number[], ctx.where))],
  identity: ([x]) => [x],
  stopGradient: ([x]) => [x],
};
