/**
 * The matmul kernels (tiled with register blocking, split-K with and without subgroups, simple) against the
 * float64 reference on odd shapes that are not multiples of any tile, batched with broadcasting.
 */
import { describe, expect, it } from 'vitest';
import { matmul } from '../../src/core/index.ts';
import { chooseMatmulKernel } from '../../src/runtime/webgpu/kernels/matmul.ts';
import { randn } from '../runtime/ort-helpers.ts';
import { gpuCase, probeDevice } from './helpers.ts';

const { gpu, title } = await probeDevice();

/** [a shape, b shape, the kernel the shape picks] */
const CASES: [number[], number[], string][] = [
  [[2, 67, 45], [45, 71], 'tiled64'],
  [[3, 19, 33], [1, 33, 21], 'tiled32'],
  [[2, 1, 200], [2, 200, 3], 'dot'],
  [[3, 130], [130, 5], 'dot'],
  [[5, 7], [7, 3], 'simple'],
];

describe.skipIf(!gpu)(title('WebGPU matmul kernels vs reference'), () => {
  it('each shape picks the kernel it is meant to test', () => {
    for (const [a, b, kernel] of CASES) {
      const batch = a.slice(0, -2).reduce((x, y) => x * y, 1) * Math.max(1, ...b.slice(0, -2));
      expect(chooseMatmulKernel(a[a.length - 2], a[a.length - 1], b[b.length - 1], batch)).toBe(kernel);
    }
  });

  for (const subgroups of [true, false]) {
    it(`every kernel on odd shapes, batched (${subgroups ? 'with' : 'without'} subgroups)`, async () => {
      const features = gpu!.adapter.features.filter((f) => subgroups || f !== 'subgroups');
      const device = { device: gpu!.device, adapter: { ...gpu!.adapter, features } };
      for (const [k, [as, bs]] of CASES.entries()) {
        await gpuCase(device, (g) => ({ c: matmul(g.input('a', 'f32', as), g.input('b', 'f32', bs)) }),
          { a: randn(as, 10 + k), b: randn(bs, 20 + k) }, { rtol: 1e-4, atol: 1e-4 });
      }
    });
  }
});
