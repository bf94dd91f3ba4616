/**
 * Feature-map functional ops (groupNorm, pooling, upsampling, timestep embeddings) against plain loops in the
 * float64 reference, their gradients against finite differences, and the conv modules: names, shapes, and a small
 * conv net exported to ONNX and run in ORT against the in-process forward.
 */
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { type Tensor, reduceMean, reshape } from '../../src/core/index.ts';
import {
  avgPool2d, Conv2d, crossEntropy, GroupNorm, groupNorm, maxPool2d, Module, Pool2d, ResBlock, SpatialSelfAttention, timestepEmbedding, Upsample,
  upsampleNearest2d,
} from '../../src/nn/index.ts';
import { adamw } from '../../src/optim/optimizer.ts';
import { exportOnnx, Forward, type ForwardFn } from '../../src/train/forward.ts';
import { TrainStep } from '../../src/train/step.ts';
import { gradCheck } from '../core/gradcheck.ts';
import { compareOrtWithReference, randn } from '../runtime/ort-helpers.ts';
import { close, expectCode, run } from '../runtime/reference-helpers.ts';
import { expectClose, f32, randArray } from '../train/helpers.ts';

const at = (shape: number[], n: number, c: number, h: number, w: number) => ((n * shape[1] + c) * shape[2] + h) * shape[3] + w;

/** Plain-loop pooling of `x` with -inf (max) or zero (avg, counted) padding. */
function poolLoop(x: { shape: number[]; data: Float64Array }, k: number, s: number, p: number, kind: 'max' | 'avg'): number[] {
  const [n, c, h, w] = x.shape;
  const oh = Math.floor((h + 2 * p - k) / s) + 1;
  const ow = Math.floor((w + 2 * p - k) / s) + 1;
  const out: number[] = [];
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    let acc = kind === 'max' ? -Infinity : 0;
    for (let u = 0; u < k; u++) for (let v = 0; v < k; v++) {
      const [r, q] = [i * s - p + u, j * s - p + v];
      const val = r < 0 || r >= h || q < 0 || q >= w ? (kind === 'max' ? -Infinity : 0) : x.data[at(x.shape, b, ch, r, q)];
      acc = kind === 'max' ? Math.max(acc, val) : acc + val / (k * k);
    }
    out.push(acc);
  }
  return out;
}

describe('feature-map functional ops (float64 reference vs plain loops)', () => {
  it('maxPool2d and avgPool2d: kernel 2 stride 2, kernel 3 stride 2 padding 1, kernel 3 stride 1', () => {
    const x = randn([2, 3, 7, 6], 1);
    for (const [k, s, p] of [[2, 2, 0], [3, 2, 1], [3, 1, 0], [2, 3, 1]]) {
      const out = run((g) => {
        const xi = g.input('x', 'f32', ['batch', 3, 7, 6]);
        return { max: maxPool2d(xi, k, s, p), avg: avgPool2d(xi, k, s, p) };
      }, { x });
      close(out.max, poolLoop(x, k, s, p, 'max'));
      close(out.avg, poolLoop(x, k, s, p, 'avg'), 6); // the 1/k^2 weight is a float32 constant
    }
  });

  it('groupNorm normalises each group over its channels and pixels, then scales per channel', () => {
    const x = randn([2, 4, 3, 2], 2);
    const wgt = randn([4], 3);
    const b = randn([4], 4);
    const y = run((g) => groupNorm(g.input('x', 'f32', [2, 4, 3, 2]), 2, g.input('w', 'f32', [4]), g.input('b', 'f32', [4]), 1e-5), { x, w: wgt, b }).out;
    const want = new Array<number>(48);
    for (let n = 0; n < 2; n++) for (let grp = 0; grp < 2; grp++) {
      const idx = Array.from({ length: 12 }, (_, k) => n * 24 + grp * 12 + k);
      const mu = idx.reduce((a, i) => a + x.data[i], 0) / 12;
      const v = idx.reduce((a, i) => a + (x.data[i] - mu) ** 2, 0) / 12;
      for (const i of idx) want[i] = ((x.data[i] - mu) / Math.sqrt(v + 1e-5)) * wgt.data[Math.floor((i % 24) / 6)] + b.data[Math.floor((i % 24) / 6)];
    }
    close(y, want, 10);
  });

  it('upsampleNearest2d repeats each pixel into a block; timestepEmbedding is [cos, sin] of t times the frequencies', () => {
    const out = run((g) => ({
      up: upsampleNearest2d(g.input('x', 'f32', [1, 1, 2, 2]), 2),
      emb: timestepEmbedding(g.input('t', 'f32', [2]), 5, 100),
    }), { x: { dtype: 'f32', shape: [1, 1, 2, 2], data: Float64Array.of(1, 2, 3, 4) }, t: { dtype: 'f32', shape: [2], data: Float64Array.of(0, 7) } });
    expect([...out.up.data]).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    const f = [1, Math.exp(-Math.log(100) / 2)];
    const want = [0, 7].flatMap((t) => [...f.map((fi) => Math.cos(Math.fround(t * Math.fround(fi)))), ...f.map((fi) => Math.sin(Math.fround(t * Math.fround(fi)))), 0]);
    close(out.emb, want, 5);
  });

  it('gradients of groupNorm, maxPool2d (overlapping windows, padding) and upsampling', () => {
    gradCheck((x, w, b) => groupNorm(x, 2, w, b), [{ shape: [2, 4, 2, 3], gen: 'distinct' }, { shape: [4] }, { shape: [4] }]);
    gradCheck((x) => maxPool2d(x, 3, 2, 1), [{ shape: [1, 2, 5, 4], gen: 'distinct' }]);
    gradCheck((x) => upsampleNearest2d(avgPool2d(x, 2), 3), [{ shape: [2, 1, 4, 4] }]);
  });

  it('ORT runs the compositions like the reference (the -inf padding of maxPool2d included)', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', ['batch', 4, 5, 6]);
      return {
        gn: groupNorm(x, 2, g.input('w', 'f32', [4]), g.input('b', 'f32', [4])), max: maxPool2d(x, 3, 2, 1), avg: avgPool2d(x, 3, 1, 1),
        up: upsampleNearest2d(x, 3), emb: timestepEmbedding(g.input('t', 'f32', ['batch']), 8),
      };
    }, { x: randn([2, 4, 5, 6], 12), w: randn([4], 13), b: randn([4], 14), t: randn([2], 15, 0, 100) }, { atol: 1e-5 });
  });

  it('bad settings are E_CONFIG / E_SHAPE errors that name the op', () => {
    expectCode(() => run((g) => groupNorm(g.input('x', 'f32', [1, 6, 2, 2]), 4, g.input('w', 'f32', [6]), g.input('b', 'f32', [6]))), 'E_CONFIG', /groupNorm: 6 channels/);
    expectCode(() => run((g) => maxPool2d(g.input('x', 'f32', [1, 1, 4, 4]), 2, 2, 2)), 'E_CONFIG', /maxPool2d: padding 2/);
    expectCode(() => run((g) => avgPool2d(g.input('x', 'f32', [4, 4]), 2)), 'E_SHAPE', /NCHW/);
    expect(() => new GroupNorm(3, 8)).toThrow(/3 groups do not divide 8/);
    expect(() => new Conv2d(6, 4, 3, { groups: 4 })).toThrow(/groups 4 must divide/);
  });
});

/** A small conditional conv net: every module of src/nn/conv.ts once. */
class TinyNet extends Module {
  stem = new Conv2d(3, 8, 3, { padding: 1 });
  block = new ResBlock(8, 16, 12, { groups: 4 });
  down = new Pool2d('max', 2);
  attn = new SpatialSelfAttention(16, 2, 16, { groups: 4 });
  up = new Upsample(2, 16);
  norm = new GroupNorm(4, 16);
  head = new Conv2d(16, 2, 1);
  pool = new Pool2d('avg', 2);
  forward(x: Tensor, t: Tensor): Tensor {
    const h = this.down.call(this.block.call(this.stem.call(x), timestepEmbedding(t, 12)));
    return this.pool.call(this.head.call(this.norm.call(this.up.call(this.attn.call(h)))));
  }
}

describe('conv modules', () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of closers) await c();
  });

  it('have PyTorch state_dict names and shapes', () => {
    const names = new TinyNet().named().namedParameters().map(([n, p]) => `${n}:${p.shape.join('x')}`);
    expect(names).toContain('stem.weight:8x3x3x3');
    expect(names).toContain('block.norm1.weight:8');
    expect(names).toContain('block.timeProj.weight:16x12');
    expect(names).toContain('block.skip.weight:16x8x1x1');
    expect(names).toContain('attn.attn.qkv.weight:48x16');
    expect(names).toContain('up.conv.bias:16');
  });

  it('export to ONNX; ORT runs the file like the in-process forward, at two batch sizes', async () => {
    const model = new TinyNet().init(3);
    const fn: ForwardFn = (m, b) => ({ y: m.call(b.x, b.t), mean: reduceMean(m.call(b.x, b.t)) });
    const spec = { x: { dtype: 'f32' as const, shape: ['batch', 3, 8, 8] }, t: { dtype: 'f32' as const, shape: ['batch'] } };
    const bytes = exportOnnx(model, fn, spec, {}, { opset: 17 });
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, executionProviders: ['cpu'] });
    closers.push(() => session.release());
    const fwd = await Forward.compile(model, fn, spec, { threads: 1 });
    closers.push(() => fwd.release());
    for (const n of [1, 3]) {
      const x = randArray(n, n * 192, 1);
      const t = Float32Array.from({ length: n }, (_, i) => 10 * i + 3);
      const res = await session.run({ x: new ort.Tensor('float32', x, [n, 3, 8, 8]), t: new ort.Tensor('float32', t, [n]) });
      const ref = await fwd.run({ x: f32([n, 3, 8, 8], x), t: f32([n], t) });
      expect([...res.y.dims]).toEqual([n, 2, 4, 4]);
      expectClose(res.y.data as Float32Array, ref.y.data as Float32Array, 1e-4, 1e-5, `y n=${n}`);
    }
  });

  it('train: a conv classifier learns where a bright blob is (AdamW, one ORT graph per call)', async () => {
    const net = new (class extends Module {
      conv = new Conv2d(1, 4, 3, { padding: 'same' });
      norm = new GroupNorm(2, 4);
      pool = new Pool2d('max', 2);
      head = new Conv2d(4, 2, 4);
      forward(x: Tensor): Tensor {
        return reshape(this.head.call(this.pool.call(this.norm.call(this.conv.call(x)))), [x.shape[0], 2]);
      }
    })().init(1);
    const step = await TrainStep.compile({
      model: net, optimizer: adamw({ weightDecay: 0 }), threads: 1, seed: 1,
      batch: { x: { dtype: 'f32', shape: ['batch', 1, 8, 8] }, y: { dtype: 'i64', shape: ['batch'] } },
      loss: (m, b) => crossEntropy(m.call(b.x), b.y),
    });
    closers.push(() => step.release());
    // Label 1: the blob is in the right half. K = 10 micro-steps of 8 images per call, 2 calls.
    const rng = randArray(5, 10_000, 1);
    let r = 0;
    const batch = () => {
      const x = new Float32Array(10 * 8 * 64);
      const y = new BigInt64Array(10 * 8);
      for (let i = 0; i < 80; i++) {
        const right = Math.abs(rng[r++ % rng.length]) > 0.5;
        const [row, col] = [Math.floor(Math.abs(rng[r++ % rng.length]) * 6), (right ? 4 : 0) + Math.floor(Math.abs(rng[r++ % rng.length]) * 3)];
        for (const [dr, dc] of [[0, 0], [0, 1], [1, 0], [1, 1]]) x[i * 64 + (row + dr) * 8 + col + dc] = 1;
        y[i] = right ? 1n : 0n;
      }
      return { x: f32([10, 8, 1, 8, 8], x), y: { dtype: 'i64' as const, shape: [10, 8], data: y } };
    };
    const losses: number[] = [];
    for (let call = 0; call < 2; call++) losses.push(...(await step.run(batch(), Array(10).fill(0.02))).losses);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(losses[0]).toBeGreaterThan(0.5); // chance is ln 2
    expect(mean(losses.slice(-5))).toBeLessThan(0.05);
  });
});
