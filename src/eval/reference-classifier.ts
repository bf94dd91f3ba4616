/**
 * The shipped reference classifier of the classifier FID: a {@link ConvClassifier} trained once, with a fixed seed
 * and recipe, on the training split of the built-in MNIST (scripts/train-reference-classifier.ts retrains it). Its
 * weights live in `assets/reference/mnist-classifier.safetensors`; the JSON beside them records the architecture,
 * the recipe, the test accuracy and the weights' SHA-256, which every load checks.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { imagesToBatch, type ImageBatch } from '../data/images/batch.ts';
import { readBuiltinImages } from '../data/images/builtin.ts';
import { ConvClassifier, type ConvClassifierConfig } from '../models/conv-classifier.ts';
import { loadSafetensors } from '../runtime/safetensors.ts';
import type { ConvClassifierRecipe } from '../train/image-classifier.ts';
import { SwitchyardError } from '../util/errors.ts';
import { sha256Bytes } from '../util/fs.ts';

/**
 * Folder of the shipped reference weights and their records (`assets/reference/` of the package).
 *
 * @example
 * join(REFERENCE_DIR, 'mnist-classifier.json');
 */
export const REFERENCE_DIR = fileURLToPath(new URL('../../assets/reference/', import.meta.url));

/**
 * The recipe the MNIST reference classifier was trained with (scripts/train-reference-classifier.ts).
 *
 * @example
 * await trainConvClassifier(model, images, labels, MNIST_REFERENCE_RECIPE);
 */
export const MNIST_REFERENCE_RECIPE: ConvClassifierRecipe = {
  seed: 0,
  steps: 750,
  batchSize: 64,
  lr: 2e-3,
  weightDecay: 0.01,
  threads: 1,
};

/** The record written beside the reference weights. */
export interface ReferenceRecord {
  /** What it is: `reference classifier of the classifier FID (not Inception)`. */
  description: string;
  /** Weights file name in {@link REFERENCE_DIR}. */
  weights: string;
  /** SHA-256 of the weights file. */
  sha256: string;
  config: ConvClassifierConfig;
  recipe: ConvClassifierRecipe;
  /** Training data: the built-in dataset, its split record and the image count. */
  data: { name: string; split: string; images: number; fingerprint: string };
  /** Accuracy on the built-in test split (2,000 images), and that split's fingerprint. */
  test: { accuracy: number; images: number; fingerprint: string };
  parameters: number;
  trainSeconds: number;
}

/**
 * A loaded reference classifier, with its record.
 *
 * @example
 * const ref = await loadReferenceClassifier();
 * ref.record.test.accuracy; // ~0.98
 */
export interface ReferenceClassifier {
  model: ConvClassifier;
  record: ReferenceRecord;
}

/** Name of the MNIST reference's record in {@link REFERENCE_DIR}. */
export const MNIST_REFERENCE_RECORD = 'mnist-classifier.json';

/**
 * Loads the shipped MNIST reference classifier, checking its weights against the SHA-256 recorded beside them
 * (`E_REFERENCE` when either file is missing or the hash differs).
 *
 * @example
 * const { model, record } = await loadReferenceClassifier();
 */
export async function loadReferenceClassifier(dir = REFERENCE_DIR): Promise<ReferenceClassifier> {
  const fail = (what: string): never => {
    const hint = 'reinstall switchyard, or retrain it: node bin/run-ts.js scripts/train-reference-classifier.ts';
    throw new SwitchyardError('E_REFERENCE', `reference classifier: ${what}`, hint);
  };
  let record: ReferenceRecord;
  let bytes: Uint8Array;
  try {
    record = JSON.parse(readFileSync(`${dir}/${MNIST_REFERENCE_RECORD}`, 'utf8')) as ReferenceRecord;
    bytes = readFileSync(`${dir}/${record.weights}`);
  } catch (err) {
    return fail(`cannot read ${dir} (${(err as Error).message})`);
  }
  const sha = sha256Bytes(bytes);
  if (sha !== record.sha256) fail(`${record.weights} has SHA-256 ${sha}, the record says ${record.sha256}`);
  const model = new ConvClassifier(record.config);
  const { tensors } = await loadSafetensors(`${dir}/${record.weights}`);
  model.loadStateDict(new Map([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }])));
  return { model, record };
}

/**
 * A split of the built-in MNIST as a batch in [0, 1] with its class ids and the split's fingerprint (the test split
 * holds the real images the FID compares with).
 *
 * @example
 * const { images, labels } = mnistSplitImages('test');
 */
export function mnistSplitImages(split: 'train' | 'test' = 'test'): {
  images: ImageBatch; labels: Int32Array; fingerprint: string;
} {
  const table = readBuiltinImages('mnist', split);
  const labels = Int32Array.from(table.rows, (r) => Number(r[1]));
  return { images: imagesToBatch(table.images), labels, fingerprint: table.dataset!.fingerprint };
}
