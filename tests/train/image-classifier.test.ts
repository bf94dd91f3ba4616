import { describe, expect, it } from 'vitest';
import { imagesToBatch, readBuiltinImages } from '../../src/data/images/index.ts';
import { ConvClassifier, MNIST_CLASSIFIER_CONFIG } from '../../src/models/conv-classifier.ts';
import { type ConvClassifierRecipe, trainConvClassifier } from '../../src/train/image-classifier.ts';

describe('trainConvClassifier (the recipe of the reference classifier)', () => {
  const table = readBuiltinImages('mnist', 'train');
  const picked = table.images.map((_, i) => i).filter((i) => i % 32 === 0); // 250 images of every class
  const images = imagesToBatch(picked.map((i) => table.images[i]));
  const labels = Int32Array.from(picked, (i) => Number(table.rows[i][1]));
  const recipe: ConvClassifierRecipe = { seed: 0, steps: 24, batchSize: 32, lr: 2e-3, weightDecay: 0.01, threads: 1 };
  const train = async (r: ConvClassifierRecipe) => {
    const model = new ConvClassifier(MNIST_CLASSIFIER_CONFIG).init(r.seed);
    const { lastLoss } = await trainConvClassifier(model, images, labels, r, { enabled: false });
    return { weights: [...model.stateDict().values()].map((t) => Array.from(t.data)).flat(), lastLoss };
  };

  it('gives the same weights for the same seed, other weights for another, and learns', async () => {
    const [a, b, c] = [await train(recipe), await train(recipe), await train({ ...recipe, seed: 1 })];
    expect(a.weights).toEqual(b.weights);
    expect(a.weights).not.toEqual(c.weights);
    expect(a.lastLoss).toBeLessThan(Math.log(10) * 0.8);
  }, 120_000);

  it('refuses fewer images than one batch', async () => {
    const model = new ConvClassifier(MNIST_CLASSIFIER_CONFIG).init(0);
    const few = { ...images, n: 8, data: images.data.slice(0, 8 * 784) };
    await expect(trainConvClassifier(model, few, labels.slice(0, 8), recipe)).rejects.toMatchObject({ code: 'E_USAGE' });
  });
});
