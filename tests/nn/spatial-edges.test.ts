/**
 * Feature-map ops at their edges: max pooling where only one axis needs the -inf padding or only one axis is too
 * small, inputs that are not NCHW (errors naming the op), and the conv modules' weight-decay flags (no decay on
 * biases and norm gains) and bidirectional pixel attention.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/core/index.ts';
import { avgPool2d, Conv2d, GroupNorm, groupNorm, maxPool2d, SpatialSelfAttention } from '../../src/nn/index.ts';
import { randn, tensor } from '../runtime/ort-helpers.ts';
import { close, expectCode, run } from '../runtime/reference-helpers.ts';
import { refRun } from './lm-helpers.ts';

/** Max pooling without padding by plain loops over a [1, 1, h, w] map. */
function maxPoolLoop(data: Float64Array, h: number, w: number, k: number, s: number): number[] {
  const out: number[] = [];
  for (let i = 0; i + k <= h; i += s) for (let j = 0; j + k <= w; j += s) {
    let m = -Infinity;
    for (let u = 0; u < k; u++) for (let v = 0; v < k; v++) m = Math.max(m, data[(i + u) * w + j + v]);
    out.push(m);
  }
  return out;
}

describe('maxPool2d edges', () => {
  it('pads just the axis whose strided taps run past the map (6x7, 7x6 at k 2 s 2; 7x7 at k 3 s 3)', () => {
    for (const [h, w, k, s] of [[6, 7, 2, 2], [7, 6, 2, 2], [7, 7, 3, 3], [8, 5, 3, 2]]) {
      const x = randn([1, 1, h, w], h * 10 + w);
      close(run((g) => maxPool2d(g.input('x', 'f32', [1, 1, h, w]), k, s), { x }).out, maxPoolLoop(x.data, h, w, k, s));
    }
  });

  it('a window too large for one axis only is E_SHAPE', () => {
    for (const shape of [[1, 1, 2, 5], [1, 1, 5, 2]]) {
      expectCode(() => run((g) => maxPool2d(g.input('x', 'f32', shape), 3)), 'E_SHAPE', /a 3x3 window does not fit/);
    }
  });

  it('inputs that are not NCHW name the op (rank 3 and rank 5)', () => {
    const ops: [string, (x: Tensor) => Tensor][] = [
      ['groupNorm', (x) => groupNorm(x, 1, x, x)], ['avgPool2d', (x) => avgPool2d(x, 2)], ['maxPool2d', (x) => maxPool2d(x, 2)],
    ];
    for (const [name, op] of ops) {
      for (const shape of [[2, 4, 4], [1, 2, 4, 4, 4]]) {
        expectCode(() => run((g) => op(g.input('x', 'f32', shape))), 'E_SHAPE', new RegExp(`^${name}: expected an NCHW feature map`));
      }
    }
  });
});

describe('conv module flags', () => {
  it('biases and norm gains are not weight-decayed, conv kernels are; negative groups are rejected', () => {
    const conv = new Conv2d(2, 4, 3);
    const norm = new GroupNorm(2, 4);
    expect([conv.weight.decay, conv.bias!.decay, norm.weight.decay, norm.bias.decay]).toEqual([true, false, false, false]);
    expectCode(() => new GroupNorm(-2, 8), 'E_CONFIG', /-2 groups do not divide 8 channels/);
  });

  it('SpatialSelfAttention is bidirectional: swapping two pixels swaps their outputs and leaves the others', () => {
    // Every pixel attends to every pixel, with no position encoding: the map is permutation-equivariant (a causal
    // mask would let pixel 1 see pixel 0 but not pixel 2, so swapping those two would change pixel 1's output).
    const attn = new SpatialSelfAttention(8, 2, 4, { groups: 2 }).named().init(3);
    const x = randn([1, 8, 2, 2], 5);
    const swap = (d: ArrayLike<number>) => Array.from(d, (_, i) => d[i % 4 === 0 ? i + 2 : i % 4 === 2 ? i - 2 : i]);
    const forward = (feed: typeof x) => refRun(attn, (g) => ({ y: attn.call(g.input('x', 'f32', [1, 8, 2, 2])) }), { x: feed }).y.data;
    const want = swap(forward(x));
    const got = forward(tensor(swap(x.data), [1, 8, 2, 2]));
    want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 9));
    expect(Math.abs(want[0] - want[2])).toBeGreaterThan(1e-3); // and the swap did move something
  });
});
