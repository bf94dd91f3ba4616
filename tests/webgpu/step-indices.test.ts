/**
 * The i64 feeds of a training step on WebGPU, narrowed to 32 bits: the dropout seed (base * 1e9+7 + micro-step,
 * past 2^31 on the CPU) is folded into range so a step with any seed runs, integer labels train as on the CPU,
 * and a label past 2^31 is refused with E_WEBGPU_RANGE naming the input, leaving the state as it was.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/core/graph.ts';
import { crossEntropy } from '../../src/nn/functional.ts';
import { MLP } from '../../src/nn/layers.ts';
import type { Module } from '../../src/nn/module.ts';
import { sgd } from '../../src/optim/optimizer.ts';
import { releaseSharedWebGpuDevice } from '../../src/runtime/compile-for.ts';
import { expectSwitchyardError, f32, randArray } from '../train/helpers.ts';
import { probeDevice } from './helpers.ts';
import { expectSameState, releasePair, runBoth, stepPair } from './step-helpers.ts';

const { gpu, title } = await probeDevice();
afterAll(() => releaseSharedWebGpuDevice());

const TOL = { rtol: 1e-4, atol: 1e-6 };
const spec = { x: { dtype: 'f32' as const, shape: ['batch', 2] }, y: { dtype: 'i64' as const, shape: ['batch'] } };

function batch(k: number, labels: bigint[]) {
  const n = labels.length / k;
  const y = { dtype: 'i64' as const, shape: [k, n], data: BigInt64Array.from(labels) };
  return { x: f32([k, n, 2], randArray(k, labels.length * 2)), y };
}

describe.skipIf(!gpu)(title('i64 feeds of a WebGPU training step'), () => {
  it('a seed past 2^31 runs; i64 labels train as on the CPU; a label past 2^31 is refused', async () => {
    // seed 9: the first micro-step's seed is 9 * 1_000_000_007 > 2^31 on the CPU.
    const pair = await stepPair(() => new MLP([2, 3]).named().init(1), {
      batch: spec, optimizer: sgd(), seed: 9,
      loss: (m: Module, b: Record<string, Tensor>) => crossEntropy(m.call(b.x), b.y),
    });
    try {
      await runBoth(pair, batch(2, [0n, 2n, 1n, 1n, 2n, 0n]), [0.1, 0.1], TOL);
      const bad = batch(1, [0n, 2n ** 31n, 1n]);
      const err = await expectSwitchyardError(() => pair.gpu.run(bad, [0.1]), 'E_WEBGPU_RANGE');
      expect(err.message).toContain("input 'batch.y'");
      expect(pair.gpu.updates).toBe(2);
      await runBoth(pair, batch(1, [1n, 0n, 2n]), [0.1], TOL);
      await expectSameState(pair, TOL);
    } finally {
      await releasePair(pair);
    }
  });
});
