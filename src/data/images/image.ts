/**
 * One decoded image in memory (8-bit, height × width × channels, grey or RGB) and the two file formats we read and
 * write: PNG (pngjs) and JPEG (jpeg-js), told apart by their magic bytes, not by the file name.
 */
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { SwitchyardError } from '../../util/errors.ts';

/**
 * A decoded 8-bit image: `data` is row-major height × width × channels (HWC), 0..255; `channels` is 1 (grey) or
 * 3 (RGB; an alpha channel is dropped on reading).
 *
 * @example
 * const img: Image = { width: 2, height: 1, channels: 1, data: Uint8Array.of(0, 255) };
 */
export interface Image {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/**
 * The most pixels (width × height) one image file may decode to: 16,777,216 (4096 × 4096). A bigger header is
 * refused before any pixel is decoded, so a tiny file that claims to be huge cannot exhaust memory.
 *
 * @example
 * decodeImage(bytes, 'a.png', { maxPixels: MAX_IMAGE_PIXELS / 4 });
 */
export const MAX_IMAGE_PIXELS = 4096 * 4096;

/**
 * The range of `--max-image-pixels` (train, predict, `train --model unet`, serve), for the `*_RANGES` tables.
 *
 * @example
 * const RANGES = { maxImagePixels: MAX_IMAGE_PIXELS_RANGE };
 */
export const MAX_IMAGE_PIXELS_RANGE = { flag: '--max-image-pixels', min: 1, integer: true } as const;

/**
 * The file formats {@link decodeImage} reads.
 *
 * @example
 * const f: ImageFormat = imageFormatOf(bytes) ?? 'png';
 */
export type ImageFormat = 'png' | 'jpeg';

/**
 * The format of encoded image bytes by their signature, or null when they are neither PNG nor JPEG.
 *
 * @example
 * imageFormatOf(readFileSync('cat.jpg')); // 'jpeg'
 */
export function imageFormatOf(bytes: Uint8Array): ImageFormat | null {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

function badImage(file: string, what: string): SwitchyardError {
  return new SwitchyardError('E_IMAGE', `${file}: ${what}`, 'remove or replace the file (PNG and JPEG are read)');
}

/** Width and height from a PNG's IHDR chunk (bytes 16..23), read before decoding. */
function pngSize(bytes: Uint8Array): [number, number] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return bytes.length >= 24 ? [v.getUint32(16), v.getUint32(20)] : [0, 0];
}

/**
 * Decodes PNG or JPEG bytes into an {@link Image}: grey when every pixel has R = G = B, else RGB; alpha is
 * dropped. Anything else, a damaged file, or one over `maxPixels` (default {@link MAX_IMAGE_PIXELS}) throws
 * `E_IMAGE` naming `file`.
 *
 * @param bytes the file's contents
 * @param file the name used in error messages
 * @param opts `maxPixels`: refuse larger images
 * @example
 * const img = decodeImage(readFileSync('digits/7/001.png'), 'digits/7/001.png');
 * img.width; // 28
 */
export function decodeImage(bytes: Uint8Array, file: string, opts: { maxPixels?: number } = {}): Image {
  const maxPixels = opts.maxPixels ?? MAX_IMAGE_PIXELS;
  const format = imageFormatOf(bytes);
  if (format === null) throw badImage(file, 'not a PNG or JPEG image (unsupported or unknown format)');
  let rgba: Uint8Array;
  let width: number;
  let height: number;
  try {
    if (format === 'png') {
      [width, height] = pngSize(bytes);
      const over = `${width}x${height} pixels is over the limit of ${maxPixels}`;
      if (width * height > maxPixels) throw badImage(file, over);
      const png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      ({ width, height } = png);
      rgba = png.data;
    } else {
      const maxResolutionInMP = maxPixels / 1e6;
      const limits = { maxResolutionInMP, maxMemoryUsageInMB: 1024 };
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, ...limits });
      ({ width, height } = img);
      rgba = img.data;
    }
  } catch (e) {
    if (e instanceof SwitchyardError) throw e;
    const overLimit = /maxResolutionInMP/.test(String((e as Error).message));
    if (overLimit) throw badImage(file, `a JPEG image over the limit of ${maxPixels} pixels`);
    const raw = (e as Error).message?.split('\n')[0] || String(e);
    // pngjs reports a truncated file as a stream error; say what it means.
    const why = /finished stream|unexpected end/i.test(raw) ? 'the file ends early' : raw;
    throw badImage(file, `a damaged ${format === 'png' ? 'PNG' : 'JPEG'} image (${why})`);
  }
  if (!(width > 0 && height > 0)) throw badImage(file, `a ${format.toUpperCase()} image with no pixels`);
  return fromRgba(rgba, width, height);
}

/** RGBA bytes to an {@link Image}: grey if every pixel is grey, else RGB. */
function fromRgba(rgba: Uint8Array, width: number, height: number): Image {
  const n = width * height;
  let grey = true;
  for (let i = 0; i < n && grey; i++) grey = rgba[4 * i] === rgba[4 * i + 1] && rgba[4 * i] === rgba[4 * i + 2];
  const channels = grey ? 1 : 3;
  const data = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) data[i * channels + c] = rgba[4 * i + c];
  return { width, height, channels, data };
}

/** An {@link Image} as RGBA bytes (grey replicated, alpha 255). */
function toRgba(img: Image): Buffer {
  const n = img.width * img.height;
  const out = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[4 * i + c] = img.data[i * img.channels + (img.channels === 1 ? 0 : c)];
    out[4 * i + 3] = 255;
  }
  return out;
}

/**
 * Encodes an {@link Image} as PNG bytes (greyscale PNG for one channel, RGB for three).
 *
 * @example
 * writeFileSync('x.png', encodePng({ width: 1, height: 1, channels: 1, data: Uint8Array.of(128) }));
 */
export function encodePng(img: Image): Uint8Array {
  const png = new pngjs.PNG({ width: img.width, height: img.height });
  png.data = toRgba(img);
  return pngjs.PNG.sync.write(png, { colorType: img.channels === 1 ? 0 : 2 });
}

/**
 * Encodes an {@link Image} as baseline JPEG bytes (lossy; `quality` 1..100, default 90).
 *
 * @example
 * writeFileSync('x.jpg', encodeJpeg(img, 95));
 */
export function encodeJpeg(img: Image, quality = 90): Uint8Array {
  return jpeg.encode({ data: toRgba(img), width: img.width, height: img.height }, quality).data;
}
