/**
 * The image column of the tabular encoder: each image becomes `channels × height × width` features (CHW order,
 * so a conv net can reshape them back), resized to the fitted size and standardised per channel with the
 * training images' mean and standard deviation. This is how `switchyard train` fits an MLP on MNIST.
 */
import { SwitchyardError } from '../../util/errors.ts';
import type { Table } from '../csv.ts';
import type { ColumnInfo } from '../schema.ts';
import { writeImageChw } from './batch.ts';
import { isImageTable } from './folder.ts';
import type { Image } from './image.ts';

/**
 * A fitted image column: the size every image is resized to and the per-channel statistics (of values in [0, 1])
 * it is standardised with.
 *
 * @example
 * const f: ImageFeature = {
 *   kind: 'image', column: 'image', channels: 1, height: 28, width: 28, mean: [0.13], std: [0.31],
 * };
 */
export interface ImageFeature {
  kind: 'image';
  column: string;
  channels: 1 | 3;
  height: number;
  width: number;
  mean: number[];
  std: number[];
}

function imagesOf(table: Table, column: string): Image[] {
  if (isImageTable(table)) return table.images;
  throw new SwitchyardError(
    'E_IMAGE_DATA',
    `${table.file}: column '${column}' of the model holds images, but this data is a table`,
    'pass a folder of PNG/JPEG images or a built-in dataset (mnist, fashion-mnist) as --data',
  );
}

/**
 * Fits the image feature of column `col` of an image table: the most common size among the images, RGB if any
 * image is, and the per-channel mean and standard deviation of all pixels.
 *
 * @example
 * const f = fitImageFeature(table, schema.columns[0]); // { kind: 'image', height: 28, width: 28, mean: [0.13], ... }
 */
export function fitImageFeature(table: Table, col: ColumnInfo): ImageFeature {
  const images = imagesOf(table, col.name);
  const sizes = new Map<string, number>();
  for (const img of images) sizes.set(`${img.height}x${img.width}`, (sizes.get(`${img.height}x${img.width}`) ?? 0) + 1);
  const [height, width] = [...sizes.entries()].sort((a, b) => b[1] - a[1])[0][0].split('x').map(Number);
  const channels = images.some((i) => i.channels === 3) ? 3 : 1;
  const size = channels * height * width;
  const one = new Float32Array(size);
  const sum = new Float64Array(channels);
  const sq = new Float64Array(channels);
  for (const img of images) {
    writeImageChw(img, channels, height, width, one, 0);
    for (let i = 0; i < size; i++) {
      const c = Math.floor(i / (height * width));
      sum[c] += one[i];
      sq[c] += one[i] * one[i];
    }
  }
  const count = images.length * height * width;
  const mean = Array.from(sum, (s) => s / count);
  const std = Array.from(sq, (s, c) => Math.sqrt(Math.max(s / count - mean[c] ** 2, 0))).map((s) => (s > 1e-6 ? s : 1));
  return { kind: 'image', column: col.name, channels, height, width, mean, std };
}

/**
 * Output feature names of an image feature: `image[c,y,x]` in CHW order.
 *
 * @example
 * const spec: ImageFeature = { kind: 'image', column: 'image', channels: 1, height: 1, width: 2, mean: [0], std: [1] };
 * imageFeatureNames(spec); // ['image[0,0,0]', 'image[0,0,1]']
 */
export function imageFeatureNames(spec: ImageFeature): string[] {
  const names: string[] = [];
  for (let c = 0; c < spec.channels; c++) {
    for (let y = 0; y < spec.height; y++) {
      for (let x = 0; x < spec.width; x++) names.push(`${spec.column}[${c},${y},${x}]`);
    }
  }
  return names;
}

/**
 * The writer of an image feature: each row's image, resized and standardised, into the feature matrix.
 *
 * @example
 * makeImageWriter(spec)(table, 0, x, 0, 784);
 */
export function makeImageWriter(
  spec: ImageFeature,
): (table: Table, j: number, x: Float32Array, offset: number, stride: number) => void {
  const { channels, height, width, mean, std } = spec;
  const hw = height * width;
  return (table, _j, x, offset, stride) => {
    const images = imagesOf(table, spec.column);
    for (let r = 0, o = offset; r < images.length; r++, o += stride) {
      writeImageChw(images[r], channels, height, width, x, o);
      for (let i = 0; i < channels * hw; i++) {
        const c = Math.floor(i / hw);
        x[o + i] = (x[o + i] - mean[c]) / std[c];
      }
    }
  };
}

/**
 * Checks the fields of a parsed image feature spec, calling `bad` with what is wrong.
 *
 * @example
 * checkImageFeature(JSON.parse(text), (what) => { throw new Error(what); });
 */
export function checkImageFeature(o: Record<string, unknown>, bad: (what: string) => never): ImageFeature {
  const dim = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 4096;
  if (o.channels !== 1 && o.channels !== 3) return bad('image channels must be 1 or 3');
  if (!dim(o.height) || !dim(o.width)) return bad('image height and width must be integers in 1..4096');
  const stats = (v: unknown, positive: boolean) =>
    Array.isArray(v) && v.length === o.channels &&
    v.every((s) => typeof s === 'number' && Number.isFinite(s) && (!positive || s > 0));
  if (!stats(o.mean, false) || !stats(o.std, true)) return bad('image mean/std: one number per channel, std > 0');
  return o as unknown as ImageFeature;
}
