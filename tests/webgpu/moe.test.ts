/**
 * A whole MoE layer (src/nn/moe.ts: router, top-k, dropless dispatch through splitRows/concatRows with run-time
 * row counts, experts, weighted sum, aux and z losses, telemetry) and its backward graph run on WebGPU and match
 * the float64 reference within fp32 tolerance, including an expert that receives no tokens.
 */
import { describe, expect, it } from 'vitest';
import { backward } from '../../src/core/autodiff.ts';
import { trace } from '../../src/core/graph.ts';
import { add, mul, reduceSum } from '../../src/core/ops/index.ts';
import { collectExtras } from '../../src/nn/extras.ts';
import { MoE, type MoEOptions } from '../../src/nn/moe.ts';
import { runReference } from '../../src/runtime/reference/index.ts';
import { WebGpuGraph } from '../../src/runtime/webgpu/graph.ts';
import { rand, ref } from '../nn/lm-helpers.ts';
import { moeLoop } from '../nn/moe-loop.ts';
import { expectMatch, toHost } from '../runtime/ort-helpers.ts';
import { probeDevice } from './helpers.ts';

const { gpu, title } = await probeDevice();
const D = 6;
const N = 8;

/** Forward and gradients of `sum(y * r) + aux losses` w.r.t. x and every trainable parameter, on WebGPU and in
 * the reference; every output compared. Returns the reference outputs. */
async function checkMoE(moe: MoE, x: Float32Array) {
  const params = moe.parameters().filter((p) => p.trainable);
  const graph = trace((g) => {
    const xt = g.input('x', 'f32', [N, D]);
    const { value, extras } = collectExtras(() => moe.call(xt));
    const loss = extras.losses.reduce((a, l) => add(a, l.value), reduceSum(mul(value, g.input('r', 'f32', [N, D]))));
    const grads = backward(loss, [xt, ...params.map((p) => p.t)]);
    const named = params.map((p, i) => [`g.${p.name}`, grads[i + 1]]);
    return { y: value, loss, tpe: extras.metrics.tokens_per_expert, gx: grads[0], ...Object.fromEntries(named) };
  });
  expect(graph.nodes.some((n) => n.op === 'splitRows')).toBe(true);
  const feeds = {
    x: ref([N, D], x), r: ref([N, D], rand(9, N * D)),
    ...Object.fromEntries(params.map((p) => [p.name, ref(p.shape, p.data)])),
  };
  const want = runReference(graph, feeds);
  const exe = await WebGpuGraph.create(graph, { device: gpu! });
  try {
    const got = await exe.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, toHost(t)])));
    for (const name of graph.outputNames) expectMatch(name, got[name], want[name], { rtol: 1e-4, atol: 2e-5 });
    return got;
  } finally {
    await exe.release();
  }
}

describe.skipIf(!gpu)(title('WebGPU vs reference: MoE forward + backward'), () => {
  // One configuration: lavapipe compiles each distinct kernel (~200 here) slowly; tests/nn covers the others.
  it.each<Partial<MoEOptions>>([
    { scoring: 'softmax', auxLoss: 0.01, zLoss: 0.001 },
  ])('dropless top-2 %o', async (o) => {
    const moe = new MoE(D, { experts: 4, topK: 2, hidden: 8, ...o }).named().init(31);
    const x = rand(32, N * D, 1.5);
    expect(moeLoop(moe, x, N).gap).toBeGreaterThan(1e-4); // no routing ties: float32 routes as float64 does
    await checkMoE(moe, x);
  });

  it('an expert that receives no tokens: its run is empty and its weights get exactly zero gradient', async () => {
    const moe = new MoE(D, { experts: 4, topK: 2, hidden: 8, auxLoss: 0.01 }).named().init(21);
    const x = rand(8, N * D);
    for (let t = 0; t < N; t++) x[t * D] = 1;
    const R = moe.router.weight.data;
    for (let c = 0; c < D; c++) R[3 * D + c] = c === 0 ? -20 : 0; // expert 3 is never in anyone's top 2
    const got = await checkMoE(moe, x);
    expect(got.tpe.data[3]).toBe(0);
    const perExpert = 8 * D; // w1 is [E, hidden, D]
    expect([...got['g.experts.w1'].data.slice(3 * perExpert)]).toEqual(Array(perExpert).fill(0));
  });
});
