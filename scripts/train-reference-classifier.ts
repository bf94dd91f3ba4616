/**
 * Retrains the reference classifier of the classifier FID from its fixed recipe (MNIST_REFERENCE_RECIPE, seed 0, one
 * ONNX Runtime thread) on the built-in MNIST training split, scores it on the test split and writes
 * `assets/reference/mnist-classifier.safetensors` and `mnist-classifier.json` (architecture, recipe, test accuracy,
 * the weights' SHA-256). The same recipe gives the same weights, byte for byte, at one thread.
 *
 *   nice -n 10 node bin/run-ts.js scripts/train-reference-classifier.ts [--out DIR]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  MNIST_REFERENCE_RECIPE, MNIST_REFERENCE_RECORD, mnistSplitImages, REFERENCE_DIR, type ReferenceRecord,
} from '../src/eval/reference-classifier.ts';
import { ConvClassifier, MNIST_CLASSIFIER_CONFIG } from '../src/models/conv-classifier.ts';
import { saveWeights } from '../src/train/checkpoint.ts';
import { runConvClassifier, trainConvClassifier } from '../src/train/image-classifier.ts';
import { sha256File, writeJsonAtomic } from '../src/util/fs.ts';

const i = process.argv.indexOf('--out');
const out = i > 0 ? process.argv[i + 1] : REFERENCE_DIR;
mkdirSync(out, { recursive: true });
const recipe = MNIST_REFERENCE_RECIPE;
const train = mnistSplitImages('train');
const test = mnistSplitImages('test');
const model = new ConvClassifier(MNIST_CLASSIFIER_CONFIG).init(recipe.seed);
const { seconds, lastLoss } = await trainConvClassifier(model, train.images, train.labels, recipe, { enabled: true });
const { logits } = await runConvClassifier(model, test.images, 250, recipe.threads);
const classes = MNIST_CLASSIFIER_CONFIG.classes;
let right = 0;
for (let r = 0; r < test.labels.length; r++) {
  const row = logits.subarray(r * classes, (r + 1) * classes);
  if (row.indexOf(Math.max(...row)) === test.labels[r]) right++;
}
const weights = 'mnist-classifier.safetensors';
await saveWeights(join(out, weights), model.stateDict(), { recipe: JSON.stringify(recipe) });
const record: ReferenceRecord = {
  description: 'reference classifier of the classifier FID (not Inception): conv-GroupNorm-ReLU-maxpool x2, ' +
    'Linear + ReLU features, linear head; trained on the built-in MNIST training split',
  weights,
  sha256: await sha256File(join(out, weights)),
  config: MNIST_CLASSIFIER_CONFIG,
  recipe,
  data: { name: 'mnist', split: 'train', images: train.images.n, fingerprint: train.fingerprint },
  test: { accuracy: right / test.labels.length, images: test.labels.length, fingerprint: test.fingerprint },
  parameters: model.parameterCount(),
  trainSeconds: Math.round(seconds),
};
await writeJsonAtomic(join(out, MNIST_REFERENCE_RECORD), record);
process.stdout.write(`test accuracy ${(100 * record.test.accuracy).toFixed(2)}%, last loss ${lastLoss.toFixed(4)}, ` +
  `${record.parameters} parameters, ${seconds.toFixed(0)} s; wrote ${join(out, weights)}\n`);
