/**
 * The fusion pass: traced sub-graphs of src/nn (bias + GELU, scaled and masked softmax, LayerNorm/RMSNorm forward
 * and backward, cross-entropy and its gradient, a whole GPT step) give the same results fused as unfused and as
 * the float64 reference, in fewer dispatches; transposes feeding matmuls cost no dispatch of their own.
 */
import { describe, expect, it } from 'vitest';
import {
  add, backward, constant, type Graph, layerNorm, matmul, mul, reduceSum, softmax, type Tensor, trace, transpose,
} from '../../src/core/index.ts';
import { crossEntropy, gelu, rmsNorm } from '../../src/nn/functional.ts';
import { adamw } from '../../src/optim/optimizer.ts';
import { type RefTensor, runReference } from '../../src/runtime/reference/index.ts';
import { countKernels, fuseGraph } from '../../src/runtime/webgpu/fuse.ts';
import { WebGpuGraph } from '../../src/runtime/webgpu/graph.ts';
import type { HostTensor } from '../../src/runtime/executor.ts';
import { expectMatch, randInt, randn, roundFeeds, toHost } from '../runtime/ort-helpers.ts';
import { gptStep, TINY_GPT } from './gpt-step.ts';
import { probeDevice } from './helpers.ts';

const { gpu, title } = await probeDevice();

/** Runs `graph` fused and unfused: both match the reference; returns each one's dispatch count. */
async function fusedVsUnfused(graph: Graph, feeds: Record<string, RefTensor>, tol = { rtol: 1e-4, atol: 1e-5 }) {
  const rounded = roundFeeds(feeds);
  const want = runReference(graph, rounded);
  const host = Object.fromEntries(Object.entries(rounded).map(([k, t]) => [k, toHost(t)]));
  const counts: number[] = [];
  const results: Record<string, HostTensor>[] = [];
  for (const fuse of [false, true]) {
    const exe = await WebGpuGraph.create(graph, { device: gpu!, fuse });
    try {
      results.push(await exe.run(host));
      counts.push(exe.dispatches);
    } finally {
      await exe.release();
    }
  }
  for (const name of graph.outputNames) {
    expectMatch(`${name} (fused)`, results[1][name], want[name], tol);
    expectMatch(`${name} (unfused)`, results[0][name], want[name], tol);
  }
  return { unfused: counts[0], fused: counts[1] };
}

/** The gradients of `sum(y * up)` with respect to `wrt`, named g0, g1, ... */
function grads(y: Tensor, up: Tensor, wrt: Tensor[]): Record<string, Tensor> {
  return Object.fromEntries(backward(reduceSum(mul(y, up)), wrt).map((g, i) => [`g${i}`, g]));
}

describe.skipIf(!gpu)(title('WebGPU fusion pass'), () => {
  it('bias + GELU is one dispatch after the matmul', async () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [5, 6]);
      const w = g.input('w', 'f32', [6, 7]);
      const b = g.input('b', 'f32', [7]);
      return { y: gelu(add(matmul(x, w), b)) };
    });
    const n = await fusedVsUnfused(graph, { x: randn([5, 6], 1), w: randn([6, 7], 2), b: randn([7], 3) });
    expect(n).toEqual({ unfused: 7, fused: 2 });
  });

  it('softmax with scale and causal mask: one dispatch, forward and backward match', async () => {
    const t = 5;
    const mask = new Float32Array(t * t).map((_, i) => (i % t > Math.floor(i / t) ? -1e9 : 0));
    const graph = trace((g) => {
      const s = g.input('s', 'f32', [2, t, t]);
      const up = g.input('up', 'f32', [2, t, t]);
      const att = softmax(add(mul(s, 0.35), constant(mask, [t, t])), -1);
      return { att, ...grads(att, up, [s]) };
    });
    const forward = trace((g) => {
      const s = g.input('s', 'f32', [2, t, t]);
      return { att: softmax(add(mul(s, 0.35), constant(mask, [t, t])), -1) };
    });
    const feeds = { s: randn([2, t, t], 4, -2, 2), up: randn([2, t, t], 5) };
    expect((await fusedVsUnfused(forward, { s: feeds.s })).fused).toBe(1);
    const n = await fusedVsUnfused(graph, feeds);
    expect(n.fused).toBeLessThan(n.unfused);
  });

  it('LayerNorm and RMSNorm forward and backward', async () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [3, 4, 6]);
      const w = g.input('w', 'f32', [6]);
      const b = g.input('b', 'f32', [6]);
      const up = g.input('up', 'f32', [3, 4, 6]);
      const y = add(layerNorm(x, w, b), rmsNorm(x, w));
      return { y, ...grads(y, up, [x, w, b]) };
    });
    const n = await fusedVsUnfused(graph, {
      x: randn([3, 4, 6], 6, -2, 2), w: randn([6], 7), b: randn([6], 8), up: randn([3, 4, 6], 9),
    });
    expect(n).toEqual({ unfused: 50, fused: 23 });
  });

  it('cross-entropy and its gradient', async () => {
    const graph = trace((g) => {
      const logits = g.input('logits', 'f32', [7, 5]);
      const labels = g.input('labels', 'i64', [7]);
      const loss = crossEntropy(logits, labels);
      return { loss, g0: backward(loss, [logits])[0] };
    });
    const n = await fusedVsUnfused(graph, { logits: randn([7, 5], 10, -3, 3), labels: randInt([7], 11, 0, 4) });
    expect(n).toEqual({ unfused: 14, fused: 9 });
  });

  it('transposes fold into tiled and simple matmuls (no transpose dispatch)', async () => {
    const graph = trace((g) => {
      const a = g.input('a', 'f32', [2, 33, 67]);
      const b = g.input('b', 'f32', [71, 33]);
      const c = g.input('c', 'f32', [3, 2]);
      return { ab: matmul(transpose(a), transpose(b)), cc: matmul(transpose(c), c) };
    });
    expect(fuseGraph(graph).filter((n) => n.op === 'matmul').map((n) => [n.attrs.permA, n.attrs.permB])).toEqual([
      [[0, 2, 1], [1, 0]], [[1, 0], undefined],
    ]);
    const n = await fusedVsUnfused(graph, { a: randn([2, 33, 67], 12), b: randn([71, 33], 13), c: randn([3, 2], 14) });
    expect(n).toEqual({ unfused: 5, fused: 2 });
  });

  it('AdamW: one kernel per parameter (moments and parameter together), parameters packed per dispatch', async () => {
    const shapes = [[3, 5], [7], [2, 3, 4], [1], [6, 1]];
    const opt = adamw({ weightDecay: 0.1 });
    const graph = trace((g) => {
      const lr = g.input('lr', 'f32', []);
      const step = g.input('step', 'f32', []);
      const outs: Record<string, Tensor> = {};
      shapes.forEach((shape, i) => {
        const [param, grad, m, v] = ['p', 'g', 'm', 'v'].map((n) => g.input(`${n}${i}`, 'f32', shape));
        const u = opt.update({ param, grad, state: [m, v], lr, step, decay: i % 2 === 0 });
        Object.assign(outs, { [`p${i}'`]: u.param, [`m${i}'`]: u.state[0], [`v${i}'`]: u.state[1] });
      });
      return outs;
    });
    // 2 shared scalars (lr, step), then per parameter 4 inputs and 3 outputs.
    expect(fuseGraph(graph, { maxBindings: 2 + 7 * 5 }).filter((n) => n.fusions)).toHaveLength(1);
    expect(fuseGraph(graph, { maxBindings: 2 + 7 }).filter((n) => n.fusions)).toHaveLength(5);
    const feeds: Record<string, RefTensor> = {
      lr: { dtype: 'f32', shape: [], data: Float64Array.of(0.01) },
      step: { dtype: 'f32', shape: [], data: Float64Array.of(4) },
    };
    shapes.forEach((shape, i) => {
      feeds[`p${i}`] = randn(shape, 30 + i);
      feeds[`g${i}`] = randn(shape, 40 + i);
      feeds[`m${i}`] = randn(shape, 50 + i, -0.1, 0.1);
      feeds[`v${i}`] = randn(shape, 60 + i, 0, 0.01);
    });
    const n = await fusedVsUnfused(graph, feeds);
    const perDispatch = Math.floor((gpu!.device.limits.maxStorageBuffersPerShaderStage - 2) / 7);
    expect(n.fused).toBe(Math.ceil(shapes.length / perDispatch));
    expect(n.unfused).toBeGreaterThan(10 * shapes.length);
  });

  it('a GPT step (forward, backward, AdamW) matches the reference in under a quarter of the kernels', async () => {
    // Fused only (the unfused kernels are counted, not run: compiling each of them is slow on lavapipe).
    const { graph, feeds } = gptStep(TINY_GPT);
    const rounded = roundFeeds(feeds);
    const want = runReference(graph, rounded);
    const exe = await WebGpuGraph.create(graph, { device: gpu! });
    try {
      const got = await exe.run(Object.fromEntries(Object.entries(rounded).map(([k, t]) => [k, toHost(t)])));
      for (const name of graph.outputNames) expectMatch(name, got[name], want[name], { rtol: 2e-3, atol: 2e-5 });
      const unfused = countKernels(graph.nodes, graph.outputs);
      console.log(`GPT step (${graph.nodes.length} nodes): ${unfused} kernels unfused, ${exe.dispatches} fused`);
      const maxBindings = gpu!.device.limits.maxStorageBuffersPerShaderStage;
      expect(exe.dispatches).toBe(countKernels(fuseGraph(graph, { maxBindings }), graph.outputs));
      expect(exe.dispatches).toBeLessThan(unfused / 4);
    } finally {
      await exe.release();
    }
  });
});
