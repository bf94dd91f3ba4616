/**
 * The conv modules' values by hand (a 1x1 Conv2d with its bias, the pooling modules, Upsample's conv), PyTorch's
 * initialisation bounds, the sinusoidal timestep embedding with its default period (guided-diffusion's
 * `timestep_embedding`), and every bad setting's error: the code, the place it names and the hint.
 * (tests/nn/conv.test.ts checks the ops against plain loops and ORT against the reference; a module that dropped
 * its bias or picked the wrong pooling would pass that comparison, since ORT then runs the same wrong graph.)
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/core/index.ts';
import { add, conv2d, reshape } from '../../src/core/ops/index.ts';
import {
  avgPool2d, Conv2d, GroupNorm, groupNorm, maxPool2d, Module, Pool2d, ResBlock, SpatialSelfAttention, timestepEmbedding, Upsample,
  upsampleBilinear2d, upsampleNearest2d,
} from '../../src/nn/index.ts';
import type { RefTensor } from '../../src/runtime/reference/index.ts';
import { randn, tensor } from '../runtime/ort-helpers.ts';
import { close, expectCode, run } from '../runtime/reference-helpers.ts';

const feedsOf = (m: Module) => Object.fromEntries(m.named().namedParameters().map(([n, p]) => [n, tensor(p.data, p.shape)]));
/** Runs module `m` on x in the float64 reference interpreter, its parameters fed by name. */
const forward = (m: Module, x: RefTensor) =>
  run((g) => m.call(g.input('x', 'f32', x.shape)), { x, ...feedsOf(m) }).out;

describe('conv modules compute what they say', () => {
  it('Conv2d adds its bias per output channel (a 1x1 conv by hand); bias: false has none', () => {
    const conv = new Conv2d(2, 2, 1).init(1);
    conv.weight.data = Float32Array.of(1, 2, -1, 0.5); // out 0 = x0 + 2 x1 + 0.25, out 1 = -x0 + 0.5 x1 - 3
    conv.bias!.data = Float32Array.of(0.25, -3);
    const x = tensor([1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]);
    close(forward(conv, x), [21.25, 42.25, 63.25, 84.25, 4 - 3, 8 - 3, 12 - 3, 16 - 3]);
    const bare = new Conv2d(2, 2, 1, { bias: false }).init(1);
    expect(bare.bias).toBeUndefined();
    bare.weight.data = Float32Array.of(1, 2, -1, 0.5);
    close(forward(bare, x), [21, 42, 63, 84, 4, 8, 12, 16]);
  });

  it('Conv2d and its bias start U(-1/sqrt(fanIn), +) with fanIn = in / groups * k * k, as PyTorch', () => {
    for (const [conv, fanIn] of [[new Conv2d(8, 6, 3, { groups: 2 }), 36], [new Conv2d(8, 6, 3), 72], [new Conv2d(3, 40, 1), 3]] as const) {
      conv.init(7);
      const bound = 1 / Math.sqrt(fanIn);
      expect(conv.weight.shape).toEqual([6 === conv.outChannels ? 6 : 40, conv.inChannels / (conv.opts.groups ?? 1), conv.kernel, conv.kernel]);
      const w = Array.from(conv.weight.data, Math.abs);
      const b = Array.from(conv.bias!.data, Math.abs);
      expect(Math.max(...w)).toBeLessThanOrEqual(bound);
      expect(Math.max(...w)).toBeGreaterThan(0.85 * bound); // 54+ uniform draws reach near the bound
      expect(Math.max(...b)).toBeLessThanOrEqual(bound);
      expect(Math.max(...b)).toBeGreaterThan(0.25 * bound);
    }
  });

  it('Pool2d picks max or average, with stride = kernel unless given, and passes stride and padding', () => {
    const x = tensor(Array.from({ length: 16 }, (_, i) => (i * 7) % 16), [1, 1, 4, 4]); // rows 0 7 14 5 | 12 3 10 1 | 8 15 6 13 | 4 11 2 9
    close(forward(new Pool2d('max', 2), x), [12, 14, 15, 13]);
    close(forward(new Pool2d('avg', 2), x), [5.5, 7.5, 9.5, 7.5]);
    close(forward(new Pool2d('max', 2, 1), x), [12, 14, 14, 15, 15, 13, 15, 15, 13]);
    // kernel 3, stride 3, padding 1: windows rows/cols {-1, 0, 1} and {2, 3, 4}; zero padding counts in the average.
    close(forward(new Pool2d('avg', 3, 3, 1), x), [22 / 9, 30 / 9, 38 / 9, 30 / 9], 6);
    close(forward(new Pool2d('max', 3, 3, 1), x), [12, 14, 15, 13]);
  });

  it('Upsample is nearest by default and, given channels, a 3x3 conv (padding 1) of the upsampled map', () => {
    const x = randn([1, 2, 2, 3], 4);
    const plain = new Upsample(2);
    expect(plain.conv).toBeUndefined();
    expect(Array.from(forward(plain, x).data)).toEqual(Array.from(run((g) => upsampleNearest2d(g.input('x', 'f32', [1, 2, 2, 3]), 2), { x }).out.data));
    const smooth = new Upsample(3, 2).init(2);
    expect(smooth.conv!.weight.shape).toEqual([2, 2, 3, 3]);
    const want = run((g) => {
      const up = upsampleNearest2d(g.input('x', 'f32', [1, 2, 2, 3]), 3);
      return add(conv2d(up, g.input('w', 'f32', [2, 2, 3, 3]), { padding: 1 }), reshape(g.input('b', 'f32', [2]), [2, 1, 1]));
    }, { x, w: tensor(smooth.conv!.weight.data, [2, 2, 3, 3]), b: tensor(smooth.conv!.bias!.data, [2]) }).out;
    close(forward(smooth, x), Array.from(want.data));
    const bilinear = run((g) => upsampleBilinear2d(g.input('x', 'f32', [1, 2, 2, 3]), 2), { x }).out;
    close(forward(new Upsample(2, undefined, 'bilinear'), x), Array.from(bilinear.data));
  });

  it('ResBlock and SpatialSelfAttention use 8 GroupNorm groups unless told; a skip conv only when channels change', () => {
    const same = new ResBlock(16, 16, 4);
    expect([same.norm1.groups, same.norm2.groups, same.skip]).toEqual([8, 8, undefined]);
    const wider = new ResBlock(8, 16, 4, { groups: 4 });
    expect([wider.norm1.groups, wider.skip?.kernel, wider.skip?.outChannels]).toEqual([4, 1, 16]);
    expect(new SpatialSelfAttention(16, 2, 4).norm.groups).toBe(8);
    expect(new SpatialSelfAttention(16, 2, 4, { groups: 2 }).norm.groups).toBe(2);
  });
});

describe('timestepEmbedding (guided-diffusion timestep_embedding)', () => {
  it('is [cos(t f), sin(t f)] with f_i = 10000^(-i / half) by default, and all zeros for dim 1', () => {
    // freqs = exp(-log(max_period) * arange(half) / half); emb = cat([cos(t freqs), sin(t freqs)]).
    const t = tensor([0, 3, 250], [3]);
    const out = run((g) => {
      const ti = g.input('t', 'f32', [3]);
      return { six: timestepEmbedding(ti, 6), one: timestepEmbedding(ti, 1) };
    }, { t });
    const f = [0, 1, 2].map((i) => Math.fround(Math.exp((-Math.log(10000) * i) / 3)));
    const want = [0, 3, 250].flatMap((ti) => [...f.map((fi) => Math.cos(Math.fround(ti * fi))), ...f.map((fi) => Math.sin(Math.fround(ti * fi)))]);
    close(out.six, want, 5);
    expect(out.one.shape).toEqual([3, 1]);
    expect(Array.from(out.one.data)).toEqual([0, 0, 0]);
  });
});

describe('bad settings name the place and give a hint', () => {
  const input = (shape: (number | string)[]) => (fn: (x: Tensor) => unknown) => () => run((g) => fn(g.input('x', 'f32', shape)) as Tensor);
  const nchw = input([1, 4, 4, 4]);

  it('Conv2d and GroupNorm settings', () => {
    expectCode(() => new Conv2d(0, 4, 3), 'E_CONFIG', /^Conv2d: in channels must be a positive integer, got 0$/, /new Conv2d\(3, 64, 3\)/);
    expectCode(() => new Conv2d(3, 4.5, 3), 'E_CONFIG', /^Conv2d: out channels must be a positive integer, got 4.5$/);
    expectCode(() => new Conv2d(3, 4, 0), 'E_CONFIG', /^Conv2d: kernel must be a positive integer, got 0$/);
    expectCode(() => new Conv2d(6, 4, 3, { groups: 4 }), 'E_CONFIG', /^Conv2d: groups 4 must divide in \(6\) and out \(4\) channels$/, /divides both/);
    expectCode(() => new Conv2d(4, 6, 3, { groups: 4 }), 'E_CONFIG', /groups 4 must divide/);
    expect(new Conv2d(1, 1, 1).weight.shape).toEqual([1, 1, 1, 1]);
    expectCode(() => new GroupNorm(3, 8), 'E_CONFIG', /^GroupNorm: 3 groups do not divide 8 channels$/, /divides the channels/);
    expectCode(() => new GroupNorm(2.5, 5), 'E_CONFIG', /2.5 groups/);
    expectCode(() => new GroupNorm(0, 8), 'E_CONFIG');
    expect(new GroupNorm(1, 5).groups).toBe(1);
  });

  it('a conv fed the wrong channel count names its module path; a non-NCHW input names the layer', () => {
    class Net extends Module {
      stem = new Conv2d(3, 4, 3);
      forward(x: Tensor): Tensor {
        return this.stem.call(x);
      }
    }
    const net = new Net().named();
    expectCode(() => run((g) => net.call(g.input('x', 'f32', [1, 2, 5, 5]))), 'E_SHAPE', /^stem: input has 2 channels, the layer expects 3 \(input /, /previous layer's output channels/);
    expectCode(() => run((g) => new Conv2d(3, 4, 3).named().forward(g.input('x', 'f32', [1, 2, 5, 5]))), 'E_SHAPE', /^conv2d: input has 2 channels/);
    expectCode(() => run((g) => new Conv2d(3, 4, 3).named().forward(g.input('x', 'f32', [3, 5, 5]))), 'E_SHAPE', /^conv2d: expected an NCHW/);
    expectCode(() => run((g) => new SpatialSelfAttention(8, 2, 4).named().forward(g.input('x', 'f32', [1, 8, 4]))), 'E_SHAPE', /^attention: expected an NCHW/);
  });

  it('feature maps need a static C, H and W', () => {
    const hint = /reshape to \[batch, channels, height, width\]/;
    for (const shape of [[1, 'c', 4, 4], [1, 4, 'h', 4], [1, 4, 4, 'w'], [1, 4, 4]]) {
      expectCode(input(shape)((x) => upsampleNearest2d(x)), 'E_SHAPE', /^upsampleNearest2d: expected an NCHW feature map with static C, H, W, got /, hint);
    }
  });

  it('op settings: positive integers, padding at most half the kernel, a window that fits, f32 [N] timesteps', () => {
    expectCode(nchw((x) => avgPool2d(x, 0)), 'E_CONFIG', /^avgPool2d: kernel must be a positive integer, got 0$/, /e\.g\. 2/);
    expectCode(nchw((x) => maxPool2d(x, 2, 0)), 'E_CONFIG', /^maxPool2d: stride must be a positive integer, got 0$/);
    expectCode(nchw((x) => maxPool2d(x, 2.5)), 'E_CONFIG', /^maxPool2d: kernel must be/);
    expectCode(nchw((x) => maxPool2d(x, 2, 2, -1)), 'E_CONFIG', /^maxPool2d: padding -1 must be an integer in \[0, kernel \/ 2\]$/, /as in PyTorch/);
    expectCode(nchw((x) => maxPool2d(x, 3, 2, 0.5)), 'E_CONFIG', /padding 0.5/);
    expectCode(nchw((x) => maxPool2d(x, 5)), 'E_SHAPE', /^maxPool2d: a 5x5 window does not fit /, /smaller kernel/);
    // A window of the whole map fits: one output, the maximum.
    close(run((g) => maxPool2d(g.input('x', 'f32', [1, 1, 2, 2]), 2), { x: tensor([3, 9, -1, 4], [1, 1, 2, 2]) }).out, [9]);
    expectCode(nchw((x) => upsampleNearest2d(x, 1.5)), 'E_CONFIG', /^upsampleNearest2d: scale must be a positive integer, got 1.5$/);
    expectCode(nchw((x) => upsampleBilinear2d(x, 0)), 'E_CONFIG', /^upsampleBilinear2d: scale must be/);
    expectCode(nchw((x) => groupNorm(x, 0, x, x)), 'E_CONFIG', /^groupNorm: groups must be a positive integer, got 0$/);
    expectCode(nchw((x) => groupNorm(x, 3, x, x)), 'E_CONFIG', /^groupNorm: 4 channels are not divisible by 3 groups$/, /divides the channels/);
    expectCode(input([2])((t) => timestepEmbedding(t, 0)), 'E_CONFIG', /^timestepEmbedding: dim must be a positive integer, got 0$/);
    expectCode(input([2, 1])((t) => timestepEmbedding(t, 4)), 'E_SHAPE', /^timestepEmbedding: timesteps must be f32 \[N\], got /, /cast integer steps to f32 first/);
    expectCode(() => run((g) => timestepEmbedding(g.input('t', 'i64', [2]), 4)), 'E_SHAPE', /timesteps must be f32/);
  });
});
