/**
 * WGSL matmul kernels, batched with numpy broadcasting, each operand read through strides so that a transpose
 * feeding the product costs no copy (the fusion pass folds it: attrs `permA`/`permB` name the permutation from
 * the stored tensor to the operand). Three kernels, picked by shape ({@link chooseMatmulKernel}):
 * - `tiled`: a workgroup computes a TM x TN output tile, staging TK-deep slices of both operands in workgroup
 *   memory; each invocation keeps RM x RN outputs in registers (register blocking);
 * - `dot`: small outputs with a long inner dimension (matrix-vector products, decode steps): a workgroup of
 *   64 splits one output's inner dimension and sums the partials with `subgroupAdd` where the device has
 *   `subgroups`, else with a tree in workgroup memory;
 * - `simple`: one invocation per output element, for tiny products where a tile would be mostly empty.
 */
import { broadcastDims, numel, stridesOf } from '../../reference/tensor.ts';
import { type GpuKernel, type GpuKernelContext, type GpuValue, offsets, type ShaderPlan, shader, u } from './wgsl.ts';

/** A matmul operand: its logical shape `[..., rows, cols]` and the element strides of each dim in its buffer. */
interface Operand {
  shape: number[];
  strides: number[];
}

/** The operand seen through `perm` (logical dim j is stored dim perm[j]); contiguous without one. */
function operand(x: GpuValue, perm?: number[]): Operand {
  const st = stridesOf(x.shape);
  if (!perm) return { shape: [...x.shape], strides: st };
  return { shape: perm.map((p) => x.shape[p]), strides: perm.map((p) => st[p]) };
}

/** Strides of an operand's batch dims broadcast to `batch` (0 where it broadcasts). */
function batchStrides(x: Operand, batch: number[]): number[] {
  const dims = x.shape.slice(0, -2);
  const lead = batch.length - dims.length;
  return batch.map((_, j) => (j < lead || dims[j - lead] === 1 ? 0 : x.strides[j - lead]));
}

/** The sizes of one product: `[...batch, m, k] @ [...batch, k, n]`. */
interface Problem {
  a: Operand;
  b: Operand;
  batch: number[];
  m: number;
  k: number;
  n: number;
}

/** Which kernel computes a product. */
export type MatmulKernel = 'tiled64' | 'tiled32' | 'dot' | 'simple';

/**
 * The kernel for an `m x k @ k x n` product repeated `batches` times: tiles where both output sides fill one,
 * split inner dimensions for small outputs with a long inner dimension, one invocation per element otherwise.
 *
 * @example
 * chooseMatmulKernel(1, 768, 3072, 1); // 'dot'
 */
export function chooseMatmulKernel(m: number, k: number, n: number, batches: number): MatmulKernel {
  if (batches <= 65535 && k >= 8) {
    if (m >= 64 && n >= 64) return 'tiled64';
    if (m >= 16 && n >= 16) return 'tiled32';
  }
  if (k >= 128 && m * n * batches <= 65536) return 'dot';
  return 'simple';
}

/** WGSL statements setting `oa`, `ob`, `oc` (the batch's first element of A, B and C) from the flat batch `z`. */
function batchOffsets(z: string, p: Problem): string {
  return offsets(z, p.batch, [
    { name: 'oa', strides: batchStrides(p.a, p.batch) },
    { name: 'ob', strides: batchStrides(p.b, p.batch) },
    { name: 'oc', strides: stridesOf(p.batch).map((s) => s * p.m * p.n) },
  ]);
}

/** Bindings, sizes and the guarded element loads `loadA(oa, row, col)` / `loadB(ob, row, col)`. */
function header(p: Problem, enable = ''): string {
  const [ar, ac] = p.a.strides.slice(-2);
  const [br, bc] = p.b.strides.slice(-2);
  return `${enable}
@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in1: array<f32>;
@group(0) @binding(2) var<storage, read_write> out0: array<f32>;
const M = ${u(p.m)};
const K = ${u(p.k)};
const N = ${u(p.n)};
fn loadA(oa: u32, r: u32, c: u32) -> f32 {
  if (r < M && c < K) { return in0[oa + r * ${u(ar)} + c * ${u(ac)}]; }
  return 0.0;
}
fn loadB(ob: u32, r: u32, c: u32) -> f32 {
  if (r < K && c < N) { return in1[ob + r * ${u(br)} + c * ${u(bc)}]; }
  return 0.0;
}`;
}

/** Tile geometry: TX x TY invocations, each RM x RN outputs, TK-deep slices. */
interface Tile {
  tx: number;
  ty: number;
  rm: number;
  rn: number;
  tk: number;
}

const TILES: Record<'tiled64' | 'tiled32', Tile> = {
  tiled64: { tx: 16, ty: 16, rm: 4, rn: 4, tk: 16 },
  tiled32: { tx: 8, ty: 8, rm: 4, rn: 4, tk: 16 },
};

/**
 * The staging loop of one operand's tile: `rows x cols` elements spread over the workgroup, the flat index
 * running along the dim that is contiguous in memory (coalesced reads), stored row-major in `tile`.
 */
function stageTile(tile: string, load: string, rows: number, cols: number, rowFastest: boolean, t: Tile): string {
  const [r, c] = rowFastest ? [`e % ${u(rows)}`, `e / ${u(rows)}`] : [`e / ${u(cols)}`, `e % ${u(cols)}`];
  return `    for (var e = li; e < ${u(rows * cols)}; e += ${u(t.tx * t.ty)}) {
      let r = ${r}; let c = ${c};
      ${tile}[r * ${u(cols)} + c] = ${load};
    }`;
}

function tiledShader(p: Problem, t: Tile): string {
  const tm = t.ty * t.rm;
  const tn = t.tx * t.rn;
  const aRowFastest = p.a.strides[p.a.strides.length - 2] === 1;
  const bRowFastest = p.b.strides[p.b.strides.length - 2] === 1;
  // tileA is stored [TK][TM] (k-major) so that the inner loop reads one row of A per k for all its rows.
  const stageA = stageTile('tileA', 'loadA(oa, row0 + c, k0 + r)', t.tk, tm, !aRowFastest, t);
  const stageB = stageTile('tileB', 'loadB(ob, k0 + r, col0 + c)', t.tk, tn, bRowFastest, t);
  return `${header(p)}
var<workgroup> tileA: array<f32, ${t.tk * tm}>;
var<workgroup> tileB: array<f32, ${t.tk * tn}>;
@compute @workgroup_size(${t.tx}, ${t.ty}, 1)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
${batchOffsets('wg.z', p)}
  let row0 = wg.y * ${u(tm)};
  let col0 = wg.x * ${u(tn)};
  var acc: array<f32, ${t.rm * t.rn}>;
  for (var k0 = 0u; k0 < K; k0 += ${u(t.tk)}) {
${stageA}
${stageB}
    workgroupBarrier();
    for (var kk = 0u; kk < ${u(t.tk)}; kk++) {
      var av: array<f32, ${t.rm}>;
      for (var i = 0u; i < ${u(t.rm)}; i++) { av[i] = tileA[kk * ${u(tm)} + lid.y + i * ${u(t.ty)}]; }
      for (var j = 0u; j < ${u(t.rn)}; j++) {
        let bv = tileB[kk * ${u(tn)} + lid.x + j * ${u(t.tx)}];
        for (var i = 0u; i < ${u(t.rm)}; i++) { acc[i * ${u(t.rn)} + j] += av[i] * bv; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${u(t.rm)}; i++) {
    for (var j = 0u; j < ${u(t.rn)}; j++) {
      let r = row0 + lid.y + i * ${u(t.ty)};
      let c = col0 + lid.x + j * ${u(t.tx)};
      if (r < M && c < N) { out0[oc + r * N + c] = acc[i * ${u(t.rn)} + j]; }
    }
  }
}
`;
}

const DOT_LANES = 64;

/** Sums each lane's `acc` over the workgroup into `total` (lane 0), with subgroups or a tree. */
function workgroupSum(subgroups: boolean): string {
  if (subgroups) {
    // One partial per subgroup, wherever the subgroups lie in the workgroup: only each one's first lane writes.
    return `  let s = subgroupAdd(acc);
  partial[li] = select(0.0, s, lane == 0u);
  workgroupBarrier();
  var total = 0.0;
  if (li == 0u) { for (var j = 0u; j < ${u(DOT_LANES)}; j++) { total += partial[j]; } }`;
  }
  return `  partial[li] = acc;
  workgroupBarrier();
  for (var w = ${u(DOT_LANES / 2)}; w > 0u; w = w / 2u) {
    if (li < w) { partial[li] += partial[li + w]; }
    workgroupBarrier();
  }
  let total = partial[0];`;
}

function dotShader(p: Problem, subgroups: boolean): string {
  const [, ac] = p.a.strides.slice(-2);
  const [br] = p.b.strides.slice(-2);
  const laneArg = subgroups ? ', @builtin(subgroup_invocation_id) lane: u32' : '';
  const rowCol = `  let z = i / ${u(p.m * p.n)}; let r = (i / N) % M; let c = i % N;
${batchOffsets('z', p)}
  let pa = oa + r * ${u(p.a.strides[p.a.strides.length - 2])};
  let pb = ob + c * ${u(p.b.strides[p.b.strides.length - 1])};`;
  return `${header(p, subgroups ? 'enable subgroups;' : '')}
var<workgroup> partial: array<f32, ${DOT_LANES}>;
@compute @workgroup_size(${DOT_LANES})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nw: vec3u,
        @builtin(local_invocation_index) li: u32${laneArg}) {
  let i = wg.x + wg.y * nw.x;
  if (i >= ${u(numel(p.batch) * p.m * p.n)}) { return; }
${rowCol}
  var acc = 0.0;
  for (var k0 = 0u; k0 < K; k0 += ${u(DOT_LANES)}) {
    let q = k0 + li;
    if (q < K) { acc += in0[pa + q * ${u(ac)}] * in1[pb + q * ${u(br)}]; }
  }
${workgroupSum(subgroups)}
  if (li == 0u) { out0[oc + r * N + c] = total; }
}
`;
}

function simpleShader(p: Problem): string {
  const [ar, ac] = p.a.strides.slice(-2);
  const [br, bc] = p.b.strides.slice(-2);
  const views = [
    { name: 'oa', strides: [...batchStrides(p.a, p.batch), ar, 0] },
    { name: 'ob', strides: [...batchStrides(p.b, p.batch), 0, bc] },
  ];
  const body = `${offsets('i', [...p.batch, p.m, p.n], views)}
  var acc = 0.0;
  for (var q = 0u; q < ${u(p.k)}; q++) { acc += in0[oa + q * ${u(ac)}] * in1[ob + q * ${u(br)}]; }
  out0[i] = acc;`;
  return shader(['f32', 'f32'], ['f32'], numel(p.batch) * p.m * p.n, body);
}

/**
 * The plan of one product with a chosen kernel (`choice` defaults to {@link chooseMatmulKernel}'s).
 *
 * @example
 * matmulPlan([{ dtype: 'f32', shape: [5, 7] }, { dtype: 'f32', shape: [3, 7] }], {}, undefined, [1, 0]);
 */
export function matmulPlan(ins: GpuValue[], ctx: Pick<GpuKernelContext, 'where' | 'features'>,
  permA?: number[], permB?: number[], choice?: MatmulKernel): ShaderPlan {
  const a = operand(ins[0], permA);
  const b = operand(ins[1], permB);
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const batch = broadcastDims(a.shape.slice(0, -2), b.shape.slice(0, -2), ctx.where);
  const p: Problem = { a, b, batch, m, k, n };
  const outShapes = [[...batch, m, n]];
  const count = numel(batch);
  const kernel = choice ?? chooseMatmulKernel(m, k, n, count);
  if (kernel === 'simple' || count * m * n === 0) {
    return { kind: 'shader', wgsl: simpleShader(p), invocations: count * m * n, outShapes };
  }
  if (kernel === 'dot') {
    const wgsl = dotShader(p, ctx.features.includes('subgroups'));
    return { kind: 'shader', wgsl, invocations: count * m * n, outShapes, workgroups: count * m * n };
  }
  const t = TILES[kernel];
  const workgroups: [number, number, number] = [Math.ceil(n / (t.tx * t.rn)), Math.ceil(m / (t.ty * t.rm)), count];
  return { kind: 'shader', wgsl: tiledShader(p, t), invocations: count * m * n, outShapes, workgroups };
}

/** The matmul kernel: attrs `permA`/`permB` (set by the fusion pass) read an operand through a transpose. */
export const matmulGpuKernel: GpuKernel = (ins, attrs, ctx) =>
  matmulPlan(ins, ctx, attrs.permA as number[] | undefined, attrs.permB as number[] | undefined);
