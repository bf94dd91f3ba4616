/**
 * WGSL kernels of reductions, softmax-like lane ops, layerNorm and cumsum: one invocation per output element,
 * lane or row, looping over what it reduces (the fusion pass inlines elementwise producers into these loops).
 */
import type { DType } from '../../../core/dtype.ts';
import { aroundAxis, broadcastDims, numel, stridesOf } from '../../reference/tensor.ts';
import { broadcastStrides, type GpuKernel, type GpuValue, offsets, perElement, shader, u, wgslType } from './wgsl.ts';

/**
 * One invocation per kept element: loops over the reduced elements with `step(acc, v)` from `init`, then
 * `finish(acc, count)`.
 */
function reduceAxes(x: GpuValue, axes: number[], keepdims: boolean, out: DType, init: string, step: string,
  finish: (acc: string, count: number) => string) {
  const st = stridesOf(x.shape);
  const keptShape = x.shape.map((d, j) => (axes.includes(j) ? 1 : d));
  const redShape = x.shape.map((d, j) => (axes.includes(j) ? d : 1));
  const count = numel(redShape);
  const keptView = offsets('i', keptShape, [{ name: 'base', strides: st }]);
  const redView = offsets('r', redShape, [{ name: 'off', strides: st }]).replaceAll('rest', 'rest2');
  const body = `${keptView}
  var acc: ${wgslType(out)} = ${init};
  for (var r: u32 = 0u; r < ${u(count)}; r = r + 1u) {
  ${redView}
    let v = in0[base + off];
    acc = ${step};
  }
  out0[i] = ${finish('acc', count)};`;
  const shape = keepdims ? keptShape : x.shape.filter((_, j) => !axes.includes(j));
  return perElement([x], out, shape, body);
}

/**
 * One invocation per lane along `axis`: `body` sees `base`, `stride` and `n` (the lane's size).
 *
 * @example
 * perLane(x, 1, ['f32'], [[...x.shape]], '  out0[base] = in0[base];'); // copies the first element of each lane
 */
export function perLane(x: GpuValue, axis: number, outs: DType[], outShapes: number[][], body: string) {
  const [outer, n, inner] = aroundAxis(x.shape, axis);
  const lanes = outer * inner;
  const head = `  let base = (i / ${u(inner)}) * ${u(n * inner)} + i % ${u(inner)};
  let stride = ${u(inner)};
  let n = ${u(n)};`;
  const wgsl = shader([x.dtype], outs, lanes, `${head}\n${body}`);
  return { kind: 'shader' as const, wgsl, invocations: lanes, outShapes };
}

function softmaxLike(log: boolean): GpuKernel {
  return ([x], attrs) => perLane(x, attrs.axis as number, ['f32'], [[...x.shape]], `
  var m = sy_f32(0xff800000u);
  for (var j = 0u; j < n; j++) { m = max(m, in0[base + j * stride]); }
  var s = 0.0;
  for (var j = 0u; j < n; j++) { s = s + exp(in0[base + j * stride] - m); }
  let ls = log(s);
  for (var j = 0u; j < n; j++) {
    let z = in0[base + j * stride] - m;
    out0[base + j * stride] = ${log ? 'z - ls' : 'exp(z) / s'};
  }`);
}

/** Kernels of reductions, normalisations and cumsum. */
export const reduceGpuKernels: Record<string, GpuKernel> = {
  // Integer sums (token counts of MoE routing) stay integers, as on the CPU.
  reduceSum: ([x], a) => reduceAxes(x, a.axes as number[], a.keepdims as boolean, x.dtype === 'f32' ? 'f32' : x.dtype,
    x.dtype === 'f32' ? '0.0' : '0', 'acc + v', (s) => s),
  reduceMean: ([x], a) =>
    reduceAxes(x, a.axes as number[], a.keepdims as boolean, 'f32', '0.0', 'acc + v', (s, n) => `${s} / f32(${n})`),
  reduceMax: ([x], a) =>
    reduceAxes(x, a.axes as number[], a.keepdims as boolean, 'f32', 'sy_f32(0xff800000u)',
      'select(max(acc, v), v + acc, v != v || acc != acc)', (s) => s),
  softmax: softmaxLike(false),
  logSoftmax: softmaxLike(true),
  argmax: ([x], attrs) => {
    const axis = attrs.axis as number;
    const shape = attrs.keepdims ? x.shape.map((d, j) => (j === axis ? 1 : d)) : x.shape.filter((_, j) => j !== axis);
    const [, n, inner] = aroundAxis(x.shape, axis);
    return perLane(x, axis, ['i64'], [shape], `
  var best = 0u;
  for (var j = 1u; j < n; j++) { if (in0[base + j * stride] > in0[base + best * stride]) { best = j; } }
  out0[(base / ${u(n * inner)}) * ${u(inner)} + base % ${u(inner)}] = i32(best);`);
  },
  cumsum: ([x], attrs) => {
    const last = x.shape[attrs.axis as number] - 1;
    const j = attrs.reverse ? `${u(last)} - k` : 'k';
    const [pre, post] = attrs.exclusive ? ['', ' s = s + v;'] : [' s = s + v;', ''];
    // Integer cumsums (MoE slot positions, the decode step's positions) sum in i32, the GPU form of i64.
    const zero = x.dtype === 'f32' ? '0.0' : '0';
    return perLane(x, attrs.axis as number, [x.dtype], [[...x.shape]], `
  var s = ${zero};
  for (var k = 0u; k < n; k++) {
    let o = base + (${j}) * stride; let v = in0[o];${pre} out0[o] = s;${post}
  }`);
  },
  layerNorm: (ins, attrs) => {
    const x = ins[0];
    const c = x.shape[x.shape.length - 1];
    const rows = numel(x.shape) / Math.max(1, c);
    const body = `  let off = i * ${u(c)};
  var mu = 0.0;
  for (var j = 0u; j < ${u(c)}; j++) { mu = mu + in0[off + j]; }
  mu = mu / f32(${c});
  var v = 0.0;
  for (var j = 0u; j < ${u(c)}; j++) { let d = in0[off + j] - mu; v = v + d * d; }
  let rstd = 1.0 / sqrt(v / f32(${c}) + f32(${(attrs.eps as number).toExponential()}));
  for (var j = 0u; j < ${u(c)}; j++) { out0[off + j] = (in0[off + j] - mu) * rstd * in1[j] + in2[j]; }`;
    const wgsl = shader(ins.map((t) => t.dtype), ['f32'], rows, body);
    return { kind: 'shader', wgsl, invocations: rows, outShapes: [[...x.shape]] };
  },
};
