/**
 * WGSL kernels of elementwise ops (numpy broadcasting over any number of inputs), casts and fills. f32 math
 * follows the reference interpreter's definitions; where WGSL's builtin differs at the edges (tanh overflow,
 * pow of a negative base, erf missing) a helper below defines it.
 */
import type { DType } from '../../../core/dtype.ts';
import type { Attrs } from '../../../core/graph.ts';
import { broadcastDims } from '../../reference/tensor.ts';
import { broadcastStrides, type GpuKernel, type GpuKernelContext, type GpuValue, offsets, perElement } from './wgsl.ts';

/** Helpers the expressions below may call (WGSL drops unused functions). */
export const ELEMENTWISE_HELPERS = `
fn sy_tanh(x: f32) -> f32 { let e = exp(-2.0 * abs(x)); return sign(x) * (1.0 - e) / (1.0 + e); }
fn sy_sigmoid(x: f32) -> f32 { if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); } let e = exp(x); return e / (1.0 + e); }
fn sy_erf(x: f32) -> f32 {
  // Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): below fp32 resolution near 1.
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let poly = (((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592;
  let y = 1.0 - poly * t * exp(-x * x);
  return sign(x) * y;
}
fn sy_pow(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a >= 0.0) { return pow(a, b); }
  if (b != round(b)) { return sy_f32(0x7fc00000u); }
  let m = pow(-a, b);
  if (abs(b % 2.0) == 1.0) { return -m; }
  return m;
}
fn sy_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn sy_isinf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn sy_sign(x: f32) -> f32 { if (sy_isnan(x)) { return x; } return sign(x); }
fn sy_idiv(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } return a / b; }
`;

const b2i = (cond: string): string => `select(0i, 1i, ${cond})`;

/** WGSL's min/max may drop a NaN; the reference's Math.min/max propagate it (NaN + x is NaN). */
const nanPropagating = (f: string, a: string, b: string): string =>
  `select(${f}(${a}, ${b}), ${a} + ${b}, sy_isnan(${a}) || sy_isnan(${b}))`;

/** f32 (or any-dtype where the same text works) binary expressions over `a` and `b`. */
const BINARY: Record<string, (a: string, b: string, int: boolean) => string> = {
  add: (a, b) => `${a} + ${b}`,
  sub: (a, b) => `${a} - ${b}`,
  mul: (a, b) => `${a} * ${b}`,
  div: (a, b, int) => (int ? `sy_idiv(${a}, ${b})` : `${a} / ${b}`),
  pow: (a, b) => `sy_pow(${a}, ${b})`,
  maximum: (a, b, int) => (int ? `max(${a}, ${b})` : nanPropagating('max', a, b)),
  minimum: (a, b, int) => (int ? `min(${a}, ${b})` : nanPropagating('min', a, b)),
  equal: (a, b) => b2i(`${a} == ${b}`),
  less: (a, b) => b2i(`${a} < ${b}`),
  greater: (a, b) => b2i(`${a} > ${b}`),
  lessEqual: (a, b) => b2i(`${a} <= ${b}`),
  greaterEqual: (a, b) => b2i(`${a} >= ${b}`),
  and: (a, b) => b2i(`${a} != 0i && ${b} != 0i`),
  or: (a, b) => b2i(`${a} != 0i || ${b} != 0i`),
};

/** Unary expressions over `x` (f32 unless the op says otherwise). */
const UNARY: Record<string, (x: string, int: boolean) => string> = {
  neg: (x) => `-${x}`,
  exp: (x) => `exp(${x})`,
  log: (x) => `select(log(${x}), sy_f32(0x7fc00000u), ${x} < 0.0)`,
  sqrt: (x) => `select(sqrt(${x}), sy_f32(0x7fc00000u), ${x} < 0.0)`,
  tanh: (x) => `sy_tanh(${x})`,
  sigmoid: (x) => `sy_sigmoid(${x})`,
  relu: (x, int) => (int ? `max(${x}, 0i)` : `select(${x}, 0.0, ${x} < 0.0)`),
  abs: (x) => `abs(${x})`,
  erf: (x) => `sy_erf(${x})`,
  sin: (x) => `sin(${x})`,
  cos: (x) => `cos(${x})`,
  sign: (x, int) => (int ? `sign(${x})` : `sy_sign(${x})`),
  not: (x) => b2i(`${x} == 0i`),
  isNaN: (x) => b2i(`sy_isnan(${x})`),
  isInf: (x) => b2i(`sy_isinf(${x})`),
};

/** The traced dtype of the node's first output. */
const outType = (ctx: GpuKernelContext): DType => ctx.node.outputs[0].dtype;

/** One output element from broadcast inputs: `expr(in0[o0], in1[o1], ...)`. */
function broadcastMap(ins: GpuValue[], where: string, out: DType, expr: (vals: string[]) => string) {
  let shape = ins[0].shape;
  for (const x of ins.slice(1)) shape = broadcastDims(shape, x.shape, where);
  const views = ins.map((x, k) => ({ name: `o${k}`, strides: broadcastStrides(x.shape, shape) }));
  const body = `${offsets('i', shape, views)}\n  out0[i] = ${expr(ins.map((_, k) => `in${k}[o${k}]`))};`;
  return perElement(ins, out, shape, body, ELEMENTWISE_HELPERS);
}

/** The WGSL conversion of a value of `from` to `to`: f32 -> i64 truncates toward zero, anything -> bool is != 0. */
function convert(v: string, from: DType, to: DType): string {
  if (to === 'bool') return b2i(from === 'f32' ? `${v} != 0.0` : `${v} != 0i`);
  if (from === to || (from !== 'f32' && to !== 'f32')) return v;
  return to === 'f32' ? `f32(${v})` : `i32(trunc(${v}))`;
}

/** A WGSL literal of `value` as `dtype`. */
export function literal(value: number, dtype: DType): string {
  if (dtype === 'f32') {
    if (Number.isNaN(value)) return 'sy_f32(0x7fc00000u)';
    if (!Number.isFinite(value)) return `sy_f32(${value > 0 ? '0x7f800000u' : '0xff800000u'})`;
    return `f32(${Math.fround(value).toExponential()})`;
  }
  if (dtype === 'bool') return value !== 0 ? '1i' : '0i';
  return `${Math.trunc(value)}i`;
}

/** The WGSL literal a `fullLike` node fills with. */
function fillLiteral(attrs: Attrs): string {
  const dtype = attrs.dtype as DType;
  return literal(dtype === 'f32' ? (attrs.value as number) : Number(attrs.value), dtype);
}

/** Ops computed element by element from broadcast inputs (the fusion pass inlines these). */
export const ELEMENTWISE_OPS: readonly string[] = [...Object.keys(BINARY), ...Object.keys(UNARY), 'where', 'cast'];

/**
 * The WGSL expression of one element of an elementwise op (or a `fullLike` fill) from its inputs' element
 * expressions `vals`; undefined for other ops. Expressions may call {@link ELEMENTWISE_HELPERS}.
 *
 * @example
 * elementwiseExpr('add', ['x', 'y'], ['f32', 'f32'], 'f32', {}); // 'x + y'
 */
export function elementwiseExpr(op: string, vals: string[], ins: DType[], out: DType, attrs: Attrs)
  : string | undefined {
  const int = ins[0] !== 'f32';
  if (op in BINARY) return BINARY[op](vals[0], vals[1], int);
  if (op in UNARY) return UNARY[op](vals[0], int);
  if (op === 'where') return `select(${vals[2]}, ${vals[1]}, ${vals[0]} != 0i)`;
  if (op === 'cast') return convert(vals[0], ins[0], out);
  if (op === 'fullLike') return fillLiteral(attrs);
  return undefined;
}

/** Kernels of elementwise ops, casts and fills. */
export const elementwiseGpuKernels: Record<string, GpuKernel> = {
  ...Object.fromEntries(
    ELEMENTWISE_OPS.map((op): [string, GpuKernel] => [
      op,
      (ins, attrs, ctx) => broadcastMap(ins, ctx.where, outType(ctx),
        (vals) => elementwiseExpr(op, vals, ins.map((x) => x.dtype), outType(ctx), attrs)!),
    ]),
  ),
  fullLike: ([x], attrs) => perElement([x], attrs.dtype as DType, [...x.shape], `  out0[i] = ${fillLiteral(attrs)};`),
  numel: ([x], attrs, ctx) => {
    const count = (attrs.axes as number[]).reduce((n, a) => n * x.shape[a], 1);
    const dtype = ctx.node.outputs[0].dtype;
    return perElement([x], dtype, [], `  out0[i] = ${literal(count, dtype)};`);
  },
};
