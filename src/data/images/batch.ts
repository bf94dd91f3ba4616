/**
 * A batch of images as one float tensor (N × C × H × W, the layout conv nets take), built from decoded 8-bit
 * images and turned back into them, and bilinear resizing, the one geometric resample everything else uses.
 */
import { SwitchyardError } from '../../util/errors.ts';
import type { Image } from './image.ts';

/**
 * Images as one row-major float tensor `[n, channels, height, width]` (NCHW); pixel values are in [0, 1]
 * straight from {@link imagesToBatch}, any range after normalising.
 *
 * @example
 * const b: ImageBatch = { n: 1, channels: 1, height: 2, width: 2, data: new Float32Array(4) };
 */
export interface ImageBatch {
  n: number;
  channels: number;
  height: number;
  width: number;
  data: Float32Array;
}

/**
 * Resizes every image of a batch to `height` × `width` by bilinear interpolation (pixel centres aligned, as
 * PyTorch's `align_corners=False`; no anti-aliasing). The same size returns a copy.
 *
 * @example
 * const small = resizeBilinear(batch, 14, 14);
 */
export function resizeBilinear(b: ImageBatch, height: number, width: number): ImageBatch {
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
    throw new SwitchyardError(
      'E_IMAGE_SIZE',
      `resize to ${height}x${width}: sizes must be positive integers`,
      'e.g. resize(28, 28)',
    );
  }
  const out = new Float32Array(b.n * b.channels * height * width);
  const sy = b.height / height;
  const sx = b.width / width;
  // Per output column: the two source columns and the weight of the second, computed once for all rows.
  const x0 = new Int32Array(width);
  const x1 = new Int32Array(width);
  const wx = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const s = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), b.width - 1);
    x0[x] = Math.floor(s);
    x1[x] = Math.min(x0[x] + 1, b.width - 1);
    wx[x] = s - x0[x];
  }
  const planes = b.n * b.channels;
  for (let p = 0; p < planes; p++) {
    const src = p * b.height * b.width;
    const dst = p * height * width;
    for (let y = 0; y < height; y++) {
      const s = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), b.height - 1);
      const r0 = src + Math.floor(s) * b.width;
      const r1 = src + Math.min(Math.floor(s) + 1, b.height - 1) * b.width;
      const wy = s - Math.floor(s);
      for (let x = 0; x < width; x++) {
        const top = b.data[r0 + x0[x]] * (1 - wx[x]) + b.data[r0 + x1[x]] * wx[x];
        const bottom = b.data[r1 + x0[x]] * (1 - wx[x]) + b.data[r1 + x1[x]] * wx[x];
        out[dst + y * width + x] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return { n: b.n, channels: b.channels, height, width, data: out };
}

/**
 * Writes one image into `out` at `offset` as C × H × W floats in [0, 1], at the given size (bilinear resize when
 * it differs) and channel count (grey repeated into RGB; RGB to grey by ITU-R 601 luma).
 *
 * @example
 * const x = new Float32Array(784);
 * writeImageChw(img, 1, 28, 28, x, 0);
 */
export function writeImageChw(
  img: Image, channels: number, height: number, width: number, out: Float32Array, offset: number,
): void {
  const hw = img.width * img.height;
  let plane: Float32Array = new Float32Array(channels * hw);
  for (let i = 0; i < hw; i++) {
    const px = img.data.subarray(i * img.channels, (i + 1) * img.channels);
    if (channels === img.channels) for (let c = 0; c < channels; c++) plane[c * hw + i] = px[c] / 255;
    else if (channels === 3) for (let c = 0; c < 3; c++) plane[c * hw + i] = px[0] / 255;
    else plane[i] = (0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]) / 255;
  }
  if (img.height !== height || img.width !== width) {
    plane = resizeBilinear({ n: 1, channels, height: img.height, width: img.width, data: plane }, height, width).data;
  }
  out.set(plane, offset);
}

/**
 * Stacks decoded images into an {@link ImageBatch} in [0, 1]: at `size` (default: the first image's height and
 * width) and `channels` (default: 3 if any image is RGB, else 1).
 *
 * @example
 * const batch = imagesToBatch(table.images.slice(0, 64));
 * batch.data.length; // 64 * 1 * 28 * 28 for MNIST
 */
export function imagesToBatch(
  images: readonly Image[],
  opts: { height?: number; width?: number; channels?: number } = {},
): ImageBatch {
  if (images.length === 0) {
    throw new SwitchyardError(
      'E_IMAGE_SIZE',
      'an image batch needs at least one image',
      'pass a non-empty list',
    );
  }
  const height = opts.height ?? images[0].height;
  const width = opts.width ?? images[0].width;
  const channels = opts.channels ?? (images.some((i) => i.channels === 3) ? 3 : 1);
  const size = channels * height * width;
  const data = new Float32Array(images.length * size);
  images.forEach((img, k) => writeImageChw(img, channels, height, width, data, k * size));
  return { n: images.length, channels, height, width, data };
}

/**
 * Turns a batch back into 8-bit images: `range` (default [0, 1]) maps to 0..255, values outside are clipped
 * (e.g. `[-1, 1]` for a diffusion model's samples).
 *
 * @example
 * const imgs = batchToImages(samples, [-1, 1]);
 */
export function batchToImages(b: ImageBatch, range: [number, number] = [0, 1]): Image[] {
  if (b.channels !== 1 && b.channels !== 3) {
    throw new SwitchyardError(
      'E_IMAGE_SIZE',
      `a batch of ${b.channels} channels is not grey (1) or RGB (3)`,
      'pick the channels to show first',
    );
  }
  const hw = b.height * b.width;
  const [lo, hi] = range;
  return Array.from({ length: b.n }, (_, k): Image => {
    const data = new Uint8Array(hw * b.channels);
    for (let c = 0; c < b.channels; c++) {
      const src = (k * b.channels + c) * hw;
      for (let i = 0; i < hw; i++) {
        const unit = Math.min(Math.max((b.data[src + i] - lo) / (hi - lo), 0), 1);
        data[i * b.channels + c] = Math.round(unit * 255);
      }
    }
    return { width: b.width, height: b.height, channels: b.channels as 1 | 3, data };
  });
}
