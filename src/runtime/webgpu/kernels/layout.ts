/**
 * WGSL kernels of layout ops. Reshape and the pass-throughs are aliases (no copy); transpose, slice and the
 * broadcasts are strided reads; pad and concat pick, per output element, where it comes from.
 */
import type { Dim } from '../../../core/shape.ts';
import { reshapeTarget } from '../../reference/layout.ts';
import { broadcastDims, numel, stridesOf } from '../../reference/tensor.ts';
import {
  broadcastStrides, type GpuKernel, type GpuValue, type KernelPlan, offsets, perElement, shader, u,
} from './wgsl.ts';

/**
 * `out[i] = in0[base + sum(idx_j * strides[j])]` over `shape`. `bound` are all the node's inputs (bound in
 * order even when only the first is read: the bind group has one slot per node input).
 */
function stridedCopy(x: GpuValue, shape: number[], strides: number[], base = 0, bound = [x]): KernelPlan {
  const body = `${offsets('i', shape, [{ name: 'o', strides, base }])}\n  out0[i] = in0[o];`;
  return perElement(bound, x.dtype, shape, body);
}

const alias: GpuKernel = ([x]) => ({ kind: 'alias', input: 0, shape: [...x.shape] });

function broadcast(ins: GpuValue[], shape: number[]): KernelPlan {
  return stridedCopy(ins[0], shape, broadcastStrides(ins[0].shape, shape), 0, ins);
}

/** Kernels of layout ops. */
export const layoutGpuKernels: Record<string, GpuKernel> = {
  reshape: ([x], attrs, ctx) => ({
    kind: 'alias',
    input: 0,
    shape: reshapeTarget(attrs.shape as Dim[], numel(x.shape), (d) => ctx.dim(d), ctx.where),
  }),
  identity: alias,
  stopGradient: alias,
  transpose: ([x], attrs) => {
    const perm = attrs.perm as number[];
    const st = stridesOf(x.shape);
    return stridedCopy(x, perm.map((p) => x.shape[p]), perm.map((p) => st[p]));
  },
  slice: ([x], attrs) => {
    const { axes, starts, ends } = attrs as { axes: number[]; starts: number[]; ends: number[] };
    const st = stridesOf(x.shape);
    const shape = [...x.shape];
    let base = 0;
    axes.forEach((a, k) => {
      shape[a] = ends[k] - starts[k];
      base += starts[k] * st[a];
    });
    return stridedCopy(x, shape, st, base);
  },
  expand: (ins, attrs, ctx) => broadcast(ins, broadcastDims(ins[0].shape, attrs.shape as number[], ctx.where)),
  broadcastLike: (ins, _attrs, ctx) => broadcast(ins, broadcastDims(ins[0].shape, ins[1].shape, ctx.where)),
  pad: ([x], attrs) => {
    const { before, after } = attrs as { before: number[]; after: number[] };
    const shape = x.shape.map((d, j) => d + before[j] + after[j]);
    const st = stridesOf(x.shape);
    const lines = [`  var rest: u32 = i; var o: u32 = 0u; var inside = true;`];
    for (let j = shape.length - 1; j >= 0; j--) {
      lines.push(`  { let c = i32(rest % ${u(shape[j])}) - ${before[j]}i; rest = rest / ${u(shape[j])};`);
      lines.push(`    if (c < 0i || c >= ${x.shape[j]}i) { inside = false; } else { o = o + u32(c) * ${u(st[j])}; } }`);
    }
    const zero = x.dtype === 'f32' ? '0.0' : '0i';
    lines.push(`  if (inside) { out0[i] = in0[o]; } else { out0[i] = ${zero}; }`);
    return perElement([x], x.dtype, shape, lines.join('\n'));
  },
  split: ([x], attrs) => {
    // One invocation per input element, writing it to the piece it belongs to (one dispatch for all pieces).
    const { axis, sizes } = attrs as { axis: number; sizes: number[] };
    const inner = numel(x.shape.slice(axis + 1));
    const total = x.shape[axis];
    const lines = [
      `  let o = i / ${u(total * inner)}; let j = (i / ${u(inner)}) % ${u(total)}; let r = i % ${u(inner)};`,
    ];
    let at = 0;
    sizes.forEach((d, k) => {
      const write = `out${k}[(o * ${u(d)} + j - ${u(at)}) * ${u(inner)} + r] = in0[i];`;
      lines.push(`  ${k ? 'else ' : ''}if (j < ${u(at + d)}) { ${write} }`);
      at += d;
    });
    const n = numel(x.shape);
    const outShapes = sizes.map((d) => x.shape.map((e, j) => (j === axis ? d : e)));
    const wgsl = shader([x.dtype], sizes.map(() => x.dtype), n, lines.join('\n'));
    return { kind: 'shader', wgsl, invocations: n, outShapes };
  },
  concat: (xs, attrs) => {
    const axis = attrs.axis as number;
    const shape = [...xs[0].shape];
    shape[axis] = xs.reduce((s, x) => s + x.shape[axis], 0);
    const inner = numel(shape.slice(axis + 1));
    const total = shape[axis];
    const lines = [
      `  let o = i / ${u(total * inner)}; let j = (i / ${u(inner)}) % ${u(total)}; let r = i % ${u(inner)};`,
    ];
    let at = 0;
    xs.forEach((x, k) => {
      const d = x.shape[axis];
      const read = `in${k}[(o * ${u(d)} + j - ${u(at)}) * ${u(inner)} + r]`;
      lines.push(`  ${k ? 'else ' : ''}if (j < ${u(at + d)}) { out0[i] = ${read}; }`);
      at += d;
    });
    const n = numel(shape);
    const wgsl = shader(xs.map((x) => x.dtype), [xs[0].dtype], n, lines.join('\n'));
    return { kind: 'shader', wgsl, invocations: n, outShapes: [shape] };
  },
};
