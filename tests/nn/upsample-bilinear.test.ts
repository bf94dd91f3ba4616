/**
 * upsampleBilinear2d (composed from slice, concat, mul, add, reshape): the same values as the image resizer
 * (PyTorch's bilinear, align_corners=False) at scales 2 and 3 and on a one-pixel axis, gradients against finite
 * differences, ORT against the reference, and a U-Net whose up path uses it trains and samples.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resizeBilinear } from '../../src/data/images/batch.ts';
import { encodePng } from '../../src/data/images/image.ts';
import { avgPool2d, Upsample, upsampleBilinear2d } from '../../src/nn/index.ts';
import { trainDiffusion } from '../../src/train/diffusion-run.ts';
import { sampleDiffusion } from '../../src/train/diffusion-sample.ts';
import { gradCheck } from '../core/gradcheck.ts';
import { compareOrtWithReference, randn } from '../runtime/ort-helpers.ts';
import { close, expectCode, run } from '../runtime/reference-helpers.ts';

describe('upsampleBilinear2d', () => {
  it('equals the bilinear image resizer (PyTorch align_corners=False) at scales 2 and 3, and on one-pixel axes', () => {
    for (const [shape, scale] of [[[2, 3, 4, 5], 2], [[1, 2, 3, 2], 3], [[1, 1, 1, 4], 2]] as const) {
      const x = randn([...shape], 7 + scale);
      const got = run((g) => ({ up: upsampleBilinear2d(g.input('x', 'f32', [...shape]), scale) }), { x }).up;
      const [n, c, h, w] = shape;
      const want = resizeBilinear({ n, channels: c, height: h, width: w, data: Float32Array.from(x.data) }, h * scale, w * scale);
      expect(got.shape).toEqual([n, c, h * scale, w * scale]);
      close(got, Array.from(want.data), 5);
    }
  });

  it('has the gradients of finite differences, and ORT computes it like the reference', async () => {
    gradCheck((x) => upsampleBilinear2d(x, 2), [{ shape: [1, 2, 3, 4] }]);
    gradCheck((x) => upsampleBilinear2d(avgPool2d(x, 2), 3), [{ shape: [2, 1, 4, 4] }]);
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', ['batch', 3, 5, 4]);
      return { up2: upsampleBilinear2d(x, 2), up3: new Upsample(3, undefined, 'bilinear').call(x) };
    }, { x: randn([2, 3, 5, 4], 3) }, { atol: 1e-5 });
    expectCode(() => run((g) => upsampleBilinear2d(g.input('x', 'f32', [4, 4]), 2)), 'E_SHAPE', /upsampleBilinear2d/);
  });

  it('a U-Net with --upsample bilinear trains, records it, and samples', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-bilinear-'));
    mkdirSync(join(dir, 'imgs'));
    for (let i = 0; i < 3; i++) {
      const data = Uint8Array.from({ length: 64 }, (_, p) => (p * (i + 3)) % 256);
      writeFileSync(join(dir, 'imgs', `${i}.png`), encodePng({ width: 8, height: 8, channels: 1, data }));
    }
    const out = join(dir, 'run');
    const quiet = { progress: { enabled: false }, threads: 1 };
    const r = await trainDiffusion({ data: join(dir, 'imgs'), out, imageSize: 8, steps: 2, batchSize: 2, upsample: 'bilinear', ...quiet });
    expect(Number.isFinite(r.lastLoss)).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).unet.upsample).toBe('bilinear');
    const s = await sampleDiffusion(out, { out: join(dir, 'grid.png'), count: 1, steps: 2, threads: 1 });
    expect(s.images.every(Number.isFinite)).toBe(true);
  }, 60_000);
});
