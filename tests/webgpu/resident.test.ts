/**
 * A WebGPU step keeps parameters and optimizer state on the GPU: per call it uploads only the batch and the
 * schedule and reads back only losses, gradient norms and finiteness flags; host copies are synced on demand,
 * a replaced host copy wins, a non-finite update is refused without reading the weights, and a Forward on the
 * same device reads the step's weights in place.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/core/graph.ts';
import { mse } from '../../src/nn/functional.ts';
import { MLP } from '../../src/nn/layers.ts';
import type { Module } from '../../src/nn/module.ts';
import { adamw } from '../../src/optim/optimizer.ts';
import { releaseSharedWebGpuDevice } from '../../src/runtime/compile-for.ts';
import { Forward } from '../../src/train/forward.ts';
import { expectClose, f32, randArray, snapshot } from '../train/helpers.ts';
import { probeDevice } from './helpers.ts';
import { expectSameState, releasePair, runBoth, type StepPair, stepPair } from './step-helpers.ts';

const { gpu, title } = await probeDevice();
afterAll(() => releaseSharedWebGpuDevice());

const SIZES = [3, 8, 2];
const B = 4;
const TOL = { rtol: 1e-3, atol: 1e-5 };
const spec = { x: { dtype: 'f32' as const, shape: ['batch', 3] }, y: { dtype: 'f32' as const, shape: ['batch', 2] } };
const loss = (m: Module, b: Record<string, Tensor>) => mse(m.call(b.x), b.y);
const makeModel = () => new MLP(SIZES).named().init(4);

function batches(seed: number, k: number) {
  return { x: f32([k, B, 3], randArray(seed, k * B * 3)), y: f32([k, B, 2], randArray(seed + 1, k * B * 2)) };
}

/** Runs `body` on a fresh CPU/WebGPU step pair, releasing it after. */
async function withPair(body: (p: StepPair) => Promise<void>): Promise<void> {
  const p = await stepPair(makeModel, { loss, batch: spec, optimizer: adamw({ weightDecay: 0.1 }), seed: 3 });
  try {
    await body(p);
  } finally {
    await releasePair(p);
  }
}

describe.skipIf(!gpu)(title('WebGPU step state stays on the GPU'), () => {
  it('per call: uploads only the batch, reads back only losses, norms and flags; host copies sync on demand', () =>
    withPair(async (p) => {
    const before = snapshot(p.gpuModel);
    await runBoth(p, batches(1, 3), [1e-2, 2e-2, 3e-2], TOL);
    const k = 3;
    await runBoth(p, batches(2, k), [1e-2, 2e-2, 3e-2], TOL);
    const traffic = p.gpu.lastRun!;
    // x, y, lr, t, apply (one word each per micro-step), the seed: no weights, no optimizer state.
    const batchBytes = 4 * (k * B * 3 + k * B * 2 + 3 * k + 1);
    expect(traffic.uploadedBytes).toBe(batchBytes);
    // losses and gradient norms (k words each, in 16-byte buffers) and one flag per trainable parameter.
    const flagBytes = Math.ceil((4 * 4) / 16) * 16;
    expect(traffic.readBytes).toBe(2 * Math.ceil((4 * k) / 16) * 16 + flagBytes);
    expect(traffic.dispatches).toBeGreaterThan(k * 10);
    // Not synced yet: the host copies still hold the initial weights.
    for (const [n, w] of p.gpuModel.namedParameters()) expect(w.data).toEqual(before.get(n));
    await expectSameState(p, TOL);
  }));

  it('a host copy replaced between calls wins (uploaded by the next call), on both devices alike', () =>
    withPair(async (p) => {
    await runBoth(p, batches(3, 2), [1e-2, 1e-2], TOL);
    const w = Float32Array.from(randArray(9, SIZES[0] * SIZES[1], 0.5));
    p.cpuModel.namedParameters()[0][1].data = Float32Array.from(w);
    p.gpuModel.namedParameters()[0][1].data = Float32Array.from(w);
    await runBoth(p, batches(4, 2), [1e-2, 1e-2], TOL);
    expect(p.gpu.lastRun!.uploadedBytes).toBeGreaterThan(w.byteLength);
    await expectSameState(p, TOL);
  }));

  it('a non-finite update is refused, naming the parameter, and the state stays as it was', () =>
    withPair(async (p) => {
    await runBoth(p, batches(5, 1), [1e-2], TOL);
    await p.gpu.syncToHost();
    const kept = snapshot(p.gpuModel);
    const r = await p.gpu.run(batches(6, 1), [Infinity]);
    expect(r.nonFinite).toBe(0);
    expect(r.nonFiniteParameter).toBe(p.gpuModel.namedParameters()[0][0]);
    expect(p.gpu.updates).toBe(1);
    await p.gpu.syncToHost();
    for (const [n, w] of p.gpuModel.namedParameters()) expect(w.data).toEqual(kept.get(n));
    // The state still trains on from there, as the CPU's does.
    await runBoth(p, batches(7, 1), [1e-2], TOL);
    await expectSameState(p, TOL);
  }));

  it("a Forward on the same device reads the step's weights in place; one on the CPU gets them synced", () =>
    withPair(async (p) => {
    const fn = (m: Module, b: Record<string, Tensor>) => ({ out: m.call(b.x) });
    const onGpu = await Forward.compile(p.gpuModel, fn, { x: spec.x }, { device: 'webgpu' });
    const onCpu = await Forward.compile(p.gpuModel, fn, { x: spec.x });
    const truth = await Forward.compile(p.cpuModel, fn, { x: spec.x });
    try {
      const x = f32([5, 3], randArray(10, 15));
      for (let call = 0; call < 2; call++) {
        await runBoth(p, batches(11 + call, 2), [2e-2, 2e-2], TOL);
        const want = (await truth.run({ x })).out.data as Float32Array;
        expectClose((await onGpu.run({ x })).out.data as Float32Array, want, 1e-3, 1e-5, 'webgpu forward');
        expect(onGpu.lastRun!.uploadedBytes).toBe(5 * 3 * 4);
        expectClose((await onCpu.run({ x })).out.data as Float32Array, want, 1e-3, 1e-5, 'cpu forward');
      }
    } finally {
      await Promise.all([onGpu.release(), onCpu.release(), truth.release()]);
    }
  }));
});
