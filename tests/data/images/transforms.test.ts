import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchToImages, type ImageBatch, imagesToBatch, resizeBilinear } from '../../../src/data/images/batch.ts';
import { imageGrid, writeImageGrid } from '../../../src/data/images/grid.ts';
import { decodeImage } from '../../../src/data/images/image.ts';
import {
  applyTransform, colorJitter, composeTransforms, normalize, randomCrop, randomFlip, resize,
} from '../../../src/data/images/transforms.ts';
import { Rng } from '../../../src/util/rng.ts';
import { tmp } from '../../cli/helpers.ts';

/** A random batch in [0, 1]. */
function randomBatch(n: number, channels: number, height: number, width: number, seed: number): ImageBatch {
  const rng = new Rng(seed);
  return { n, channels, height, width, data: Float32Array.from({ length: n * channels * height * width }, () => rng.next()) };
}

const shape = fc.record({
  n: fc.integer({ min: 1, max: 3 }), channels: fc.constantFrom(1, 3), height: fc.integer({ min: 1, max: 9 }),
  width: fc.integer({ min: 1, max: 9 }), seed: fc.integer({ min: 0, max: 1000 }),
});
const batchOf = (s: { n: number; channels: number; height: number; width: number; seed: number }) =>
  randomBatch(s.n, s.channels, s.height, s.width, s.seed);

describe('seeded image transforms', () => {
  const augment = composeTransforms(
    randomCrop({ padding: 2 }), randomFlip(), colorJitter({ brightness: 0.3, contrast: 0.3, saturation: 0.3 }), normalize([0.5], [0.25]),
  );

  it('the same seed gives the same batch; another seed another one; the input is never changed', () => {
    const b = randomBatch(4, 3, 8, 8, 1);
    const before = Float32Array.from(b.data);
    const a1 = applyTransform(augment, b, 7);
    const a2 = applyTransform(augment, b, 7);
    expect(a1).toEqual(a2);
    expect(applyTransform(augment, b, 8).data).not.toEqual(a1.data);
    expect(b.data).toEqual(before);
  });

  it('flipping every image twice is the identity (both axes); a flip moves pixels as a mirror', () => {
    fc.assert(fc.property(shape, fc.boolean(), (s, vertical) => {
      const b = batchOf(s);
      const flip = randomFlip({ p: 1, vertical });
      const once = applyTransform(flip, b, 0);
      expect(applyTransform(flip, once, 1).data).toEqual(b.data);
      const { height: h, width: w } = b;
      const at = (d: Float32Array, y: number, x: number) => d[y * w + x];
      expect(at(once.data, 0, 0)).toBe(vertical ? at(b.data, h - 1, 0) : at(b.data, 0, w - 1));
    }));
    const b = randomBatch(2, 1, 3, 3, 0);
    expect(applyTransform(randomFlip({ p: 0 }), b, 0).data).toEqual(b.data);
  });

  it('a random crop keeps the shape, moves content by at most the padding and fills the rest', () => {
    fc.assert(fc.property(shape, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 99 }), (s, padding, seed) => {
      const b = batchOf(s);
      const out = applyTransform(randomCrop({ padding, fill: -1 }), b, seed);
      expect([out.n, out.channels, out.height, out.width]).toEqual([b.n, b.channels, b.height, b.width]);
      // Every value is either fill or a value of the same image and channel.
      const hw = b.height * b.width;
      for (let p = 0; p < b.n * b.channels; p++) {
        const src = new Set(b.data.subarray(p * hw, (p + 1) * hw));
        for (const v of out.data.subarray(p * hw, (p + 1) * hw)) expect(v === -1 || src.has(v)).toBe(true);
      }
    }));
    const b = randomBatch(2, 3, 5, 5, 3);
    expect(applyTransform(randomCrop({ padding: 0 }), b, 9).data).toEqual(b.data);
    const smaller = applyTransform(randomCrop({ height: 3, width: 4 }), b, 9);
    expect([smaller.height, smaller.width, smaller.data.length]).toEqual([3, 4, 2 * 3 * 3 * 4]);
    expect(() => applyTransform(randomCrop({ height: 9 }), b, 0)).toThrow(/does not fit/);
  });

  it('jitter of strength 0 is the identity, and jittered values stay in [0, 1]', () => {
    const b = randomBatch(3, 3, 4, 4, 2);
    expect(applyTransform(colorJitter({}), b, 5).data).toEqual(b.data);
    const j = applyTransform(colorJitter({ brightness: 1, contrast: 1, saturation: 1 }), b, 5);
    expect(j.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(j.data).not.toEqual(b.data);
    expect(() => colorJitter({ brightness: 2 })).toThrow(/must be in \[0, 1\]/);
  });

  it('normalize standardises each channel with its own mean and std', () => {
    const b = randomBatch(2, 3, 2, 2, 4);
    const out = applyTransform(normalize([0.1, 0.2, 0.3], [0.5, 0.25, 2]), b, 0);
    expect(out.data[0]).toBeCloseTo((b.data[0] - 0.1) / 0.5, 6);
    expect(out.data[4]).toBeCloseTo((b.data[4] - 0.2) / 0.25, 6);
    expect(out.data[12 + 8]).toBeCloseTo((b.data[12 + 8] - 0.3) / 2, 6);
    expect(() => applyTransform(normalize([0, 0], [1, 1]), b, 0)).toThrow(/2 mean values for 3 channels/);
  });
});

describe('bilinear resize', () => {
  it('the same size is the identity and a constant image stays constant', () => {
    fc.assert(fc.property(shape, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), (s, h, w) => {
      const b = batchOf(s);
      expect(resizeBilinear(b, b.height, b.width).data).toEqual(b.data);
      const flat = { ...b, data: new Float32Array(b.data.length).fill(0.25) };
      expect(resizeBilinear(flat, h, w).data.every((v) => Math.abs(v - 0.25) < 1e-6)).toBe(true);
    }));
  });

  it('matches PyTorch interpolate(mode="bilinear", align_corners=False) on a 2x2 -> 4x4 and a 4x4 -> 2x2', () => {
    const b: ImageBatch = { n: 1, channels: 1, height: 2, width: 2, data: Float32Array.of(0, 1, 2, 3) };
    // torch.nn.functional.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=(4, 4), mode='bilinear')
    const up = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3];
    expect(Array.from(resizeBilinear(b, 4, 4).data)).toEqual(up);
    const big: ImageBatch = { n: 1, channels: 1, height: 4, width: 4, data: Float32Array.from({ length: 16 }, (_, i) => i) };
    expect(Array.from(resizeBilinear(big, 2, 2).data)).toEqual([2.5, 4.5, 10.5, 12.5]);
    expect(applyTransform(resize(4), b, 0).data).toEqual(resizeBilinear(b, 4, 4).data);
  });

  it('images of other sizes and channels join one batch at the first image size', () => {
    const grey = { width: 2, height: 2, channels: 1 as const, data: Uint8Array.of(0, 255, 255, 0) };
    const rgb = { width: 4, height: 4, channels: 3 as const, data: new Uint8Array(48).fill(51) };
    const b = imagesToBatch([grey, rgb]);
    expect([b.n, b.channels, b.height, b.width]).toEqual([2, 3, 2, 2]);
    expect(Array.from(b.data.subarray(0, 4))).toEqual([0, 1, 1, 0]);
    expect(b.data.subarray(12).every((v) => Math.abs(v - 0.2) < 1e-6)).toBe(true);
    expect(batchToImages(b)[0].data.subarray(0, 3)).toEqual(Uint8Array.of(0, 0, 0));
  });
});

describe('image grids as PNG', () => {
  it('writes images in rows of `cols`, padded, and reads back pixel for pixel', async () => {
    const b: ImageBatch = { n: 5, channels: 1, height: 3, width: 2, data: new Float32Array(30) };
    for (let k = 0; k < 5; k++) b.data.fill((k + 1) / 5, k * 6, (k + 1) * 6);
    const file = join(tmp('sy-grid-'), 'grid.png');
    const size = await writeImageGrid(b, 3, file, { padding: 1 });
    expect(size).toEqual({ width: 3 * 3 + 1, height: 2 * 4 + 1 });
    const back = decodeImage(readFileSync(file), file);
    expect(back).toEqual(imageGrid(b, 3, { padding: 1 }));
    const px = (x: number, y: number) => back.data[y * back.width + x];
    expect(px(0, 0)).toBe(0);
    expect(px(1, 1)).toBe(51);
    expect(px(4, 1)).toBe(102);
    expect(px(1, 5)).toBe(204);
    expect(px(4, 5)).toBe(255);
    expect(px(7, 5)).toBe(0);
  });

  it('maps a [-1, 1] range to 0..255 and refuses mixed sizes', () => {
    const b: ImageBatch = { n: 1, channels: 1, height: 1, width: 3, data: Float32Array.of(-1, 0, 1) };
    expect(Array.from(imageGrid(b, 1, { padding: 0, range: [-1, 1] }).data)).toEqual([0, 128, 255]);
    const a = { width: 1, height: 1, channels: 1 as const, data: Uint8Array.of(1) };
    expect(() => imageGrid([a, { ...a, width: 2, data: Uint8Array.of(1, 2) }], 2)).toThrow(/image 1 is 2x1, image 0 is 1x1/);
  });
});
