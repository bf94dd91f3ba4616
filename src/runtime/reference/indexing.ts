import { aroundAxis, checkIndex, forEachIndex, type Kernel, numel, refFail, type RefTensor, type RefValue, stridesOf } from './tensor.ts';

/**
 * For each element of `idx` (same rank as `x`), the flat offset into `x` of the element it addresses along
 * `axis` (the other coordinates are the element's own). Negative indices count from the end.
 */
function elementOffsets(x: RefTensor, idx: RefTensor, axis: number, where: string): Int32Array {
  const st = stridesOf(x.shape);
  const out = new Int32Array(idx.data.length);
  forEachIndex(idx.shape, (pos, flat) => {
    let off = 0;
    for (let j = 0; j < pos.length; j++) {
      const c = j === axis ? checkIndex(idx.data[flat], x.shape[j], where) : pos[j];
      if (c >= x.shape[j]) refFail(where, `indices dim ${j} is ${idx.shape[j]}, data has ${x.shape[j]}`, '', 'E_SHAPE');
      off += c * st[j];
    }
    out[flat] = off;
  });
  return out;
}

/** For gatherND/scatterNDAdd: the offset of each addressed slice of `x` and the slice size. */
function ndOffsets(x: RefTensor, idx: RefTensor, where: string): { offsets: Int32Array; sliceSize: number; q: number } {
  const q = idx.shape[idx.shape.length - 1];
  const st = stridesOf(x.shape);
  const n = q === 0 ? numel(idx.shape.slice(0, -1)) : idx.data.length / q;
  const offsets = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    let off = 0;
    for (let j = 0; j < q; j++) off += checkIndex(idx.data[b * q + j], x.shape[j], where) * st[j];
    offsets[b] = off;
  }
  return { offsets, sliceSize: numel(x.shape.slice(q)), q };
}

function topk([x]: RefTensor[], attrs: Record<string, unknown>): RefValue[] {
  const { k, axis, largest } = attrs as { k: number; axis: number; largest: boolean };
  const [outer, size, inner] = aroundAxis(x.shape, axis);
  const shape = [...x.shape];
  shape[axis] = k;
  const values = new Float64Array(outer * k * inner);
  const indices = new Float64Array(outer * k * inner);
  const order = new Array<number>(size);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => x.data[(o * size + j) * inner + i];
      for (let j = 0; j < size; j++) order[j] = j;
      order.sort((p, r) => {
        const d = largest ? at(r) - at(p) : at(p) - at(r);
        return d !== 0 && !Number.isNaN(d) ? d : p - r;
      });
      for (let j = 0; j < k; j++) {
        values[(o * k + j) * inner + i] = at(order[j]);
        indices[(o * k + j) * inner + i] = order[j];
      }
    }
  }
  return [
    { shape, data: values },
    { shape: [...shape], data: indices },
  ];
}

/** Kernels of gathers, scatters, top-k, nonzero and one-hot. */
export const indexingKernels: Record<string, Kernel> = {
  gather: ([x, idx], attrs, ctx) => {
    const axis = attrs.axis as number;
    const [outer, size, inner] = aroundAxis(x.shape, axis);
    const m = idx.data.length;
    const data = new Float64Array(outer * m * inner);
    for (let p = 0; p < m; p++) {
      const k = checkIndex(idx.data[p], size, ctx.where);
      for (let o = 0; o < outer; o++) data.set(x.data.subarray((o * size + k) * inner, (o * size + k + 1) * inner), (o * m + p) * inner);
    }
    return [{ shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)], data }];
  },
  gatherElements: ([x, idx], attrs, ctx) => {
    const offs = elementOffsets(x, idx, attrs.axis as number, ctx.where);
    return [{ shape: [...idx.shape], data: Float64Array.from(offs, (o) => x.data[o]) }];
  },
  scatterElementsAdd: ([base, idx, upd], attrs, ctx) => {
    const offs = elementOffsets(base, idx, attrs.axis as number, ctx.where);
    const data = base.data.slice();
    for (let i = 0; i < offs.length; i++) data[offs[i]] += upd.data[i];
    return [{ shape: [...base.shape], data }];
  },
  gatherND: ([x, idx], _attrs, ctx) => {
    const { offsets, sliceSize, q } = ndOffsets(x, idx, ctx.where);
    const data = new Float64Array(offsets.length * sliceSize);
    offsets.forEach((off, b) => data.set(x.data.subarray(off, off + sliceSize), b * sliceSize));
    return [{ shape: [...idx.shape.slice(0, -1), ...x.shape.slice(q)], data }];
  },
  scatterNDAdd: ([base, idx, upd], _attrs, ctx) => {
    const { offsets, sliceSize } = ndOffsets(base, idx, ctx.where);
    const data = base.data.slice();
    offsets.forEach((off, b) => {
      for (let s = 0; s < sliceSize; s++) data[off + s] += upd.data[b * sliceSize + s];
    });
    return [{ shape: [...base.shape], data }];
  },
  topk,
  nonzero: ([mask]) => {
    const at: number[] = [];
    mask.data.forEach((v, i) => {
      if (v !== 0) at.push(i);
    });
    return [{ shape: [at.length], data: Float64Array.from(at) }];
  },
  oneHot: ([idx], attrs) => {
    const depth = attrs.depth as number;
    const data = new Float64Array(idx.data.length * depth);
    idx.data.forEach((v, p) => {
      const k = v < 0 ? v + depth : v;
      if (k >= 0 && k < depth) data[p * depth + k] = 1;
    });
    return [{ shape: [...idx.shape, depth], data }];
  },
};
