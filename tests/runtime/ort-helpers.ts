/**
 * Helpers of the ORT-vs-reference suite: trace a graph once, run it in the float64 reference interpreter and
 * through the ONNX lowering in ONNX Runtime on the same (float32-rounded) feeds, and compare every output.
 * Ops whose nodes ran on ORT are recorded so each test file can assert its share of the op set was covered.
 */
import { expect } from 'vitest';
import { add, backward, type Dim, type DType, type Graph, mul, opNames, reduceSum, type Tensor, trace } from '../../src/core/index.ts';
import { liveNodes } from '../../src/runtime/onnx/lower.ts';
import { type RefTensor, runReference } from '../../src/runtime/reference/index.ts';
import { compile, type CompiledGraph, type HostTensor } from '../../src/runtime/session.ts';
import { prng } from '../core/gradcheck.ts';

/** Which ops each ORT test file must run (their union is the whole op set; asserted in every file). */
export const ORT_FAMILIES: Record<string, string[]> = {
  forward: [
    'const', 'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'equal', 'less', 'greater', 'lessEqual', 'greaterEqual', 'and', 'or', 'where',
    'neg', 'exp', 'log', 'sqrt', 'tanh', 'sigmoid', 'relu', 'abs', 'erf', 'sin', 'cos', 'sign', 'not', 'isNaN', 'isInf', 'cast',
    'reduceSum', 'reduceMean', 'reduceMax', 'argmax', 'softmax', 'logSoftmax', 'layerNorm', 'cumsum', 'matmul',
  ],
  structure: [
    'const', 'fullLike', 'numel', 'reshape', 'transpose', 'slice', 'split', 'pad', 'concat', 'broadcastLike', 'expand', 'identity', 'stopGradient',
    'gather', 'gatherElements', 'scatterElementsAdd', 'gatherND', 'scatterNDAdd', 'topk', 'oneHot', 'nonzero', 'randomUniformLike', 'loop', 'splitRows',
    'concatRows',
  ],
  conv: ['conv2d', 'convTranspose2d', 'conv2dWeightGrad'],
  grad: [
    'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'where', 'neg', 'exp', 'log', 'sqrt', 'tanh', 'sigmoid', 'relu', 'abs', 'erf', 'sin',
    'cos', 'sign', 'cast', 'fullLike', 'numel', 'identity', 'randomUniformLike', 'reshape', 'transpose', 'slice', 'split', 'pad', 'concat', 'broadcastLike',
    'expand', 'reduceSum', 'reduceMean', 'reduceMax', 'matmul', 'softmax', 'logSoftmax', 'layerNorm', 'cumsum', 'gather', 'gatherElements',
    'scatterElementsAdd', 'gatherND', 'scatterNDAdd', 'topk', 'splitRows', 'concatRows',
  ],
};

/** Ops whose nodes were run on ORT by this test file so far (live nodes only, loop bodies included). */
export const ortRanOps = new Set<string>();

function recordLive(g: Graph, outputs: Tensor[]): void {
  for (const n of liveNodes(g, outputs)) {
    ortRanOps.add(n.op);
    if (n.op === 'loop') {
      const body = n.attrs.body as Graph;
      recordLive(body, body.outputs);
    }
  }
}

/** Asserts that the families cover `opNames()` and that this file ran every op of `family` on ORT. */
export function expectFamilyCovered(family: string): void {
  const all = new Set(Object.values(ORT_FAMILIES).flat());
  expect(opNames().filter((op) => !all.has(op)), 'ops in no ORT family').toEqual([]);
  expect(ORT_FAMILIES[family].filter((op) => !ortRanOps.has(op)), `ops of family '${family}' never run on ORT`).toEqual([]);
}

/** Tolerances for f32 outputs: `|ort - ref| <= rtol * |ref| + atol` with ref rounded to float32. */
export interface Tol {
  rtol?: number;
  atol?: number;
}

/** The feeds with every f32 value rounded to float32, as ORT will see them. */
export function roundFeeds(feeds: Record<string, RefTensor>): Record<string, RefTensor> {
  return Object.fromEntries(
    Object.entries(feeds).map(([k, t]) => [k, t.dtype === 'f32' ? { ...t, data: t.data.map(Math.fround) } : t]),
  );
}

/** A reference tensor as an ORT host tensor (f32 -> Float32Array, i64 -> BigInt64Array, bool -> Uint8Array). */
export function toHost(t: RefTensor): HostTensor {
  const data =
    t.dtype === 'f32'
      ? Float32Array.from(t.data)
      : t.dtype === 'i64'
        ? BigInt64Array.from(t.data, (v) => BigInt(v))
        : Uint8Array.from(t.data, (v) => (v !== 0 ? 1 : 0));
  return { dtype: t.dtype, shape: [...t.shape], data };
}

/** Compares one output of ORT against the reference; throws naming the worst element. */
export function expectMatch(name: string, ort: HostTensor, ref: RefTensor, tol: Tol = {}): void {
  expect(ort.dtype, `${name} dtype`).toBe(ref.dtype);
  expect(ort.shape, `${name} shape`).toEqual(ref.shape);
  expect(ort.data.length, `${name} length`).toBe(ref.data.length);
  const got = Array.from(ort.data as ArrayLike<number | bigint>, Number);
  if (ref.dtype !== 'f32') {
    const bad = got.findIndex((v, i) => v !== ref.data[i]);
    if (bad >= 0) throw new Error(`${name}[${bad}]: ORT ${got[bad]}, reference ${ref.data[bad]} (${ref.dtype}, exact)`);
    return;
  }
  const rtol = tol.rtol ?? 1e-5;
  const atol = tol.atol ?? 1e-6;
  for (let i = 0; i < got.length; i++) {
    const want = Math.fround(ref.data[i]);
    const v = got[i];
    const ok = Number.isFinite(want) ? Math.abs(v - want) <= rtol * Math.abs(want) + atol : v === want || (Number.isNaN(want) && Number.isNaN(v));
    if (!ok) {
      throw new Error(`${name}[${i}] of [${ref.shape}]: ORT ${v}, reference ${ref.data[i]} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

/** A traced graph compiled once; `check` runs it on ORT and in the reference and compares all outputs. */
export interface OrtCase {
  graph: Graph;
  compiled: CompiledGraph;
  check(feeds: Record<string, RefTensor>, tol?: Tol): Promise<{ ref: Record<string, RefTensor>; ort: Record<string, HostTensor> }>;
  release(): Promise<void>;
}

/**
 * Traces `fn` and compiles it, by default on one thread (the suite runs files in parallel); `threads` > 1 for the
 * tests of ORT's multi-threaded kernels.
 */
export async function ortCase(fn: (g: Graph) => Record<string, Tensor>, threads = 1): Promise<OrtCase> {
  const graph = trace(fn);
  const compiled = await compile(graph, { threads });
  recordLive(graph, graph.outputs);
  return {
    graph,
    compiled,
    async check(feeds, tol) {
      const rounded = roundFeeds(feeds);
      const ref = runReference(graph, rounded);
      const host = Object.fromEntries(Object.entries(rounded).map(([k, t]) => [k, toHost(t)]));
      const ort = await compiled.run(host);
      for (const name of graph.outputNames) expectMatch(name, ort[name], ref[name], tol);
      return { ref, ort };
    },
    release: () => compiled.release(),
  };
}

/**
 * Traces `fn` once, runs it in the reference interpreter and on ORT on the same float32-rounded `feeds`, and
 * compares every output: same dtype and shape; f32 within `rtol * |ref| + atol` (defaults 1e-5, 1e-6), i64 and
 * bool exactly. Returns both results for further assertions.
 */
export async function compareOrtWithReference(
  fn: (g: Graph) => Record<string, Tensor>,
  feeds: Record<string, RefTensor>,
  tol?: Tol,
): Promise<{ ref: Record<string, RefTensor>; ort: Record<string, HostTensor> }> {
  const c = await ortCase(fn);
  try {
    return await c.check(feeds, tol);
  } finally {
    await c.release();
  }
}

/**
 * Compiles `fn` at `threads` and runs it `runs` times on `feeds`: the first run must match the reference (within
 * `tol`), every later run the first one bit for bit — what multi-threaded kernels must keep (issue 11).
 */
export async function expectRepeatable(
  fn: (g: Graph) => Record<string, Tensor>,
  feeds: Record<string, RefTensor>,
  threads: number,
  runs: number,
  tol?: Tol,
): Promise<void> {
  const c = await ortCase(fn, threads);
  try {
    const { ort: first } = await c.check(feeds, tol);
    const host = Object.fromEntries(Object.entries(roundFeeds(feeds)).map(([k, t]) => [k, toHost(t)]));
    for (let run = 1; run < runs; run++) {
      const ort = await c.compiled.run(host);
      for (const [name, t] of Object.entries(ort)) {
        const same = Buffer.from(t.data.buffer).equals(Buffer.from(first[name].data.buffer));
        expect(same, `${name}, run ${run} vs run 0`).toBe(true);
      }
    }
  } finally {
    await c.release();
  }
}

const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

/** Uniform random f32 values in [lo, hi) from a fixed seed. */
export function randn(shape: number[], seed: number, lo = -1, hi = 1): RefTensor {
  const r = prng(seed);
  return { dtype: 'f32', shape: [...shape], data: Float64Array.from({ length: size(shape) }, () => lo + (hi - lo) * r()) };
}

/** Random integers in [lo, hi] as i64 (or another dtype) from a fixed seed. */
export function randInt(shape: number[], seed: number, lo: number, hi: number, dtype: DType = 'i64'): RefTensor {
  const r = prng(seed);
  return { dtype, shape: [...shape], data: Float64Array.from({ length: size(shape) }, () => lo + Math.floor(r() * (hi - lo + 1))) };
}

/** A tensor from explicit values. */
export function tensor(data: ArrayLike<number>, shape: number[], dtype: DType = 'f32'): RefTensor {
  expect(data.length).toBe(size(shape));
  return { dtype, shape: [...shape], data: Float64Array.from(data) };
}

/** One input: its value (fed shape), an optional declared (symbolic) shape; f32 inputs are differentiated. */
export interface In {
  value: RefTensor;
  declared?: Dim[];
}

/** An f32 input of random values in [lo, hi). */
export const f32 = (shape: number[], seed: number, lo = -1, hi = 1, declared?: Dim[]): In => ({ value: randn(shape, seed, lo, hi), declared });
/** An input of explicit values (i64 by default). */
export const fixed = (data: number[], shape: number[], dtype: DType = 'i64'): In => ({ value: { dtype, shape, data: Float64Array.from(data) } });

function declare(g: Graph, ins: In[]): Tensor[] {
  return ins.map((s, i) => g.input(`x${i}`, s.value.dtype, s.declared ?? s.value.shape));
}

/**
 * Checks `y_k = f(xs)[k]` and the gradients of `sum_k reduceSum(y_k * r_k)` w.r.t. every f32 input, ORT vs
 * reference, for each feed set (one compile).
 */
export async function gradCase(f: (...xs: Tensor[]) => Tensor[], feedSets: In[][], tol?: Tol): Promise<void> {
  const specs = feedSets[0];
  const feedsOf = (ins: In[]) => Object.fromEntries(ins.map((s, i) => [`x${i}`, s.value]));
  const fwd = trace((g) => Object.fromEntries(f(...declare(g, specs)).map((y, k) => [`y${k}`, y])));
  const c = await ortCase((g) => {
    const xs = declare(g, specs);
    const ys = f(...xs);
    const loss = ys.map((y, k) => reduceSum(mul(y, g.input(`r${k}`, 'f32', y.shape)))).reduce((a, b) => add(a, b));
    const wrt = xs.filter((x) => x.dtype === 'f32');
    const grads = backward(loss, wrt);
    return Object.fromEntries([...ys.map((y, k): [string, Tensor] => [`y${k}`, y]), ...grads.map((gr, k): [string, Tensor] => [`grad_${wrt[k].name}`, gr])]);
  });
  let seed = 1000;
  for (const ins of feedSets) {
    const ys = runReference(fwd, feedsOf(ins));
    const rs = Object.fromEntries(Object.values(ys).map((y, k) => [`r${k}`, randn(y.shape, seed++, 0.5, 1.5)]));
    await c.check({ ...feedsOf(ins), ...rs }, tol);
  }
  await c.release();
}
