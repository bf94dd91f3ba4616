import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCsv } from '../../src/data/csv.ts';
import { DEMO_COLUMNS, findVegaDataset, makeDemoDataset, writeVegaDatasetCsv } from '../../src/data/demo.ts';
import { inferSchema } from '../../src/data/schema.ts';
import { type EncodedTable, fitTabularEncoder } from '../../src/data/tabular.ts';

/** Multinomial logistic regression by full-batch gradient descent; returns test accuracy. */
function linearAccuracy(tr: EncodedTable, te: EncodedTable, k: number): number {
  const F = tr.features;
  const W = new Float64Array(F * k);
  const B = new Float64Array(k);
  const logits = (x: Float32Array, r: number): number[] => {
    const z = Array.from(B);
    for (let f = 0; f < F; f++) for (let c = 0; c < k; c++) z[c] += W[f * k + c] * x[r * F + f];
    return z;
  };
  for (let epoch = 0; epoch < 300; epoch++) {
    const gW = new Float64Array(F * k);
    const gB = new Float64Array(k);
    for (let r = 0; r < tr.rows; r++) {
      const z = logits(tr.x, r);
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < k; c++) {
        const g = e[c] / s - (tr.y![r] === c ? 1 : 0);
        gB[c] += g;
        for (let f = 0; f < F; f++) gW[f * k + c] += g * tr.x[r * F + f];
      }
    }
    for (let i = 0; i < W.length; i++) W[i] -= (0.5 * gW[i]) / tr.rows;
    for (let c = 0; c < k; c++) B[c] -= (0.5 * gB[c]) / tr.rows;
  }
  let ok = 0;
  for (let r = 0; r < te.rows; r++) {
    const z = logits(te.x, r);
    if (z.indexOf(Math.max(...z)) === te.y![r]) ok++;
  }
  return ok / te.rows;
}

/** k-nearest-neighbour accuracy (a nonlinear reference) on the first `n` test rows. */
function knnAccuracy(tr: EncodedTable, te: EncodedTable, k: number, n: number): number {
  const F = tr.features;
  let ok = 0;
  for (let r = 0; r < n; r++) {
    const d: [number, number][] = [];
    for (let q = 0; q < tr.rows; q++) {
      let s = 0;
      for (let f = 0; f < F; f++) s += (tr.x[q * F + f] - te.x[r * F + f]) ** 2;
      d.push([s, tr.y![q]]);
    }
    d.sort((a, b) => a[0] - b[0]);
    const votes = new Array<number>(k).fill(0);
    for (let i = 0; i < 15; i++) votes[d[i][1]]++;
    if (votes.indexOf(Math.max(...votes)) === te.y![r]) ok++;
  }
  return ok / n;
}

describe('makeDemoDataset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-demo-'));
  const paths = makeDemoDataset(join(dir, 'a'), 42);

  it('writes train/test CSVs, byte-identical for the same seed', () => {
    expect(paths).toEqual({ train: join(dir, 'a', 'train.csv'), test: join(dir, 'a', 'test.csv') });
    const again = makeDemoDataset(join(dir, 'b'), 42);
    expect(readFileSync(again.train, 'utf8')).toBe(readFileSync(paths.train, 'utf8'));
    const other = makeDemoDataset(join(dir, 'c'), 43);
    expect(readFileSync(other.train, 'utf8')).not.toBe(readFileSync(paths.train, 'utf8'));
  });

  it('has the intended columns, kinds, missing values and balanced classes', async () => {
    const train = await readCsv(paths.train);
    const test = await readCsv(paths.test);
    expect(train.columns).toEqual([...DEMO_COLUMNS]);
    expect([train.rows.length, test.rows.length]).toEqual([3000, 1000]);
    const schema = inferSchema(train);
    expect(Object.fromEntries(schema.columns.map((c) => [c.name, c.kind]))).toEqual({
      customer_id: 'identifier', age: 'numeric', income: 'numeric', tenure_months: 'numeric',
      region: 'categorical', has_card: 'boolean', monthly_visits: 'numeric', label: 'categorical',
    });
    const missing = Object.fromEntries(schema.columns.map((c) => [c.name, c.missing]));
    for (const c of ['age', 'income', 'monthly_visits']) expect(missing[c]).toBeGreaterThan(10);
    const enc = fitTabularEncoder(train, schema, 'label');
    expect(enc.classes).toEqual(['bronze', 'gold', 'silver']);
    const counts = [0, 0, 0];
    for (const k of enc.encode(train).y!) counts[k]++;
    for (const c of counts) expect(c).toBeGreaterThan(600);
  });

  it('has a label a nonlinear model predicts much better than a linear one', async () => {
    const train = await readCsv(paths.train);
    const test = await readCsv(paths.test);
    const enc = fitTabularEncoder(train, inferSchema(train), 'label');
    const tr = enc.encode(train);
    const te = enc.encode(test);
    const linear = linearAccuracy(tr, te, 3);
    const knn = knnAccuracy(tr, te, 3, 300);
    expect(linear).toBeLessThan(0.65);
    expect(knn).toBeGreaterThan(0.7);
    expect(knn - linear).toBeGreaterThan(0.1);
  });
});

describe('vega-datasets helpers', () => {
  it('finds an installed dataset file and converts JSON records to CSV', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sy-vega-'));
    const data = join(root, 'node_modules', 'vega-datasets', 'data');
    mkdirSync(data, { recursive: true });
    const records = [
      { Species: 'Adelie', Island: 'Torgersen', 'Beak Length (mm)': 39.1, 'Body Mass (g)': 3750, Sex: 'MALE' },
      { Species: 'Gentoo', Island: 'Biscoe', 'Beak Length (mm)': null, 'Body Mass (g)': 5000, Sex: null },
    ];
    writeFileSync(join(data, 'penguins.json'), JSON.stringify(records));
    const nested = join(root, 'project', 'sub');
    mkdirSync(nested, { recursive: true });
    expect(findVegaDataset('penguins', nested)).toBe(join(data, 'penguins.json'));
    expect(findVegaDataset('penguins.json', root)).toBe(join(data, 'penguins.json'));
    expect(findVegaDataset('no-such-dataset-xyz', root)).toBeNull();
    const out = writeVegaDatasetCsv('penguins', join(root, 'out', 'penguins.csv'), root);
    expect(out).toBe(join(root, 'out', 'penguins.csv'));
    const t = await readCsv(out!);
    expect(t.columns).toEqual(['Species', 'Island', 'Beak Length (mm)', 'Body Mass (g)', 'Sex']);
    expect(t.rows).toEqual([['Adelie', 'Torgersen', '39.1', '3750', 'MALE'], ['Gentoo', 'Biscoe', '', '5000', '']]);
    expect(writeVegaDatasetCsv('no-such-dataset-xyz', join(root, 'x.csv'), root)).toBeNull();
  });
});
