/** The conv ops: reference values by hand, ORT vs reference forward and gradients (stride, padding, dilation, groups). */
import { describe, expect, it } from 'vitest';
import { add, conv2d, convTranspose2d, reshape, tanh } from '../../src/core/index.ts';
import { compareOrtWithReference, expectFamilyCovered, f32, gradCase, randn } from './ort-helpers.ts';
import { close, expectCode, FORWARD_FAMILIES, ranOps, run, vals } from './reference-helpers.ts';
import { refTensor } from '../../src/runtime/reference/index.ts';

describe('reference conv kernels', () => {
  it('a 2x2 kernel over a 3x3 image, by hand', () => {
    const y = run((g) => conv2d(g.input('x', 'f32', [1, 1, 3, 3]), g.input('w', 'f32', [1, 1, 2, 2])), {
      x: refTensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]), w: refTensor([1, 0, 0, 1], [1, 1, 2, 2]),
    }).out;
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(vals(y)).toEqual([6, 8, 12, 14]);
  });

  it('stride 2 with padding 1 reads zeros outside; the transpose spreads back', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [1, 1, 3, 3]);
      const w = g.input('w', 'f32', [1, 1, 3, 3]);
      return { y: conv2d(x, w, { stride: 2, padding: 1 }), t: convTranspose2d(g.input('d', 'f32', [1, 1, 1, 1]), w, { stride: 2 }) };
    }, { x: refTensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]), w: refTensor(Array(9).fill(1), [1, 1, 3, 3]), d: refTensor([2], [1, 1, 1, 1]) });
    // Windows centred on (0,0), (0,2), (2,0), (2,2), each cut by the padding.
    expect(vals(out.y)).toEqual([1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9]);
    expect(out.t.shape).toEqual([1, 1, 3, 3]);
    expect(vals(out.t)).toEqual(Array(9).fill(2));
  });

  it('a 1x1 conv with groups mixes channels within each group only', () => {
    const x = randn([2, 4, 3, 3], 1);
    const w = randn([6, 2, 1, 1], 2);
    const y = run((g) => conv2d(g.input('x', 'f32', [2, 4, 3, 3]), g.input('w', 'f32', [6, 2, 1, 1]), { groups: 2 }), { x, w }).out;
    // Group 0: channels 0-1 -> outputs 0-2; group 1: channels 2-3 -> outputs 3-5.
    const want: number[] = [];
    for (let b = 0; b < 2; b++) {
      for (let o = 0; o < 6; o++) {
        for (let q = 0; q < 9; q++) {
          const c0 = Math.floor(o / 3) * 2;
          want.push(w.data[o * 2] * x.data[(b * 4 + c0) * 9 + q] + w.data[o * 2 + 1] * x.data[(b * 4 + c0 + 1) * 9 + q]);
        }
      }
    }
    close(y, want);
  });

  it('shape errors name the op and say what to change', () => {
    expectCode(() => run((g) => conv2d(g.input('x', 'f32', [1, 3, 4, 4]), g.input('w', 'f32', [2, 2, 3, 3]))), 'E_SHAPE', /expects 2 input channels/);
    expectCode(() => run((g) => conv2d(g.input('x', 'f32', [1, 4, 4, 4]), g.input('w', 'f32', [3, 2, 3, 3]), { groups: 2 })), 'E_SHAPE', /not divisible by groups 2/);
    expectCode(() => run((g) => conv2d(g.input('x', 'f32', [1, 1, 2, 2]), g.input('w', 'f32', [1, 1, 3, 3]))), 'E_SHAPE', /does not fit/);
    expectCode(() => run((g) => conv2d(g.input('x', 'f32', [1, 1, 'h', 2]), g.input('w', 'f32', [1, 1, 1, 1]))), 'E_SHAPE', /symbolic channels/);
    expectCode(() => run((g) => conv2d(g.input('x', 'f32', [1, 1, 4, 4]), g.input('w', 'f32', [1, 1, 3, 3]), { stride: 0 })), 'E_CONFIG', /positive integers/);
    expectCode(() => run((g) => conv2d(g.input('x', 'f32', [1, 1, 4, 4]), g.input('w', 'f32', [1, 1, 3, 3]), { stride: 2, padding: 'same' })), 'E_CONFIG', /stride 1/);
    expectCode(() => run((g) => convTranspose2d(g.input('x', 'f32', [1, 1, 4, 4]), g.input('w', 'f32', [1, 1, 3, 3]), { stride: 2, outputPadding: 2 })), 'E_SHAPE', /output padding/);
  });
});

describe('ORT vs reference: conv forward', () => {
  it('conv2d: same padding, stride 2, dilation 2, groups, asymmetric pads, symbolic batch', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', ['batch', 4, 7, 6]);
      const w = g.input('w', 'f32', [6, 4, 3, 3]);
      const wg = g.input('wg', 'f32', [6, 2, 3, 2]);
      return {
        same: conv2d(x, w, { padding: 'same' }), s2: conv2d(x, w, { stride: 2, padding: 1 }), d2: conv2d(x, w, { dilation: [2, 1], padding: [2, 0] }),
        grouped: conv2d(x, wg, { groups: 2, padding: [1, 0, 0, 1], stride: [1, 2] }),
      };
    }, { x: randn([3, 4, 7, 6], 1), w: randn([6, 4, 3, 3], 2), wg: randn([6, 2, 3, 2], 3) }, { atol: 1e-5 });
  });

  it('convTranspose2d: 2x upsampling (stride 2, output padding 1); at stride 1 (a flipped conv) groups, dilation, cropping', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', ['batch', 4, 5, 4]);
      return {
        up: convTranspose2d(x, g.input('w', 'f32', [4, 3, 3, 3]), { stride: 2, padding: 1, outputPadding: 1 }),
        grouped: convTranspose2d(x, g.input('wg', 'f32', [4, 1, 2, 3]), { groups: 2, dilation: 2, padding: [0, 1] }),
        cropped: convTranspose2d(x, g.input('w1', 'f32', [4, 2, 1, 2]), { padding: 1 }),
        padded: convTranspose2d(x, g.input('wp', 'f32', [4, 2, 3, 3]), { dilation: [1, 2], padding: [1, 0, 0, 2], outputPadding: [0, 1] }),
      };
    }, { x: randn([2, 4, 5, 4], 4), w: randn([4, 3, 3, 3], 5), wg: randn([4, 1, 2, 3], 6), w1: randn([4, 2, 1, 2], 7), wp: randn([4, 2, 3, 3], 8) }, { atol: 1e-5 });
  });
});

describe('ORT vs reference: conv gradients (convTranspose2d and the im2col weight gradient on ORT)', () => {
  it('conv2d and convTranspose2d with stride, padding, dilation and groups', async () => {
    await gradCase(
      (x, w, wg, b, t, wt) => [
        conv2d(x, w, { padding: 'same' }), tanh(add(conv2d(x, w, { stride: 2, padding: [1, 0, 0, 1], dilation: [1, 2] }), reshape(b, [3, 1, 1]))),
        conv2d(x, wg, { groups: 2, stride: [2, 1] }), convTranspose2d(t, wt, { stride: 2, padding: 1, outputPadding: 1, groups: 3 }),
      ],
      [2, 3].map((n) => [
        f32([n, 4, 6, 5], 10 + n, -1, 1, ['batch', 4, 6, 5]), f32([3, 4, 3, 3], 20), f32([4, 2, 2, 3], 21), f32([3], 22),
        f32([n, 3, 4, 3], 23 + n, -1, 1, ['batch', 3, 4, 3]), f32([3, 2, 3, 3], 24),
      ]),
      { atol: 2e-5 },
    );
  });
});

describe('coverage', () => {
  it('ran every conv op in the reference and on ORT', () => {
    expect(FORWARD_FAMILIES.conv.filter((op) => !ranOps.has(op) && op !== 'conv2dWeightGrad')).toEqual([]);
    expectFamilyCovered('conv');
  });
});
