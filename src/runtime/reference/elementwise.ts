import type { DType } from '../../core/dtype.ts';
import type { TensorData } from '../../core/graph.ts';
import { hashUniform } from '../../core/ops/random.ts';
import { erf } from './erf.ts';
import { broadcastDims, broadcastIndex, type Kernel, numel, refFail, type RefTensor, type RefValue } from './tensor.ts';

type Fn2 = (a: number, b: number) => number;

/** Applies `fn` elementwise with numpy broadcasting over any number of inputs. */
function broadcastMap(xs: RefTensor[], where: string, fn: (vals: number[]) => number): RefValue {
  let shape = xs[0].shape;
  for (const x of xs.slice(1)) shape = broadcastDims(shape, x.shape, where);
  const maps = xs.map((x) => (x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i]) ? null : broadcastIndex(x.shape, shape)));
  const n = numel(shape);
  const data = new Float64Array(n);
  const vals = new Array<number>(xs.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < xs.length; k++) vals[k] = xs[k].data[maps[k] ? maps[k]![i] : i];
    data[i] = fn(vals);
  }
  return { shape: [...shape], data };
}

function binary(fn: Fn2, intFn?: Fn2): Kernel {
  return ([a, b], _attrs, ctx) => {
    const f = a.dtype === 'i64' && intFn ? intFn : fn;
    return [broadcastMap([a, b], ctx.where, (v) => f(v[0], v[1]))];
  };
}

function unary(fn: (x: number) => number): Kernel {
  return ([x]) => [{ shape: [...x.shape], data: x.data.map(fn) }];
}

const bool = (c: boolean): number => (c ? 1 : 0);

/** Converts a value to `dtype`: f32 -> i64 truncates toward zero, anything -> bool is `!= 0`. */
function convert(v: number, dtype: DType): number {
  if (dtype === 'bool') return bool(v !== 0);
  if (dtype === 'i64') return Number.isFinite(v) ? Math.trunc(v) + 0 : NaN;
  return v;
}

function intDiv(where: string): Fn2 {
  return (a, b) => {
    if (b === 0) refFail(where, 'integer division by zero', 'guard the divisor (maximum(d, 1))');
    return Math.trunc(a / b) + 0;
  };
}

function constData(data: TensorData): Float64Array {
  if (data instanceof BigInt64Array) return Float64Array.from(data, (v) => Number(v));
  return Float64Array.from(data);
}

/** Kernels of constant, elementwise, cast and random ops. */
export const elementwiseKernels: Record<string, Kernel> = {
  const: (_ins, attrs) => [{ shape: [...(attrs.shape as number[])], data: constData(attrs.data as TensorData) }],
  fullLike: ([x], attrs) => {
    const v = convert(attrs.value as number, attrs.dtype as DType);
    return [{ shape: [...x.shape], data: new Float64Array(numel(x.shape)).fill(v) }];
  },
  numel: ([x], attrs) => [{ shape: [], data: Float64Array.of(numel((attrs.axes as number[]).map((a) => x.shape[a]))) }],

  add: binary((a, b) => a + b),
  sub: binary((a, b) => a - b),
  mul: binary((a, b) => a * b),
  div: (ins, attrs, ctx) => binary((a, b) => a / b, intDiv(ctx.where))(ins, attrs, ctx),
  pow: binary((a, b) => Math.pow(a, b)),
  maximum: binary((a, b) => Math.max(a, b)),
  minimum: binary((a, b) => Math.min(a, b)),
  equal: binary((a, b) => bool(a === b)),
  less: binary((a, b) => bool(a < b)),
  greater: binary((a, b) => bool(a > b)),
  lessEqual: binary((a, b) => bool(a <= b)),
  greaterEqual: binary((a, b) => bool(a >= b)),
  and: binary((a, b) => bool(a !== 0 && b !== 0)),
  or: binary((a, b) => bool(a !== 0 || b !== 0)),
  where: (ins, _attrs, ctx) => [broadcastMap(ins, ctx.where, (v) => (v[0] !== 0 ? v[1] : v[2]))],

  neg: unary((x) => -x),
  exp: unary(Math.exp),
  log: unary(Math.log),
  sqrt: unary(Math.sqrt),
  tanh: unary(Math.tanh),
  sigmoid: unary((x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))),
  relu: unary((x) => (x < 0 ? 0 : x)),
  abs: unary(Math.abs),
  erf: unary(erf),
  sin: unary(Math.sin),
  cos: unary(Math.cos),
  sign: unary((x) => (Number.isNaN(x) ? NaN : x > 0 ? 1 : x < 0 ? -1 : 0)),
  not: unary((x) => bool(x === 0)),
  isNaN: unary((x) => bool(Number.isNaN(x))),
  isInf: unary((x) => bool(x === Infinity || x === -Infinity)),
  cast: ([x], attrs) => {
    const dtype = attrs.dtype as DType;
    return [{ shape: [...x.shape], data: x.data.map((v) => convert(v, dtype)) }];
  },

  randomUniformLike: ([x, seed], _attrs, ctx) => {
    const s = seed.data[0];
    if (!Number.isSafeInteger(s) || s < 0) refFail(ctx.where, `seed must be a non-negative integer, got ${s}`, 'feed a seed >= 0');
    const n = numel(x.shape);
    const data = new Float64Array(n);
    const bs = BigInt(s);
    for (let i = 0; i < n; i++) data[i] = hashUniform(BigInt(i), bs);
    return [{ shape: [...x.shape], data }];
  },
};
