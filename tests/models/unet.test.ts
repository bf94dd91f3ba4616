import { describe, expect, it } from 'vitest';
import { UNet, UNET_PRESETS, type UNetConfig } from '../../src/models/unet.ts';
import { adamw } from '../../src/optim/optimizer.ts';
import { alphaBarSchedule, diffusionBatchSpec, diffusionFeeds, diffusionLoss, denoise } from '../../src/train/diffusion.ts';
import { Forward } from '../../src/train/forward.ts';
import { TrainStep } from '../../src/train/step.ts';
import { Rng } from '../../src/util/rng.ts';
import { randArray } from '../train/helpers.ts';

const SMALL: UNetConfig = { channels: 1, imageSize: 8, base: 8, mults: [1, 2], timeDim: 16, groups: 4, heads: 2, classes: 3 };

const conv = (i: number, o: number, k: number) => o * i * k * k + o;
const lin = (i: number, o: number) => i * o + o;
const res = (i: number, o: number, t: number) => 2 * i + conv(i, o, 3) + lin(t, o) + 2 * o + conv(o, o, 3) + (i === o ? 0 : conv(i, o, 1));
const attn = (c: number) => 2 * c + lin(c, 3 * c) + lin(c, c);

describe('UNet', () => {
  it('has the parameters of its blocks, counted by hand', () => {
    const b = 8, t = 16;
    const expected = lin(b, t) + lin(t, t) + 4 * t + conv(1, b, 3)
      + res(b, b, t) + conv(b, b, 3) + res(b, 2 * b, t) // down path: level 0, stride-2 conv, level 1
      + res(2 * b, 2 * b, t) + attn(2 * b) // middle
      + res(4 * b, 2 * b, t) + conv(2 * b, 2 * b, 3) + res(3 * b, b, t) // up path with skips, one upsampling
      + 2 * b + conv(b, 1, 3); // head
    expect(new UNet(SMALL).init(0).parameterCount()).toBe(expected);
  });

  it('maps [N, C, H, W] to [N, C, H, W] and checks its config', async () => {
    const model = new UNet(SMALL).init(0);
    const spec = diffusionBatchSpec([1, 8, 8], true);
    const fwd = await Forward.compile(model, (m, b) => ({ out: denoise(m, b) }), spec, { threads: 1 });
    const out = await fwd.run({
      x: { dtype: 'f32', shape: [2, 1, 8, 8], data: randArray(1, 128) },
      t: { dtype: 'f32', shape: [2], data: Float32Array.of(0.1, 0.9) },
      target: { dtype: 'f32', shape: [2, 1, 8, 8], data: new Float32Array(128) },
      label: { dtype: 'i64', shape: [2], data: BigInt64Array.of(0n, 3n) },
    });
    await fwd.release();
    expect(out.out.shape).toEqual([2, 1, 8, 8]);
    expect((out.out.data as Float32Array).every(Number.isFinite)).toBe(true);
    expect(() => new UNet({ ...SMALL, imageSize: 7 })).toThrow(/not divisible/);
    expect(new UNet(UNET_PRESETS.tiny).parameterCount()).toBeGreaterThan(100_000);
  });

  it('lowers the diffusion loss over a few training steps on tiny random data', async () => {
    const model = new UNet({ ...SMALL, classes: 0 }).init(0);
    const step = await TrainStep.compile({ model, optimizer: adamw(), batch: diffusionBatchSpec([1, 8, 8], false), loss: diffusionLoss, threads: 1 });
    const f = diffusionFeeds('ddpm', alphaBarSchedule('cosine', 100), randArray(2, 4 * 64), 4, new Rng(0));
    const k = 6;
    const stack = (a: Float32Array) => Float32Array.from({ length: a.length * k }, (_, i) => a[i % a.length]);
    const r = await step.run({
      x: { dtype: 'f32', shape: [k, 4, 1, 8, 8], data: stack(f.x) },
      t: { dtype: 'f32', shape: [k, 4], data: stack(f.t) },
      target: { dtype: 'f32', shape: [k, 4, 1, 8, 8], data: stack(f.target) },
    }, Array(k).fill(3e-3));
    await step.release();
    expect(r.nonFinite).toBeNull();
    expect(r.losses[k - 1]).toBeLessThan(r.losses[0] * 0.9);
  });
});
