/**
 * A folder of PNG/JPEG images as an {@link ImageTable}: one row per image, recursively, in sorted path order; the
 * label of an image is the name of its sub-folder under the root (`digits/7/a.png` is a `7`). Images directly in
 * the root have no label (a folder to predict on).
 */
import { readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { SwitchyardError } from '../../util/errors.ts';
import type { Table } from '../csv.ts';
import { listTextFiles as listFiles } from '../readers/text-folder.ts';
import { decodeImage, type Image } from './image.ts';

/**
 * A {@link Table} whose `image` column names images held decoded in `images` (row order), with a `label` column
 * when the source has labels; `dataset` records a built-in dataset's split (see builtin.ts).
 *
 * @example
 * const t: ImageTable = await readImageFolder('digits/');
 * t.images[0].width; // 28
 */
export interface ImageTable extends Table {
  images: Image[];
  dataset?: DatasetSplitRecord;
}

/**
 * How a built-in dataset was split, as a run's config records it: the split's seed and sizes, and a SHA-256
 * fingerprint of the ids in the test part (the same fingerprint means the same split).
 *
 * @example
 * table.dataset; // { name: 'mnist', split: 'train', seed: 0, sizes: { train: 8000, test: 2000 }, fingerprint: '…' }
 */
export interface DatasetSplitRecord {
  name: string;
  split: 'train' | 'test';
  seed: number;
  sizes: { train: number; test: number };
  fingerprint: string;
}

/** The name of the image column of an {@link ImageTable}. */
export const IMAGE_COLUMN = 'image';
/** The name of the label column of an {@link ImageTable}. */
export const LABEL_COLUMN = 'label';

/** File extensions that mark a folder as a folder of images. */
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.gif', '.bmp', '.webp', '.tif', '.tiff']);

/**
 * Whether a table holds decoded images (came from {@link readImageFolder} or a built-in dataset).
 *
 * @example
 * if (isImageTable(table)) table.images.length;
 */
export function isImageTable(t: Table): t is ImageTable {
  return Array.isArray((t as Partial<ImageTable>).images);
}

/**
 * Whether `dir` is a folder of images: a directory holding at least one file with an image extension
 * (`.png`, `.jpg`, `.jpeg`, or another image format, which the reader then refuses by name).
 *
 * @example
 * isImageFolder('digits/'); // true
 */
export function isImageFolder(dir: string): boolean {
  try {
    if (!statSync(dir).isDirectory()) return false;
  } catch {
    return false;
  }
  return listFiles(dir).some((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()));
}

/**
 * Reads every image under `dir` (hidden entries skipped) into an {@link ImageTable} with columns `image` (the path
 * relative to `dir`) and, when the images sit in sub-folders, `label` (the sub-folder's name). A file that is not
 * a PNG or JPEG image, or a damaged one, throws `E_IMAGE` naming it; images both in the root and in sub-folders
 * throw `E_IMAGE_LABELS`; an empty folder `E_CSV_EMPTY`.
 *
 * @param dir the folder
 * @param opts `limit`: read at most this many images; `maxPixels`: the per-image limit of decodeImage
 * @example
 * const t = await readImageFolder('digits/'); // digits/0/*.png, digits/1/*.png, ...
 * t.columns; // ['image', 'label']
 */
export async function readImageFolder(
  dir: string,
  opts: { limit?: number; maxPixels?: number } = {},
): Promise<ImageTable> {
  const files = listFiles(dir).slice(0, opts.limit ?? Infinity);
  if (files.length === 0) {
    throw new SwitchyardError(
      'E_CSV_EMPTY',
      `${dir}: the folder has no images`,
      'pass a folder of PNG or JPEG files',
    );
  }
  const names = files.map((f) => relative(dir, f).split(sep).join('/'));
  const nested = names.filter((n) => n.includes('/')).length;
  if (nested > 0 && nested < names.length) {
    const top = names.find((n) => !n.includes('/'))!;
    throw new SwitchyardError(
      'E_IMAGE_LABELS',
      `${join(dir, top)}: an image in the root of a folder whose other images sit in label sub-folders`,
      'move it into the sub-folder of its label (or keep all images in the root for unlabelled data)',
    );
  }
  const images = files.map((f) => decodeImage(readFileSync(f), f, opts));
  const rows = names.map((n) => (nested ? [n, n.slice(0, n.indexOf('/'))] : [n]));
  const columns = nested ? [IMAGE_COLUMN, LABEL_COLUMN] : [IMAGE_COLUMN];
  return { file: dir, columns, rows, lines: rows.map(() => 1), images };
}
