import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imagesToBatch, readBuiltinImages } from '../../src/data/images/index.ts';
import { classifierFid, CLASSIFIER_FID_KIND } from '../../src/eval/classifier-fid.ts';
import {
  loadReferenceClassifier, MNIST_REFERENCE_RECORD, mnistSplitImages, REFERENCE_DIR,
} from '../../src/eval/reference-classifier.ts';
import { runConvClassifier } from '../../src/train/image-classifier.ts';
import { sha256Bytes } from '../../src/util/fs.ts';
import { Rng } from '../../src/util/rng.ts';

describe('the shipped reference classifier', () => {
  it('is small, matches its recorded SHA-256, and scores its recorded test accuracy', async () => {
    const { model, record } = await loadReferenceClassifier();
    const weights = readFileSync(join(REFERENCE_DIR, record.weights));
    expect(weights.length).toBeLessThan(1024 * 1024);
    expect(sha256Bytes(weights)).toBe(record.sha256);
    expect(model.parameterCount()).toBe(record.parameters);
    const test = mnistSplitImages('test');
    expect(test.fingerprint).toBe(record.test.fingerprint);
    const { logits } = await runConvClassifier(model, test.images, 500, 1);
    let right = 0;
    for (let i = 0; i < test.labels.length; i++) {
      const row = logits.subarray(i * 10, (i + 1) * 10);
      if (row.indexOf(Math.max(...row)) === test.labels[i]) right++;
    }
    expect(right / test.labels.length).toBe(record.test.accuracy);
    expect(record.test.accuracy).toBeGreaterThan(0.97);
  }, 60_000);

  it('refuses weights that do not match the recorded hash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-ref-'));
    const record = JSON.parse(readFileSync(join(REFERENCE_DIR, MNIST_REFERENCE_RECORD), 'utf8'));
    copyFileSync(join(REFERENCE_DIR, MNIST_REFERENCE_RECORD), join(dir, MNIST_REFERENCE_RECORD));
    const bytes = readFileSync(join(REFERENCE_DIR, record.weights));
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(join(dir, record.weights), bytes);
    await expect(loadReferenceClassifier(dir)).rejects.toMatchObject({ code: 'E_REFERENCE', message: /SHA-256/ });
  });
});

describe('classifierFid', () => {
  it('is 0 for the test images themselves, small for real training digits, large for noise', async () => {
    const test = mnistSplitImages('test');
    const same = await classifierFid(test.images, { labels: test.labels, threads: 1 });
    expect(same.kind).toBe(CLASSIFIER_FID_KIND);
    expect(same.kind).toMatch(/not Inception FID/);
    expect(same.fid).toBeLessThan(1e-6);
    expect(same.accuracy).toBe(same.reference.testAccuracy);
    // Every fourth training image (the split is stored class by class: the first 2,000 would be 0s and 1s).
    const train = readBuiltinImages('mnist', 'train').images.filter((_, i) => i % 4 === 0);
    const real = await classifierFid(imagesToBatch(train), { threads: 1 });
    const zerosAndOnes = await classifierFid(imagesToBatch(readBuiltinImages('mnist', 'train', { limit: 2000 }).images));
    expect(zerosAndOnes.fid).toBeGreaterThan(10 * real.fid);
    expect(real.accuracy).toBeNull();
    const rng = new Rng(5);
    const noise = { n: 500, channels: 1, height: 28, width: 28, data: Float32Array.from({ length: 500 * 784 }, () => rng.next()) };
    const fake = await classifierFid(noise, { labels: Int32Array.from({ length: 500 }, (_, i) => i % 10), threads: 1 });
    expect(real.fid).toBeGreaterThan(0);
    expect(fake.fid).toBeGreaterThan(20 * real.fid);
    expect(fake.accuracy!).toBeLessThan(0.3);
    expect(fake.classShares.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 9);
  }, 60_000);

  it('reads [-1, 1] images when told the range, and refuses mismatched labels', async () => {
    const { images } = mnistSplitImages('test');
    const few = { ...images, n: 300, data: images.data.slice(0, 300 * 784) };
    const unit = await classifierFid(few, { threads: 1 });
    const signed = await classifierFid({ ...few, data: few.data.map((v) => 2 * v - 1) }, { range: [-1, 1], threads: 1 });
    expect(signed.fid).toBeCloseTo(unit.fid, 3);
    await expect(classifierFid(few, { labels: new Int32Array(3) })).rejects.toMatchObject({ code: 'E_USAGE' });
  }, 60_000);
});
