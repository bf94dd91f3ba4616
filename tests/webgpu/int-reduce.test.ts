/**
 * Integer cumsum and reduceSum on WebGPU (the decode step's positions, MoE token counts): they sum in integers, as
 * the reference does — a WGSL float accumulator fed integers does not compile.
 */
import { describe, it } from 'vitest';
import { cumsum, reduceSum } from '../../src/core/index.ts';
import { randInt } from '../runtime/ort-helpers.ts';
import { gpuCase, probeDevice } from './helpers.ts';

const { gpu, title } = await probeDevice();

describe.skipIf(!gpu)(title('WebGPU vs reference: integer sums'), () => {
  it('cumsum (plain, exclusive, reverse) and reduceSum of i64 tensors', async () => {
    await gpuCase(gpu!, (g) => {
      const k = g.input('k', 'i64', [3, 5]);
      return {
        cs: cumsum(k, 1), ex: cumsum(k, 1, true), rev: cumsum(k, 0, false, true), sum: reduceSum(k, [1]), all: reduceSum(k),
      };
    }, { k: randInt([3, 5], 21, -4, 9) });
  });
});
