/**
 * A grid of images written as one PNG: for looking at samples and at a dataset.
 */
import { SwitchyardError } from '../../util/errors.ts';
import { writeFileAtomic } from '../../util/fs.ts';
import { batchToImages, type ImageBatch } from './batch.ts';
import { encodePng, type Image } from './image.ts';

/**
 * Lays images out in `cols` columns (row by row, `padding` pixels of black between and around them) as one
 * {@link Image}. All images must have the same size; grey ones join an RGB grid as grey.
 *
 * @param images decoded images, or a batch (values in `range`, default [0, 1])
 * @param cols images per row (>= 1)
 * @param opts `padding` (default 2), `range` of a batch's values (default [0, 1])
 * @example
 * const grid = imageGrid(batch, 8, { range: [-1, 1] });
 */
export function imageGrid(
  images: readonly Image[] | ImageBatch,
  cols: number,
  opts: { padding?: number; range?: [number, number] } = {},
): Image {
  const list = Array.isArray(images) ? (images as readonly Image[]) : batchToImages(images as ImageBatch, opts.range);
  if (list.length === 0) {
    throw new SwitchyardError(
      'E_IMAGE_SIZE',
      'an image grid needs at least one image',
      'pass a non-empty list',
    );
  }
  if (!(Number.isInteger(cols) && cols >= 1)) {
    throw new SwitchyardError(
      'E_RANGE',
      `image grid: cols ${cols} is not an integer >= 1`,
      'e.g. 8',
    );
  }
  const pad = opts.padding ?? 2;
  const { width: w, height: h } = list[0];
  const odd = list.findIndex((i) => i.width !== w || i.height !== h);
  if (odd >= 0) {
    throw new SwitchyardError(
      'E_IMAGE_SIZE',
      `image grid: image ${odd} is ${list[odd].width}x${list[odd].height}, image 0 is ${w}x${h}`,
      'resize them to one size first',
    );
  }
  const channels = list.some((i) => i.channels === 3) ? 3 : 1;
  const rows = Math.ceil(list.length / cols);
  const width = cols * (w + pad) + pad;
  const height = rows * (h + pad) + pad;
  const data = new Uint8Array(width * height * channels);
  list.forEach((img, k) => {
    const top = pad + Math.floor(k / cols) * (h + pad);
    const left = pad + (k % cols) * (w + pad);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < channels; c++) {
          const v = img.data[(y * w + x) * img.channels + (img.channels === 1 ? 0 : c)];
          data[((top + y) * width + left + x) * channels + c] = v;
        }
      }
    }
  });
  return { width, height, channels, data };
}

/**
 * Writes images as one PNG grid of `cols` columns (see {@link imageGrid}), atomically (a temp file renamed).
 *
 * @param images decoded images, or a batch (values in `opts.range`, default [0, 1])
 * @param cols images per row
 * @param file the PNG file to write
 * @example
 * await writeImageGrid(samples, 8, 'samples.png', { range: [-1, 1] });
 */
export async function writeImageGrid(
  images: readonly Image[] | ImageBatch,
  cols: number,
  file: string,
  opts: { padding?: number; range?: [number, number] } = {},
): Promise<{ width: number; height: number }> {
  const grid = imageGrid(images, cols, opts);
  await writeFileAtomic(file, encodePng(grid));
  return { width: grid.width, height: grid.height };
}
