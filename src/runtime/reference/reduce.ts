import { aroundAxis, broadcastDims, broadcastIndex, type Kernel, numel, type RefTensor, type RefValue } from './tensor.ts';

/** Reduces `x` over `axes` with `step` starting from `init`; `finish` maps (accumulator, count) to the result. */
function reduce(x: RefTensor, axes: number[], keepdims: boolean, init: number, step: (acc: number, v: number) => number, finish?: (acc: number, count: number) => number): RefValue {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const map = broadcastIndex(kept, x.shape);
  const acc = new Float64Array(numel(kept)).fill(init);
  for (let i = 0; i < map.length; i++) acc[map[i]] = step(acc[map[i]], x.data[i]);
  const count = numel(x.shape) / Math.max(1, acc.length);
  const data = finish ? acc.map((a) => finish(a, count)) : acc;
  return { shape: keepdims ? kept : x.shape.filter((_, i) => !axes.includes(i)), data };
}

/** Calls `fn(offset, stride, size)` for every 1-D lane of `shape` along `axis`. */
function forEachLane(shape: number[], axis: number, fn: (offset: number, stride: number, size: number) => void): void {
  const [outer, size, inner] = aroundAxis(shape, axis);
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) fn(o * size * inner + i, inner, size);
}

function softmaxLike(log: boolean): Kernel {
  return ([x], attrs) => {
    const data = new Float64Array(x.data.length);
    forEachLane(x.shape, attrs.axis as number, (off, st, n) => {
      let m = -Infinity;
      for (let j = 0; j < n; j++) m = Math.max(m, x.data[off + j * st]);
      let s = 0;
      for (let j = 0; j < n; j++) s += Math.exp(x.data[off + j * st] - m);
      const ls = Math.log(s);
      for (let j = 0; j < n; j++) {
        const z = x.data[off + j * st] - m;
        data[off + j * st] = log ? z - ls : Math.exp(z) / s;
      }
    });
    return [{ shape: [...x.shape], data }];
  };
}

/** Kernels of reductions, normalisations, cumsum and matmul. */
export const reduceKernels: Record<string, Kernel> = {
  reduceSum: ([x], attrs) => [reduce(x, attrs.axes as number[], attrs.keepdims as boolean, 0, (a, v) => a + v)],
  reduceMean: ([x], attrs) => [reduce(x, attrs.axes as number[], attrs.keepdims as boolean, 0, (a, v) => a + v, (a, n) => a / n)],
  reduceMax: ([x], attrs) => [reduce(x, attrs.axes as number[], attrs.keepdims as boolean, -Infinity, Math.max)],
  argmax: ([x], attrs) => {
    const axis = attrs.axis as number;
    const [outer, , inner] = aroundAxis(x.shape, axis);
    const data = new Float64Array(outer * inner);
    forEachLane(x.shape, axis, (off, st, n) => {
      let best = 0;
      for (let j = 1; j < n; j++) if (x.data[off + j * st] > x.data[off + best * st]) best = j;
      const o = Math.floor(off / (n * inner));
      data[o * inner + (off % inner)] = best;
    });
    const shape = attrs.keepdims ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis);
    return [{ shape, data }];
  },
  softmax: softmaxLike(false),
  logSoftmax: softmaxLike(true),
  layerNorm: ([x, w, b], attrs) => {
    const eps = attrs.eps as number;
    const c = x.shape[x.shape.length - 1];
    const data = new Float64Array(x.data.length);
    for (let r = 0; r * c < x.data.length; r++) {
      const off = r * c;
      let mu = 0;
      for (let j = 0; j < c; j++) mu += x.data[off + j];
      mu /= c;
      let v = 0;
      for (let j = 0; j < c; j++) v += (x.data[off + j] - mu) ** 2;
      const rstd = 1 / Math.sqrt(v / c + eps);
      for (let j = 0; j < c; j++) data[off + j] = (x.data[off + j] - mu) * rstd * w.data[j] + b.data[j];
    }
    return [{ shape: [...x.shape], data }];
  },
  cumsum: ([x], attrs) => {
    const data = new Float64Array(x.data.length);
    const exclusive = attrs.exclusive as boolean;
    const reverse = attrs.reverse as boolean;
    forEachLane(x.shape, attrs.axis as number, (off, st, n) => {
      let s = 0;
      for (let k = 0; k < n; k++) {
        const j = reverse ? n - 1 - k : k;
        const v = x.data[off + j * st];
        if (!exclusive) s += v;
        data[off + j * st] = s;
        if (exclusive) s += v;
      }
    });
    return [{ shape: [...x.shape], data }];
  },
  matmul: ([a, b], _attrs, ctx) => {
    const ra = a.shape.length;
    const rb = b.shape.length;
    const [m, k] = a.shape.slice(ra - 2);
    const n = b.shape[rb - 1];
    const batch = broadcastDims(a.shape.slice(0, -2), b.shape.slice(0, -2), ctx.where);
    const ia = broadcastIndex(a.shape.slice(0, -2), batch);
    const ib = broadcastIndex(b.shape.slice(0, -2), batch);
    const nb = numel(batch);
    const data = new Float64Array(nb * m * n);
    for (let p = 0; p < nb; p++) {
      const oa = ia[p] * m * k;
      const ob = ib[p] * k * n;
      const oc = p * m * n;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let t = 0; t < k; t++) s += a.data[oa + i * k + t] * b.data[ob + t * n + j];
          data[oc + i * n + j] = s;
        }
      }
    }
    return [{ shape: [...batch, m, n], data }];
  },
};
