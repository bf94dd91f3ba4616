/**
 * Image transforms as plain functions of a batch and a seeded {@link Rng}: resize, normalise, random flips, random
 * crops with padding, and brightness/contrast/saturation jitter. They compose with {@link composeTransforms}; the
 * same seed gives the same batch (each image draws its randomness in order from the one generator).
 */
import { SwitchyardError } from '../../util/errors.ts';
import { Rng } from '../../util/rng.ts';
import { type ImageBatch, resizeBilinear } from './batch.ts';

/**
 * A transform: a new batch from a batch (the input is never changed), drawing any randomness from `rng`.
 *
 * @example
 * const t: ImageTransform = (b) => b;
 */
export type ImageTransform = (batch: ImageBatch, rng: Rng) => ImageBatch;

/**
 * Runs transforms left to right, sharing one generator.
 *
 * @example
 * const augment = composeTransforms(randomCrop({ padding: 2 }), randomFlip(), normalize([0.13], [0.31]));
 */
export function composeTransforms(...transforms: ImageTransform[]): ImageTransform {
  return (batch, rng) => transforms.reduce((b, t) => t(b, rng), batch);
}

/**
 * Applies a transform with a fresh generator seeded by `seed`: the same seed and batch give the same result.
 *
 * @example
 * const a = applyTransform(augment, batch, 7); // equal to applyTransform(augment, batch, 7)
 */
export function applyTransform(t: ImageTransform, batch: ImageBatch, seed: number): ImageBatch {
  return t(batch, new Rng(seed));
}

function checkProbability(p: number, what: string): void {
  if (!(p >= 0 && p <= 1)) {
    throw new SwitchyardError(
      'E_RANGE',
      `${what}: probability ${p} is not in [0, 1]`,
      'e.g. 0.5',
    );
  }
}

/**
 * Resizes every image to `height` × `width` (bilinear; see {@link resizeBilinear}).
 *
 * @example
 * composeTransforms(resize(32, 32), normalize([0.5], [0.5]));
 */
export function resize(height: number, width: number = height): ImageTransform {
  return (b) => resizeBilinear(b, height, width);
}

/**
 * Standardises each channel: `(x - mean[c]) / std[c]` (one entry per channel, or one for all).
 *
 * @example
 * normalize([0.1307], [0.3081]); // the classic MNIST statistics
 */
export function normalize(mean: readonly number[], std: readonly number[]): ImageTransform {
  if (std.some((s) => !(s > 0))) {
    throw new SwitchyardError(
      'E_RANGE',
      `normalize: std ${std.join(', ')} must be > 0`,
      'e.g. normalize([0.5], [0.5])',
    );
  }
  return (b) => {
    const pick = (v: readonly number[], c: number, what: string) => {
      if (v.length !== 1 && v.length !== b.channels) {
        throw new SwitchyardError(
          'E_IMAGE_SIZE',
          `normalize: ${v.length} ${what} values for ${b.channels} channels`,
          'give one per channel, or one for all',
        );
      }
      return v.length === 1 ? v[0] : v[c];
    };
    const hw = b.height * b.width;
    const out = new Float32Array(b.data.length);
    for (let k = 0; k < b.n * b.channels; k++) {
      const c = k % b.channels;
      const m = pick(mean, c, 'mean');
      const s = pick(std, c, 'std');
      for (let i = k * hw; i < (k + 1) * hw; i++) out[i] = (b.data[i] - m) / s;
    }
    return { ...b, data: out };
  };
}

/**
 * Mirrors image `k` of a batch in place: left-right (`horizontal`) or top-bottom.
 */
function flipOne(b: ImageBatch, out: Float32Array, k: number, horizontal: boolean): void {
  const { width: w, height: h } = b;
  for (let c = 0; c < b.channels; c++) {
    const base = (k * b.channels + c) * h * w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const from = horizontal ? base + y * w + (w - 1 - x) : base + (h - 1 - y) * w + x;
        out[base + y * w + x] = b.data[from];
      }
    }
  }
}

/**
 * Flips each image with probability `p` (default 0.5): left-right, or top-bottom with `vertical: true`.
 * `p: 1` flips every image (so flipping twice is the identity).
 *
 * @example
 * randomFlip({ p: 0.5 }); randomFlip({ vertical: true, p: 1 });
 */
export function randomFlip(opts: { p?: number; vertical?: boolean } = {}): ImageTransform {
  const p = opts.p ?? 0.5;
  checkProbability(p, 'randomFlip');
  return (b, rng) => {
    const out = Float32Array.from(b.data);
    for (let k = 0; k < b.n; k++) if (rng.next() < p) flipOne(b, out, k, !opts.vertical);
    return { ...b, data: out };
  };
}

/**
 * Pads each image by `padding` pixels of `fill` on every side, then crops a random `height` × `width` window
 * (default: the original size, so the shape is kept and the content shifts by up to `padding` pixels).
 *
 * @example
 * randomCrop({ padding: 4 }); // the CIFAR-style shift augmentation
 */
export function randomCrop(
  opts: { padding?: number; height?: number; width?: number; fill?: number } = {},
): ImageTransform {
  const pad = opts.padding ?? 0;
  if (!(Number.isInteger(pad) && pad >= 0)) {
    throw new SwitchyardError(
      'E_RANGE',
      `randomCrop: padding ${pad} is not an integer >= 0`,
      'e.g. padding: 4',
    );
  }
  return (b, rng) => {
    const h = opts.height ?? b.height;
    const w = opts.width ?? b.width;
    if (!(h >= 1 && w >= 1 && h <= b.height + 2 * pad && w <= b.width + 2 * pad)) {
      throw new SwitchyardError(
        'E_IMAGE_SIZE',
        `randomCrop: a ${h}x${w} crop does not fit a ${b.height}x${b.width} image padded by ${pad}`,
        'crop smaller or pad more',
      );
    }
    const out = new Float32Array(b.n * b.channels * h * w);
    for (let k = 0; k < b.n; k++) {
      const top = rng.int(b.height + 2 * pad - h + 1) - pad;
      const left = rng.int(b.width + 2 * pad - w + 1) - pad;
      for (let c = 0; c < b.channels; c++) {
        const src = (k * b.channels + c) * b.height * b.width;
        const dst = (k * b.channels + c) * h * w;
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const sy = y + top;
            const sx = x + left;
            const inside = sy >= 0 && sy < b.height && sx >= 0 && sx < b.width;
            out[dst + y * w + x] = inside ? b.data[src + sy * b.width + sx] : (opts.fill ?? 0);
          }
        }
      }
    }
    return { ...b, height: h, width: w, data: out };
  };
}

/**
 * Random photometric jitter per image, for values in [0, 1] (apply before {@link normalize}); each factor is drawn
 * uniformly from [1 - s, 1 + s]: `brightness` scales the pixels, `contrast` blends with the image's mean, and
 * `saturation` (RGB only) blends with its grey version. Results are clipped to [0, 1]; a strength of 0 is the
 * identity.
 *
 * @example
 * colorJitter({ brightness: 0.2, contrast: 0.2, saturation: 0.2 });
 */
export function colorJitter(opts: { brightness?: number; contrast?: number; saturation?: number }): ImageTransform {
  const strengths = [opts.brightness ?? 0, opts.contrast ?? 0, opts.saturation ?? 0];
  if (strengths.some((s) => !(s >= 0 && s <= 1))) {
    throw new SwitchyardError(
      'E_RANGE',
      `colorJitter: strengths ${strengths.join(', ')} must be in [0, 1]`,
      'e.g. brightness: 0.2',
    );
  }
  const factor = (s: number, rng: Rng) => (s > 0 ? 1 - s + 2 * s * rng.next() : 1);
  return (b, rng) => {
    const out = Float32Array.from(b.data);
    const hw = b.height * b.width;
    const size = b.channels * hw;
    for (let k = 0; k < b.n; k++) {
      const [bf, cf, sf] = strengths.map((s) => factor(s, rng));
      const img = out.subarray(k * size, (k + 1) * size);
      for (let i = 0; i < size; i++) img[i] = Math.min(Math.max(img[i] * bf, 0), 1);
      let mean = 0;
      for (let i = 0; i < size; i++) mean += img[i];
      mean /= size;
      for (let i = 0; i < size; i++) img[i] = Math.min(Math.max(mean + (img[i] - mean) * cf, 0), 1);
      if (b.channels === 3 && sf !== 1) {
        for (let i = 0; i < hw; i++) {
          const grey = 0.299 * img[i] + 0.587 * img[hw + i] + 0.114 * img[2 * hw + i];
          for (let c = 0; c < 3; c++) img[c * hw + i] = Math.min(Math.max(grey + (img[c * hw + i] - grey) * sf, 0), 1);
        }
      }
    }
    return { ...b, data: out };
  };
}

/**
 * SimCLR's random resized crop: per image, a box of a random share of the area (`scale`, default [0.35, 1]) and
 * aspect ratio (`ratio`, default [3/4, 4/3], log-uniform; clipped to the image) is cut out and resized back to the
 * image's size by bilinear sampling. The batch keeps its shape.
 *
 * @example
 * composeTransforms(randomResizedCrop({ scale: [0.35, 1] }), colorJitter({ brightness: 0.4, contrast: 0.4 }));
 */
export function randomResizedCrop(
  opts: { scale?: [number, number]; ratio?: [number, number] } = {},
): ImageTransform {
  const [smin, smax] = opts.scale ?? [0.35, 1];
  const [rmin, rmax] = opts.ratio ?? [3 / 4, 4 / 3];
  if (!(smin > 0 && smin <= smax && smax <= 1 && rmin > 0 && rmin <= rmax)) {
    const what = `randomResizedCrop: scale [${smin}, ${smax}], ratio [${rmin}, ${rmax}]`;
    throw new SwitchyardError('E_RANGE', what, 'scale within (0, 1], ratio > 0, each [low, high]');
  }
  return (b, rng) => {
    const { height: h, width: w } = b;
    const out = new Float32Array(b.data.length);
    for (let k = 0; k < b.n; k++) {
      const area = h * w * (smin + (smax - smin) * rng.next());
      const aspect = Math.exp(Math.log(rmin) + (Math.log(rmax) - Math.log(rmin)) * rng.next());
      const bw = Math.min(w, Math.sqrt(area * aspect));
      const bh = Math.min(h, Math.sqrt(area / aspect));
      const top = (h - bh) * rng.next();
      const left = (w - bw) * rng.next();
      for (let c = 0; c < b.channels; c++) {
        const base = (k * b.channels + c) * h * w;
        for (let y = 0; y < h; y++) {
          // Pixel centres of the output mapped into the box (align_corners=False), clamped to the image.
          const sy = Math.min(Math.max(top + ((y + 0.5) * bh) / h - 0.5, 0), h - 1);
          const y0 = Math.floor(sy);
          const y1 = Math.min(y0 + 1, h - 1);
          const fy = sy - y0;
          for (let x = 0; x < w; x++) {
            const sx = Math.min(Math.max(left + ((x + 0.5) * bw) / w - 0.5, 0), w - 1);
            const x0 = Math.floor(sx);
            const x1 = Math.min(x0 + 1, w - 1);
            const fx = sx - x0;
            const at = (yy: number, xx: number) => b.data[base + yy * w + xx];
            const upper = at(y0, x0) * (1 - fx) + at(y0, x1) * fx;
            const lower = at(y1, x0) * (1 - fx) + at(y1, x1) * fx;
            out[base + y * w + x] = upper * (1 - fy) + lower * fy;
          }
        }
      }
    }
    return { ...b, data: out };
  };
}
