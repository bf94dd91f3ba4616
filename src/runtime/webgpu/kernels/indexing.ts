/**
 * WGSL kernels of gathers and one-hot. Negative indices count from the end, as in the reference; an index out
 * of range cannot throw on the GPU: it reads 0 (gathers) or sets no class (one-hot, as the reference does).
 */
import { aroundAxis, numel, stridesOf } from '../../reference/tensor.ts';
import { type GpuKernel, offsets, perElement, u } from './wgsl.ts';

/** WGSL statements: `k` = the index `expr` normalised against `size`, `ok` = whether it is in range. */
function normIndex(expr: string, size: number): string {
  return `  var k: i32 = ${expr};
  if (k < 0i) { k = k + ${size}i; }
  let ok = k >= 0i && k < ${size}i;`;
}

/** Kernels of gathers and one-hot. */
export const indexingGpuKernels: Record<string, GpuKernel> = {
  gather: ([x, idx], attrs) => {
    const axis = attrs.axis as number;
    const [, size, inner] = aroundAxis(x.shape, axis);
    const m = numel(idx.shape);
    const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
    const zero = x.dtype === 'f32' ? '0.0' : '0i';
    const body = `  let r = i % ${u(inner)}; let p = (i / ${u(inner)}) % ${u(m)}; let o = i / ${u(inner * m)};
${normIndex('in1[p]', size)}
  if (ok) { out0[i] = in0[(o * ${u(size)} + u32(k)) * ${u(inner)} + r]; } else { out0[i] = ${zero}; }`;
    return perElement([x, idx], x.dtype, shape, body);
  },
  gatherElements: ([x, idx], attrs) => {
    const axis = attrs.axis as number;
    const st = stridesOf(x.shape);
    const zero = x.dtype === 'f32' ? '0.0' : '0i';
    const view = offsets('i', [...idx.shape], [{ name: 'o', strides: st.map((s, j) => (j === axis ? 0 : s)) }]);
    const body = `${view}
${normIndex('in1[i]', x.shape[axis])}
  if (ok) { out0[i] = in0[o + u32(k) * ${u(st[axis])}]; } else { out0[i] = ${zero}; }`;
    return perElement([x, idx], x.dtype, [...idx.shape], body);
  },
  scatterElementsAdd: ([base, idx, upd], attrs) => {
    // No float atomics in WGSL: each output element sums, in order, the updates aimed at it along `axis` (only
    // those can hit it), which is also deterministic.
    const axis = attrs.axis as number;
    const bst = stridesOf(base.shape);
    const ist = stridesOf(idx.shape);
    const coords = base.shape.map((d, j) => `  let c${j} = (i / ${u(bst[j])}) % ${u(d)};`).join('\n');
    const others = base.shape.map((_, j) => j).filter((j) => j !== axis);
    const inIdx = others.map((j) => `c${j} < ${u(idx.shape[j])}`).join(' && ') || 'true';
    const at = others.map((j) => `c${j} * ${u(ist[j])}`).join(' + ') || '0u';
    const body = `${coords}
  var acc = in0[i];
  if (${inIdx}) {
    for (var j = 0u; j < ${u(idx.shape[axis])}; j++) {
      let q = ${at} + j * ${u(ist[axis])};
${normIndex('in1[q]', base.shape[axis]).replaceAll('\n', '\n    ')}
      if (ok && u32(k) == c${axis}) { acc = acc + in2[q]; }
    }
  }
  out0[i] = acc;`;
    return perElement([base, idx, upd], base.dtype, [...base.shape], body);
  },
  oneHot: ([idx], attrs) => {
    const depth = attrs.depth as number;
    const body = `${normIndex(`in0[i / ${u(depth)}]`, depth)}
  out0[i] = select(0.0, 1.0, ok && u32(k) == i % ${u(depth)});`;
    return perElement([idx], 'f32', [...idx.shape, depth], body);
  },
};
