/**
 * Seeded corruptions of decoded images, the pixel counterpart of the tabular corruptions: Gaussian noise, blur,
 * brightness and contrast changes, small shifts and rotations. They change the 8-bit images themselves, so a
 * model sees them through its own feature transform (resize, standardise), as it would a camera's bad day.
 */
import type { Image } from '../data/images/image.ts';
import { Rng } from '../util/rng.ts';

/**
 * Names of the image corruptions.
 *
 * @example
 * const k: ImageCorruption = 'blur';
 */
export type ImageCorruption = 'image-noise' | 'blur' | 'brightness' | 'contrast' | 'shift' | 'rotation';

/**
 * Every image corruption with the severities eval runs it at: noise std and brightness offset in units of the
 * pixel range [0, 1], blur sigma in pixels, contrast as the share of contrast removed, shift as the largest offset
 * in pixels, rotation as the largest angle in degrees.
 *
 * @example
 * for (const [kind, severities] of Object.entries(IMAGE_CORRUPTIONS)) severities.length; // 3
 */
export const IMAGE_CORRUPTIONS: Readonly<Record<ImageCorruption, readonly number[]>> = {
  'image-noise': [0.05, 0.1, 0.2],
  blur: [0.5, 1, 2],
  brightness: [0.1, 0.2, 0.4],
  contrast: [0.3, 0.5, 0.7],
  shift: [1, 2, 3],
  rotation: [10, 20, 30],
};

/** An image's layout with any numbers as its pixels (8-bit, or floats between the passes of a blur). */
type Pixels = Omit<Image, 'data'> & { data: ArrayLike<number> };

/** Pixel value of channel `c` at (x, y), coordinates clamped to the border (edges repeat). */
function at(img: Pixels, x: number, y: number, c: number): number {
  const xi = Math.min(Math.max(x, 0), img.width - 1);
  const yi = Math.min(Math.max(y, 0), img.height - 1);
  return img.data[(yi * img.width + xi) * img.channels + c];
}

/** Bilinear sample of channel `c` at real coordinates (pixel centres at integers), edges repeated. */
function bilinear(img: Image, x: number, y: number, c: number): number {
  const [x0, y0] = [Math.floor(x), Math.floor(y)];
  const [fx, fy] = [x - x0, y - y0];
  const top = at(img, x0, y0, c) * (1 - fx) + at(img, x0 + 1, y0, c) * fx;
  const bottom = at(img, x0, y0 + 1, c) * (1 - fx) + at(img, x0 + 1, y0 + 1, c) * fx;
  return top * (1 - fy) + bottom * fy;
}

/** A new image of the same size whose pixel (x, y, c) is `f(x, y, c)`, rounded and clipped to 0..255. */
function mapPixels(img: Image, f: (x: number, y: number, c: number) => number): Image {
  const data = new Uint8Array(img.data.length);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      for (let c = 0; c < img.channels; c++) {
        data[(y * img.width + x) * img.channels + c] = Math.min(255, Math.max(0, Math.round(f(x, y, c))));
      }
    }
  }
  return { width: img.width, height: img.height, channels: img.channels, data };
}

/** Separable Gaussian blur with standard deviation `sigma` pixels (kernel radius ceil(3 sigma)). */
function blur(img: Image, sigma: number): Image {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = k.reduce((a, b) => a + b, 0);
  const w = k.map((v) => v / sum);
  const pass = (src: Pixels, dx: number, dy: number) => {
    const out = new Float64Array(src.data.length);
    for (let y = 0; y < src.height; y++) {
      for (let x = 0; x < src.width; x++) {
        for (let c = 0; c < src.channels; c++) {
          let v = 0;
          for (let i = -r; i <= r; i++) v += w[i + r] * at(src, x + i * dx, y + i * dy, c);
          out[(y * src.width + x) * src.channels + c] = v;
        }
      }
    }
    return out;
  };
  // The vertical pass reads the horizontal one unrounded.
  const vertical = pass({ ...img, data: pass(img, 1, 0) }, 0, 1);
  return mapPixels(img, (x, y, c) => vertical[(y * img.width + x) * img.channels + c]);
}

/** One image corrupted by `kind` at `severity`, drawing its randomness (direction, angle, noise) from `rng`. */
function corruptOne(img: Image, kind: ImageCorruption, severity: number, rng: Rng): Image {
  switch (kind) {
    case 'image-noise':
      return mapPixels(img, (x, y, c) => at(img, x, y, c) + rng.normal() * severity * 255);
    case 'blur':
      return blur(img, severity);
    case 'brightness': {
      const delta = (rng.next() < 0.5 ? -1 : 1) * severity * 255;
      return mapPixels(img, (x, y, c) => at(img, x, y, c) + delta);
    }
    case 'contrast': {
      const mean = img.data.reduce((a, b) => a + b, 0) / img.data.length;
      return mapPixels(img, (x, y, c) => mean + (1 - severity) * (at(img, x, y, c) - mean));
    }
    case 'shift': {
      const dx = rng.int(2 * severity + 1) - severity;
      const dy = rng.int(2 * severity + 1) - severity;
      return mapPixels(img, (x, y, c) => at(img, x - dx, y - dy, c));
    }
    case 'rotation': {
      const angle = ((rng.next() * 2 - 1) * severity * Math.PI) / 180;
      const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
      const [cx, cy] = [(img.width - 1) / 2, (img.height - 1) / 2];
      // Each output pixel reads the input at its position rotated back about the centre.
      return mapPixels(img, (x, y, c) => {
        const [u, v] = [x - cx, y - cy];
        return bilinear(img, cx + cos * u + sin * v, cy - sin * u + cos * v, c);
      });
    }
  }
}

/**
 * Corrupted copies of `images` (the inputs are not modified): see {@link IMAGE_CORRUPTIONS} for what `severity`
 * means per kind. Shifts and rotations draw a direction per image (edges repeat into the uncovered border);
 * brightness a sign per image. The same seed gives the same images.
 *
 * @example
 * const blurred = corruptImages(table.images, 'blur', 1, 17);
 */
export function corruptImages(
  images: readonly Image[], kind: ImageCorruption, severity: number, seed: number,
): Image[] {
  const rng = new Rng(seed);
  return images.map((img) => corruptOne(img, kind, severity, rng));
}
