/** Helpers shared by the attention, MoE and GPT tests: run a module in the reference interpreter or on ORT. */
import { expect } from 'vitest';
import { type Graph, type Tensor, trace } from '../../src/core/graph.ts';
import type { Module } from '../../src/nn/module.ts';
import { type RefTensor, runReference } from '../../src/runtime/reference/index.ts';
import type { HostTensor } from '../../src/runtime/session.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectClose } from '../train/helpers.ts';

/** `n` deterministic values uniform in [-scale, scale) (float32-representable, so ORT and float64 see the same inputs). */
export function rand(seed: number, n: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

/** A reference-interpreter tensor. */
export function ref(shape: number[], data: ArrayLike<number>, dtype: RefTensor['dtype'] = 'f32'): RefTensor {
  expect(data.length).toBe(shape.reduce((a, b) => a * b, 1));
  return { dtype, shape, data: Float64Array.from(data) };
}

/** An f32 host tensor for ORT. */
export function hostF32(shape: number[], data: ArrayLike<number>): HostTensor {
  return { dtype: 'f32', shape, data: Float32Array.from(data) };
}

/** An i64 host tensor for ORT. */
export function hostI64(shape: number[], data: ArrayLike<number>): HostTensor {
  return { dtype: 'i64', shape, data: BigInt64Array.from(Array.from(data, (v) => BigInt(v))) };
}

/** The parameters of `model` (named) that `g` reads, as reference feeds. */
export function paramFeeds(model: Module, g: Graph): Record<string, RefTensor> {
  const read = new Set(g.inputs.map((t) => t.name));
  const out: Record<string, RefTensor> = {};
  for (const [n, p] of model.named().namedParameters()) if (read.has(n)) out[n] = { dtype: 'f32', shape: [...p.shape], data: Float64Array.from(p.data) };
  return out;
}

/** Traces `build` (parameters become graph inputs under their state_dict names) and runs it in float64 with the model's weights. */
export function refRun(model: Module, build: (g: Graph) => Record<string, Tensor>, feeds: Record<string, RefTensor> = {}): Record<string, RefTensor> {
  model.named();
  const g = trace(build);
  return runReference(g, { ...paramFeeds(model, g), ...feeds });
}

/** Largest |a - b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Asserts element-wise |a - e| <= atol + rtol |e|, naming the worst element (argument order: atol first). */
export function expectNear(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0, what = ''): void {
  expectClose(actual, expected, rtol, atol, what);
}

/** Row-major slice of the positions `[from, to)` along axis 1 of a [B, T, C] array. */
export function timeSlice(data: ArrayLike<number>, B: number, T: number, C: number, from: number, to: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++) for (let t = from; t < to; t++) for (let c = 0; c < C; c++) out.push(data[(b * T + t) * C + c]);
  return out;
}
