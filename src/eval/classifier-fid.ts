/**
 * Classifier FID: the Fréchet distance between Gaussian fits of the penultimate features of real and generated
 * images, the features taken from the shipped MNIST reference classifier (src/eval/reference-classifier.ts), not
 * from Inception-v3. Numbers are comparable only with other classifier FIDs of the same reference (its SHA-256 is
 * in every result) at a similar sample count (FID is biased upwards for few samples). Besides the distance: the
 * reference's accuracy on class-conditional samples (did the model draw the digit it was asked for?).
 */
import type { ImageBatch } from '../data/images/batch.ts';
import { runConvClassifier } from '../train/image-classifier.ts';
import { frechetDistance, gaussianFit, type GaussianFit } from '../stats/frechet.ts';
import { SwitchyardError } from '../util/errors.ts';
import { loadReferenceClassifier, mnistSplitImages, type ReferenceClassifier } from './reference-classifier.ts';

/**
 * What every classifier-FID output says it is.
 *
 * @example
 * console.log(`${CLASSIFIER_FID_KIND}: ${r.fid}`);
 */
export const CLASSIFIER_FID_KIND = 'classifier FID (MNIST reference classifier features), not Inception FID';

/** A classifier FID of a set of images. */
export interface ClassifierFidResult {
  /** {@link CLASSIFIER_FID_KIND}. */
  kind: string;
  /** Squared Fréchet distance of the feature fits (0 = the same Gaussian). */
  fid: number;
  /** Generated images scored. */
  samples: number;
  /** The real images: the built-in MNIST test split (count and split fingerprint). */
  real: { images: number; fingerprint: string };
  /** The reference classifier: weights SHA-256 and its own test accuracy. */
  reference: { sha256: string; testAccuracy: number };
  /** Share of images the reference classifies as the class they were drawn for (null without labels). */
  accuracy: number | null;
  /** Share of images per predicted class (how the samples spread over the classes). */
  classShares: number[];
}

/** Options of {@link classifierFid}. */
export interface ClassifierFidOptions {
  /** The class id (digit) each image was drawn for: adds the reference's accuracy on them. */
  labels?: ArrayLike<number> | null;
  /** Value range of the pixels (default [0, 1]; [-1, 1] for a diffusion model's raw samples). */
  range?: [number, number];
  /** The reference classifier (default: the shipped MNIST one). */
  reference?: ReferenceClassifier;
  /** ONNX Runtime intra-op threads. */
  threads?: number;
}

/** The real test images' feature fit, per reference classifier (by weights SHA-256). */
const realFits = new Map<string, { fit: GaussianFit; images: number; fingerprint: string }>();

async function realFit(ref: ReferenceClassifier, threads?: number) {
  const hit = realFits.get(ref.record.sha256);
  if (hit) return hit;
  const test = mnistSplitImages('test');
  const { features } = await runConvClassifier(ref.model, test.images, 250, threads);
  const entry = { fit: gaussianFit(features, ref.model.cfg.features), images: test.images.n, fingerprint: test.fingerprint };
  realFits.set(ref.record.sha256, entry);
  return entry;
}

/**
 * The classifier FID of `images` (28x28 grey, [N, 1, 28, 28]) against the built-in MNIST test split, and the
 * reference's accuracy on them when `labels` are given (see the module comment).
 *
 * @example
 * const r = await classifierFid(samples, { labels, range: [-1, 1] });
 * console.log(`${r.kind}: ${r.fid.toFixed(2)}, accuracy ${r.accuracy}`);
 */
export async function classifierFid(images: ImageBatch, o: ClassifierFidOptions = {}): Promise<ClassifierFidResult> {
  if (images.n < 2) {
    throw new SwitchyardError('E_USAGE', `classifier FID: ${images.n} image(s)`, 'score at least 2 (hundreds for a stable FID)');
  }
  if (o.labels && o.labels.length !== images.n) {
    throw new SwitchyardError('E_USAGE', `classifier FID: ${o.labels.length} labels for ${images.n} images`, 'pass one label per image');
  }
  const ref = o.reference ?? (await loadReferenceClassifier());
  const real = await realFit(ref, o.threads);
  const [lo, hi] = o.range ?? [0, 1];
  const unit = { ...images, data: images.data.map((v) => Math.min(1, Math.max(0, (v - lo) / (hi - lo)))) };
  const { features, logits } = await runConvClassifier(ref.model, unit, 250, o.threads);
  const classes = ref.model.cfg.classes;
  const shares = new Array<number>(classes).fill(0);
  let right = 0;
  for (let i = 0; i < images.n; i++) {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    const predicted = row.indexOf(Math.max(...row));
    shares[predicted] += 1 / images.n;
    if (o.labels && predicted === o.labels[i]) right++;
  }
  return {
    kind: CLASSIFIER_FID_KIND,
    fid: frechetDistance(real.fit, gaussianFit(features, ref.model.cfg.features)),
    samples: images.n,
    real: { images: real.images, fingerprint: real.fingerprint },
    reference: { sha256: ref.record.sha256, testAccuracy: ref.record.test.accuracy },
    accuracy: o.labels ? right / images.n : null,
    classShares: shares,
  };
}
