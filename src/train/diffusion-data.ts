/**
 * The images a diffusion run trains on: a built-in dataset or a folder of PNG/JPEG files (labels from the
 * sub-folders), resized to one square size and channel count and scaled to [-1, 1].
 */
import { requireInput, readTable } from '../data/readers/index.ts';
import { type DatasetSplitRecord, imagesToBatch, isImageTable, LABEL_COLUMN } from '../data/images/index.ts';
import { SwitchyardError } from '../util/errors.ts';

/** Training images of a diffusion run, from {@link readDiffusionImages}. */
export interface DiffusionImages {
  /** Images, NCHW, in [-1, 1] (in [0, 1] with `unit`). */
  x0: Float32Array;
  n: number;
  /** [channels, height, width] of one image. */
  image: [number, number, number];
  /** Each image's label (the sub-folder's name), or null when the images have none. */
  labels: string[] | null;
  /** The split record of a built-in dataset. */
  dataset?: DatasetSplitRecord;
}

/**
 * Reads `data` (`mnist`, `fashion-mnist[:test]` or a folder of images) and resizes every image (bilinear) to
 * `size` x `size` with `channels` channels (default: 3 if any image is RGB, else 1), scaled to [-1, 1] (kept in
 * [0, 1] with `unit`: the conv encoder and classifier take those). Anything that is not
 * images is `E_USAGE` naming `--data`; an image over `maxImagePixels` is refused before it is decoded.
 *
 * @example
 * const { x0, image } = await readDiffusionImages('photos/', { size: 32, channels: 3 });
 */
export async function readDiffusionImages(
  data: string, opts: { size: number; channels?: number; limit?: number; maxImagePixels?: number; unit?: boolean },
): Promise<DiffusionImages> {
  requireInput(data, '--data');
  const table = await readTable(data, { limit: opts.limit, maxImagePixels: opts.maxImagePixels });
  if (!isImageTable(table)) {
    const hint = 'pass --data mnist, --data fashion-mnist or a folder of PNG/JPEG images (labels from sub-folders)';
    throw new SwitchyardError('E_USAGE', `--data ${data}: not images (this model trains on images)`, hint);
  }
  if (opts.channels !== undefined && opts.channels !== 1 && opts.channels !== 3) {
    throw new SwitchyardError('E_USAGE', `--channels ${opts.channels}: not 1 (grey) or 3 (RGB)`, 'e.g. --channels 3');
  }
  const batch = imagesToBatch(table.images, { height: opts.size, width: opts.size, channels: opts.channels });
  const labelAt = table.columns.indexOf(LABEL_COLUMN);
  return {
    x0: opts.unit ? batch.data : batch.data.map((v) => v * 2 - 1),
    n: batch.n,
    image: [batch.channels, batch.height, batch.width],
    labels: labelAt < 0 ? null : table.rows.map((r) => String(r[labelAt])),
    dataset: table.dataset,
  };
}
