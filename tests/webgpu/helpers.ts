/**
 * Helpers of the WebGPU-vs-reference suite: one device per test file (or the reason there is none, for a
 * visible skip), and a case runner that traces a graph once, runs it in the float64 reference interpreter and
 * on WebGPU on the same float32-rounded feeds, and compares every output. As for ORT (tests/runtime/ort-helpers),
 * the ops each case ran are recorded, and each file asserts that it ran its family; the families cover every op.
 */
import { afterAll, expect } from 'vitest';
import { type Graph, opNames, type Tensor, trace } from '../../src/core/index.ts';
import { type RefTensor, runReference } from '../../src/runtime/reference/index.ts';
import { acquireDevice, type WebGpuDevice } from '../../src/runtime/webgpu/device.ts';
import { WebGpuGraph } from '../../src/runtime/webgpu/graph.ts';
import { expectMatch, roundFeeds, type Tol, toHost } from '../runtime/ort-helpers.ts';

/**
 * The device (destroyed after the calling test file), or why there is none (printed, and named in the skipped
 * suite's title).
 */
export async function probeDevice(): Promise<{ gpu: WebGpuDevice | null; title: (name: string) => string }> {
  try {
    const gpu = await acquireDevice();
    // Dawn crashes at process exit when a device is still alive: destroy it when the file is done.
    afterAll(() => gpu.device.destroy());
    return { gpu, title: (name) => `${name} (on ${gpu.adapter.description})` };
  } catch (e) {
    const reason = e instanceof Error ? `${e.message}${'hint' in e ? `; ${String(e.hint)}` : ''}` : String(e);
    console.warn(`WebGPU tests skipped: ${reason}`);
    return { gpu: null, title: (name) => `${name} — SKIPPED, no WebGPU: ${reason}` };
  }
}

/** Ops allowed to have no WebGPU kernel: none (every op of the registry runs on WebGPU). */
export const GPU_NOT_YET: string[] = [];

/** Which ops each WebGPU test file must run against the reference (their union: every op but GPU_NOT_YET). */
export const GPU_FAMILIES: Record<string, string[]> = {
  loop: ['loop'],
  conv: ['conv2d', 'convTranspose2d', 'conv2dWeightGrad'],
  ops: [
    'const', 'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'equal', 'less', 'greater', 'lessEqual',
    'greaterEqual', 'and', 'or', 'where', 'neg', 'exp', 'log', 'sqrt', 'tanh', 'sigmoid', 'relu', 'abs', 'erf', 'sin',
    'cos', 'sign', 'not', 'isNaN', 'isInf', 'cast', 'reduceSum', 'reduceMean', 'reduceMax', 'argmax', 'softmax',
    'logSoftmax', 'layerNorm', 'cumsum', 'matmul', 'fullLike', 'numel', 'reshape', 'transpose', 'slice', 'split', 'pad',
    'concat', 'broadcastLike', 'expand', 'identity', 'stopGradient', 'gather', 'gatherElements', 'scatterElementsAdd',
    'gatherND', 'scatterNDAdd', 'topk', 'oneHot',
  ],
  rows: ['splitRows', 'concatRows', 'nonzero'],
  random: ['randomUniformLike'],
};

/** Ops whose nodes this test file ran on WebGPU against the reference so far. */
export const gpuRanOps = new Set<string>();

/** Asserts that the families cover `opNames()` but GPU_NOT_YET, and that this file ran every op of `family`. */
export function expectGpuFamilyCovered(family: string): void {
  const all = new Set(Object.values(GPU_FAMILIES).flat());
  expect(opNames().filter((op) => !all.has(op)), 'ops in no WebGPU family').toEqual(GPU_NOT_YET);
  expect(GPU_FAMILIES[family].filter((op) => !gpuRanOps.has(op)), `ops of '${family}' never run on WebGPU`).toEqual([]);
}

/** Traces `fn`, runs it on WebGPU and in the reference on `feeds`, and compares every output within `tol`. */
export async function gpuCase(gpu: WebGpuDevice, fn: (g: Graph) => Record<string, Tensor>,
  feeds: Record<string, RefTensor>, tol: Tol = { rtol: 1e-4, atol: 1e-5 }): Promise<void> {
  const graph = trace(fn);
  for (const node of graph.nodes) gpuRanOps.add(node.op);
  const rounded = roundFeeds(feeds);
  const want = runReference(graph, rounded);
  const exe = await WebGpuGraph.create(graph, { device: gpu });
  try {
    const got = await exe.run(Object.fromEntries(Object.entries(rounded).map(([k, t]) => [k, toHost(t)])));
    for (const name of graph.outputNames) expectMatch(name, got[name], want[name], tol);
  } finally {
    await exe.release();
  }
}
