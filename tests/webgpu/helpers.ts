/**
 * Helpers of the WebGPU-vs-reference suite: one device per test file (or the reason there is none, for a
 * visible skip), and a case runner that traces a graph once, runs it in the float64 reference interpreter and
 * on WebGPU on the same float32-rounded feeds, and compares every output.
 */
import { afterAll } from 'vitest';
import { type Graph, type Tensor, trace } from '../../src/core/index.ts';
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

/** Traces `fn`, runs it on WebGPU and in the reference on `feeds`, and compares every output within `tol`. */
export async function gpuCase(gpu: WebGpuDevice, fn: (g: Graph) => Record<string, Tensor>,
  feeds: Record<string, RefTensor>, tol: Tol = { rtol: 1e-4, atol: 1e-5 }): Promise<void> {
  const graph = trace(fn);
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
