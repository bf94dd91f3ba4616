/**
 * WGSL kernels of gathers, scatter-adds and one-hot. Negative indices count from the end, as in the reference;
 * an index out of range cannot throw on the GPU: it reads 0 (gathers), adds nothing (scatter-adds) or sets no
 * class (one-hot, as the reference does).
 */
import { aroundAxis, numel, stridesOf } from '../../reference/tensor.ts';
import { perLane } from './reduce.ts';
import { type GpuKernel, offsets, perElement, u } from './wgsl.ts';

/** WGSL statements: `k` = the index `expr` normalised against `size`, `ok` = whether it is in range. */
function normIndex(expr: string, size: number): string {
  return `  var k: i32 = ${expr};
  if (k < 0i) { k = k + ${size}i; }
  let ok = k >= 0i && k < ${size}i;`;
}

/**
 * WGSL statements: `row` = the slice number (row-major over the first `q` dims of `x`) that index tuple `b` of
 * a gatherND/scatterND index tensor names, `inRange` = whether every component is in range.
 */
function ndRow(xShape: number[], q: number, idxBinding: string): string {
  const lines = ['  var row: u32 = 0u; var inRange = true;'];
  for (let j = 0; j < q; j++) {
    lines.push(`  { var c: i32 = ${idxBinding}[b * ${u(q)} + ${u(j)}]; if (c < 0i) { c = c + ${xShape[j]}i; }`);
    lines.push(`    if (c < 0i || c >= ${xShape[j]}i) { inRange = false; }`);
    lines.push(`    row = row * ${u(xShape[j])} + u32(max(c, 0i)); }`);
  }
  return lines.join('\n');
}

/** Kernels of gathers, scatter-adds and one-hot. */
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
  gatherND: ([x, idx]) => {
    const q = idx.shape[idx.shape.length - 1];
    const slice = numel(x.shape.slice(q));
    const zero = x.dtype === 'f32' ? '0.0' : '0i';
    const body = `  let b = i / ${u(slice)};
${ndRow(x.shape, q, 'in1')}
  if (inRange) { out0[i] = in0[row * ${u(slice)} + i % ${u(slice)}]; } else { out0[i] = ${zero}; }`;
    return perElement([x, idx], x.dtype, [...idx.shape.slice(0, -1), ...x.shape.slice(q)], body);
  },
  scatterNDAdd: ([base, idx, upd]) => {
    // As scatterElementsAdd: each element sums, in order, the update slices whose index tuple names its slice.
    const q = idx.shape[idx.shape.length - 1];
    const slice = numel(base.shape.slice(q));
    const tuples = q === 0 ? numel(idx.shape.slice(0, -1)) : numel(idx.shape) / q;
    const body = `  var acc = in0[i];
  for (var b = 0u; b < ${u(tuples)}; b++) {
${ndRow(base.shape, q, 'in1').replaceAll('\n', '\n  ')}
    if (inRange && row == i / ${u(slice)}) { acc = acc + in2[b * ${u(slice)} + i % ${u(slice)}]; }
  }
  out0[i] = acc;`;
    return perElement([base, idx, upd], base.dtype, [...base.shape], body);
  },
  topk: ([x], attrs) => {
    // An element's place is the number of elements ahead of it (greater, or equal and earlier: the reference's
    // stable order); the first k places are written. O(n^2) per lane: the plain version.
    const { k, axis, largest } = attrs as { k: number; axis: number; largest: boolean };
    const inner = numel(x.shape.slice(axis + 1));
    const n = x.shape[axis];
    const shape = x.shape.map((d, j) => (j === axis ? k : d));
    const ahead = largest ? '>' : '<';
    return perLane(x, axis, [x.dtype, 'i64'], [shape, shape], `
  let outBase = (base / ${u(n * inner)}) * ${u(k * inner)} + base % ${u(inner)};
  for (var j = 0u; j < n; j++) {
    let v = in0[base + j * stride];
    var place = 0u;
    for (var p = 0u; p < n; p++) {
      let w = in0[base + p * stride];
      if (w ${ahead} v || (w == v && p < j)) { place++; }
    }
    if (place < ${u(k)}) { out0[outBase + place * stride] = v; out1[outBase + place * stride] = i32(j); }
  }`);
  },
  oneHot: ([idx], attrs) => {
    const depth = attrs.depth as number;
    const body = `${normIndex(`in0[i / ${u(depth)}]`, depth)}
  out0[i] = select(0.0, 1.0, ok && u32(k) == i % ${u(depth)});`;
    return perElement([idx], 'f32', [...idx.shape, depth], body);
  },
};
