/**
 * WebGPU vs reference: the `loop` op, encoded into one command buffer (carried values swapped by reference,
 * scans written into their slices, the iteration counter a GPU value), with captures, nested loops, a carried
 * value passed through unchanged, zero trips and a symbolic trip count.
 */
import { describe, it } from 'vitest';
import { add, cast, gather, loop, mul } from '../../src/core/index.ts';
import { randn, tensor } from '../runtime/ort-helpers.ts';
import { expectGpuFamilyCovered, gpuCase, probeDevice } from './helpers.ts';

const { gpu, title } = await probeDevice();

describe.skipIf(!gpu)(title('WebGPU vs reference: loop'), () => {
  it('carried values, scans, a captured input, a pass-through, a nested loop and zero trips', async () => {
    await gpuCase(gpu!, (g) => {
      const w = g.input('w', 'f32', [3]);
      const z = g.input('z', 'f32', [3]);
      const k = g.input('k', 'i64', []);
      const [acc, cnt, same, before, iters] = loop(4, [z, k, w], (i, c, n, keep) => ({
        carried: [add(c, mul(w, cast(i, 'f32'))), add(n, i), keep],
        scans: [mul(c, 2), i],
      }));
      const [nested] = loop(2, [z], (i, c) => {
        const [inner] = loop(3, [c], (_j, d) => ({ carried: [add(d, add(w, cast(i, 'f32')))], scans: [] }));
        return { carried: [inner], scans: [] };
      });
      const [zero, none] = loop(0, [z], (_i, c) => ({ carried: [add(c, 1)], scans: [c] }));
      return { acc, cnt, same, before, iters, nested, zero, none };
    }, { w: randn([3], 25), z: randn([3], 26), k: tensor([5], [], 'i64') });
  });

  it('a symbolic trip count taken from an input dim, reading rows of a captured input', async () => {
    for (const [n, seed] of [[5, 27], [1, 28], [0, 29]]) {
      await gpuCase(gpu!, (g) => {
        const x = g.input('x', 'f32', ['n', 3]);
        const z = g.input('z', 'f32', [3]);
        const [sum, rows] = loop('n', [z], (i, acc) => {
          const row = gather(x, i, 0);
          return { carried: [add(acc, row)], scans: [mul(row, acc)] };
        });
        return { sum, rows };
      }, { x: randn([n, 3], seed), z: randn([3], seed + 10) });
    }
  });

  it('ran its op family (loop) against the reference', () => expectGpuFamilyCovered('loop'));
});
