/** The conv ops' WGSL kernels against the float64 reference: stride, padding, dilation, groups, and a gradient graph. */
import { describe, it } from 'vitest';
import { add, apply1, backward, conv2d, convTranspose2d, mul, reduceSum } from '../../src/core/index.ts';
import {
  avgPool2d, groupNorm, maxPool2d, timestepEmbedding, upsampleBilinear2d, upsampleNearest2d,
} from '../../src/nn/index.ts';
import { randn } from '../runtime/ort-helpers.ts';
import { expectGpuFamilyCovered, gpuCase, probeDevice } from './helpers.ts';

const { gpu, title } = await probeDevice();

describe.skipIf(!gpu)(title('WebGPU vs reference: conv'), () => {
  it('conv2d and convTranspose2d: same padding, stride 2, dilation, groups, output padding', async () => {
    await gpuCase(gpu!, (g) => {
      const x = g.input('x', 'f32', [2, 4, 5, 6]);
      const w = g.input('w', 'f32', [6, 4, 3, 3]);
      const wg = g.input('wg', 'f32', [6, 2, 2, 3]);
      return {
        same: conv2d(x, w, { padding: 'same' }), s2: conv2d(x, w, { stride: 2, padding: [1, 0, 0, 1] }),
        dil: conv2d(x, wg, { dilation: [2, 1], groups: 2, padding: 1 }),
        up: convTranspose2d(x, g.input('wt', 'f32', [4, 2, 3, 3]), { stride: 2, padding: 1, outputPadding: [1, 0], groups: 2 }),
      };
    }, { x: randn([2, 4, 5, 6], 1), w: randn([6, 4, 3, 3], 2), wg: randn([6, 2, 2, 3], 3), wt: randn([4, 2, 3, 3], 4) });
  });

  it('the gradient graph of a strided grouped conv (convTranspose2d and conv2dWeightGrad kernels)', async () => {
    await gpuCase(gpu!, (g) => {
      const x = g.input('x', 'f32', [2, 4, 6, 5]);
      const w = g.input('w', 'f32', [4, 2, 3, 2]);
      const y = conv2d(x, w, { stride: [2, 1], padding: [1, 1, 0, 0], dilation: [1, 2], groups: 2 });
      const [dx, dw] = backward(reduceSum(mul(y, g.input('r', 'f32', y.shape))), [x, w]);
      const wg = apply1('conv2dWeightGrad', [x, add(y, 1)], { stride: [2, 1], pads: [1, 1, 0, 0], dilation: [1, 2], groups: 2, kernel: [3, 2] });
      return { y, dx, dw, wg };
    }, { x: randn([2, 4, 6, 5], 5), w: randn([4, 2, 3, 2], 6), r: randn([2, 4, 3, 4], 7) });
  });

  it('the feature-map compositions: groupNorm, pooling with padding, nearest/bilinear upsampling, timestep embeddings', async () => {
    await gpuCase(gpu!, (g) => {
      const x = g.input('x', 'f32', [2, 4, 5, 4]);
      return {
        gn: groupNorm(x, 2, g.input('w', 'f32', [4]), g.input('b', 'f32', [4])), max: maxPool2d(x, 3, 2, 1), avg: avgPool2d(x, 2),
        up: upsampleNearest2d(x, 2), bilinear: upsampleBilinear2d(x, 2),
        emb: timestepEmbedding(g.input('t', 'f32', [3]), 7),
      };
    }, { x: randn([2, 4, 5, 4], 8), w: randn([4], 9), b: randn([4], 10), t: randn([3], 11, 0, 50) });
  });

  it('ran its op family (conv) against the reference', () => expectGpuFamilyCovered('conv'));
});
