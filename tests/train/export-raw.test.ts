/**
 * A tabular export takes the raw columns: onnxruntime alone (no Switchyard code on the inference side: the feeds
 * are built here from the CSV text) reproduces `switchyard predict` on real rows with missing values and unseen
 * categories, for a classifier (class strings) and a regression model (original units).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel } from '../../src/runtime/onnx/proto.ts';
import { validateModel } from '../../src/runtime/onnx/validate.ts';
import { loadModel } from '../../src/serve/model-runner.ts';
import { runOnnx, writeOnnxExport } from '../../src/train/export-run.ts';
import { predictTabular, tabularOnnx } from '../../src/train/tabular-predict.ts';
import { trainTabular } from '../../src/train/tabular.ts';
import { tmp, vegaCsv } from '../cli/helpers.ts';
import { expectSwitchyardError } from './helpers.ts';

let dir: string;
const quiet = { progress: { enabled: false }, threads: 1, force: true, seed: 3 };
const HEAVY = [['yes', 'Y', 'TRUE', '1', 't'], ['no', 'N', 'false', '0', 'F']];

/** The CSV text as header + rows of cells (penguins has no quoted fields). */
function parseCsv(file: string): { header: string[]; rows: string[][] } {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  return { header: head.split(','), rows: lines.map((l) => l.split(',')) };
}

function writeCsv(file: string, header: string[], rows: string[][]): string {
  writeFileSync(file, [header, ...rows].map((r) => r.join(',')).join('\n') + '\n');
  return file;
}

/** ORT feeds straight from CSV cells: float inputs get Number(cell) (empty = NaN), string inputs the cell. */
function rawFeeds(session: ort.InferenceSession, csv: { header: string[]; rows: string[][] }): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const m of session.inputMetadata) {
    const j = csv.header.indexOf(m.name);
    expect(j, m.name).toBeGreaterThanOrEqual(0);
    const cells = csv.rows.map((r) => r[j]);
    const n = cells.length;
    feeds[m.name] = m.isTensor && m.type === 'float32'
      ? new ort.Tensor('float32', Float32Array.from(cells, (c) => (c === '' ? NaN : Number(c))), [n, 1])
      : new ort.Tensor('string', cells, [n, 1]);
  }
  return feeds;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

beforeAll(async () => {
  dir = tmp('sy-export-raw-');
  const src = parseCsv(vegaCsv('penguins', dir));
  const mass = src.header.indexOf('Body Mass (g)');
  // A yes/no column in many spellings (missing where the mass is), to exercise the boolean encoding.
  const header = [...src.header, 'Heavy'];
  const rows = src.rows.map((r, i) => [...r, r[mass] === '' ? '' : HEAVY[Number(r[mass]) > 4000 ? 0 : 1][i % 5]]);
  writeCsv(join(dir, 'train.csv'), header, rows);
  // Test rows: real ones (with their missing values) plus unseen categories, missing words and a bad yes/no.
  const col = (name: string) => header.indexOf(name);
  const odd = (changes: Record<string, string>) => header.map((h, j) => changes[h] ?? rows[7][j]);
  const extra = [
    odd({ Island: 'Atlantis', Sex: 'unknown' }),
    odd({ Sex: 'NA', Heavy: 'n/a', 'Beak Depth (mm)': '' }),
    odd({ Sex: '.', Island: 'Biscoe', Heavy: 'No' }),
    odd({ 'Flipper Length (mm)': '', Sex: '' }),
  ];
  expect(col('Sex')).toBeGreaterThan(0);
  writeCsv(join(dir, 'test.csv'), header, [...rows.slice(0, 60), ...rows.slice(-20), ...extra]);
  await trainTabular({ data: join(dir, 'train.csv'), target: 'Species', out: join(dir, 'cls'), epochs: 15, hidden: [16], ...quiet });
  const known = rows.filter((r) => r[mass] !== '');
  writeCsv(join(dir, 'reg.csv'), header, known);
  const regHeader = header.filter((h) => h !== 'Heavy');
  writeCsv(join(dir, 'reg-train.csv'), regHeader, known.map((r) => r.slice(0, -1)));
  await trainTabular({ data: join(dir, 'reg-train.csv'), target: 'Body Mass (g)', out: join(dir, 'reg'), epochs: 10, hidden: [16], ...quiet });
}, 240_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tabular export with raw inputs', () => {
  it('takes one input per column and returns predict\'s class strings and probabilities from onnxruntime alone', async () => {
    const { bytes, inputs, outputs } = await tabularOnnx(join(dir, 'cls'));
    expect(inputs).toEqual(['Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)', 'Sex', 'Heavy']);
    expect(outputs).toEqual(['probabilities', 'label']);
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    try {
      expect(session.inputNames).not.toContain('features');
      const types = Object.fromEntries(session.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : '?']));
      expect(types).toMatchObject({ Island: 'string', Sex: 'string', Heavy: 'string', 'Beak Length (mm)': 'float32' });
      const csv = parseCsv(join(dir, 'test.csv'));
      const res = await session.run(rawFeeds(session, csv));
      const ref = await predictTabular(join(dir, 'cls'), join(dir, 'test.csv'), { threads: 1 });
      expect(res.label.type).toBe('string');
      expect(res.label.data as string[]).toEqual(ref.predictions);
      expect([...res.probabilities.dims]).toEqual([csv.rows.length, ref.classes.length]);
      expect(maxAbsDiff(res.probabilities.data as Float32Array, ref.probabilities!)).toBeLessThan(1e-5);
      // The class order of `probabilities` is in the metadata.
      expect(JSON.parse(decodeModel(bytes).metadata!['switchyard.classes'])).toEqual(ref.classes);
    } finally {
      await session.release();
    }
  });

  it('returns a regression prediction in the target\'s units', async () => {
    const { bytes, outputs } = await tabularOnnx(join(dir, 'reg'));
    expect(outputs).toEqual(['prediction']);
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    try {
      const res = await session.run(rawFeeds(session, parseCsv(join(dir, 'reg.csv'))));
      const ref = await predictTabular(join(dir, 'reg'), join(dir, 'reg.csv'), { threads: 1 });
      const pred = res.prediction.data as Float32Array;
      expect(Math.max(...pred)).toBeGreaterThan(1000); // grams, not standardised units
      expect(maxAbsDiff(pred, ref.predictions as number[])).toBeLessThan(0.01);
    } finally {
      await session.release();
    }
  });

  it('keeps the features graph on request, and serve runs a raw export registered into its run like predict', async () => {
    const features = await tabularOnnx(join(dir, 'cls'), { inputs: 'features' });
    expect(features.inputs).toEqual(['features']);
    expect(decodeModel(features.bytes).graph.outputs.find((o) => o.name === 'label')?.dtype).toBe('int64');
    // `export --out RUN/model.onnx` registers the export; serve then loads that file (raw inputs) and still predicts.
    const run = join(dir, 'cls-served');
    cpSync(join(dir, 'cls'), run, { recursive: true });
    await writeOnnxExport(join(run, 'model.onnx'), (await runOnnx(run)).bytes);
    const served = await loadModel(run, { threads: 1 });
    try {
      const csv = parseCsv(join(dir, 'test.csv'));
      const cell = (c: string) => (c === '' ? null : /^-?[\d.]+$/.test(c) && c !== '.' ? Number(c) : c);
      const json = (h: string, c: string) => (h === 'Heavy' && c !== '' ? HEAVY[0].includes(c) : cell(c)); // JSON booleans
      const rows = csv.rows.slice(-4).map((r) => Object.fromEntries(csv.header.map((h, j) => [h, json(h, r[j])])));
      const ref = await predictTabular(run, join(dir, 'test.csv'), { threads: 1 });
      const got = await served.predict({ rows });
      expect(got.predictions).toEqual(ref.predictions.slice(-4));
    } finally {
      await served.close();
    }
  });

  it('writes an older opset on request and refuses one it cannot write', async () => {
    const { bytes } = await tabularOnnx(join(dir, 'cls'), { opset: 17 });
    const m = decodeModel(bytes);
    expect(m.opset).toBe(17);
    expect(m.irVersion).toBe(8);
    expect(m.imports).toEqual({ 'ai.onnx.ml': 3 });
    validateModel(m);
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const res = await session.run(rawFeeds(session, parseCsv(join(dir, 'test.csv'))));
    await session.release();
    const ref = await predictTabular(join(dir, 'cls'), join(dir, 'test.csv'), { threads: 1 });
    expect(res.label.data as string[]).toEqual(ref.predictions);
    await expectSwitchyardError(() => tabularOnnx(join(dir, 'cls'), { opset: 16 }), 'E_USAGE', /--target-opset expects a whole number >= 17 and <= 21/);
    await expectSwitchyardError(() => tabularOnnx(join(dir, 'cls'), { inputs: 'columns' as 'raw' }), 'E_USAGE', /--inputs columns is not raw or features/);
  });
});

/** python3 with onnxruntime, if this machine has one (Debian ships none; pip may). */
const pythonWithOrt = ['python3', '/usr/bin/python3'].find((py) => spawnSync(py, ['-c', 'import onnxruntime'], { stdio: 'ignore' }).status === 0);

describe.skipIf(!pythonWithOrt)('the raw export in Python\'s onnxruntime', () => {
  it('gives predict\'s labels from the CSV cells, with no Switchyard code', async () => {
    const file = join(dir, 'cls.onnx');
    writeFileSync(file, (await tabularOnnx(join(dir, 'cls'))).bytes);
    const script = [
      'import csv, json, sys, numpy as np, onnxruntime as ort',
      's = ort.InferenceSession(sys.argv[1])',
      'rows = list(csv.DictReader(open(sys.argv[2])))',
      'def col(i):',
      '    cells = [r[i.name] for r in rows]',
      '    if i.type == "tensor(float)": return np.array([[float(c) if c else np.nan] for c in cells], dtype=np.float32)',
      '    return np.array([[c] for c in cells], dtype=object)',
      'label, probs = s.run(["label", "probabilities"], {i.name: col(i) for i in s.get_inputs()})',
      'print(json.dumps({"label": [str(l) for l in label], "probs": probs.ravel().tolist()}))',
    ].join('\n');
    const r = spawnSync(pythonWithOrt!, ['-c', script, file, join(dir, 'test.csv')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { label: string[]; probs: number[] };
    const ref = await predictTabular(join(dir, 'cls'), join(dir, 'test.csv'), { threads: 1 });
    expect(out.label).toEqual(ref.predictions);
    expect(maxAbsDiff(out.probs, ref.probabilities!)).toBeLessThan(1e-5);
  });
});
