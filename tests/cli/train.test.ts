import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readCsv } from '../../src/data/csv.ts';
import { loadTabularRun } from '../../src/train/tabular-model.ts';
import { cli, tmp, vegaCsv } from './helpers.ts';

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('switchyard train / predict / export on real data (vega-datasets penguins)', () => {
  const dir = tmp();
  const data = vegaCsv('penguins', dir);
  const run = join(dir, 'run');

  it('trains a classifier whose loss decreases and writes the run directory', () => {
    const r = cli(['train', '--data', data, '--target', 'Species', '--out', run, '--epochs', '12', '--patience', '0', '--json', '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.json.ok).toBe(true);
    expect(r.json.task).toBe('classification');
    expect(r.json.classes).toEqual(['Adelie', 'Chinstrap', 'Gentoo']);
    const m = lines(join(run, 'metrics.jsonl'));
    expect(m).toHaveLength(12);
    expect(m[11].trainLoss).toBeLessThan(m[0].trainLoss * 0.5);
    expect(r.json.valid.accuracy).toBeGreaterThan(0.9);
    for (const f of ['config.json', 'model.safetensors', 'checkpoint/optimizer.safetensors', 'checkpoint/model.safetensors', 'metrics.json', 'manifest.json']) expect(existsSync(join(run, f))).toBe(true);
    expect(readdirSync(run).some((f) => f.includes('.tmp'))).toBe(false);
  });

  it('predicts labels with probabilities that sum to one', async () => {
    const out = join(dir, 'pred.csv');
    const r = cli(['predict', '--model', run, '--data', data, '--out', out, '--json']);
    expect(r.code).toBe(0);
    const t = await readCsv(out);
    expect(t.columns).toEqual(['row', 'prediction', 'prob_Adelie', 'prob_Chinstrap', 'prob_Gentoo']);
    const truth = await readCsv(data);
    expect(t.rows).toHaveLength(truth.rows.length);
    let right = 0;
    t.rows.forEach((row, i) => {
      const s = Number(row[2]) + Number(row[3]) + Number(row[4]);
      expect(Math.abs(s - 1)).toBeLessThan(1e-4);
      if (row[1] === truth.rows[i][truth.columns.indexOf('Species')]) right++;
    });
    expect(right / t.rows.length).toBeGreaterThan(0.9);
  });

  it('exports ONNX (--inputs features: the encoded matrix) that onnxruntime runs with the same outputs as predict', async () => {
    const onnx = join(dir, 'model.onnx');
    expect(cli(['export', '--model', run, '--out', onnx, '--inputs', 'features', '--json']).code).toBe(0);
    const { enc } = await loadTabularRun(run);
    const table = await readCsv(data);
    const e = enc.encode(table, { target: false });
    const s = await ort.InferenceSession.create(readFileSync(onnx));
    const res = await s.run({ features: new ort.Tensor('float32', e.x, [e.rows, e.features]) });
    const pred = await readCsv(join(dir, 'pred.csv'));
    const probs = res.probabilities.data as Float32Array;
    pred.rows.forEach((row, i) => {
      for (let c = 0; c < 3; c++) expect(Math.abs(probs[i * 3 + c] - Number(row[2 + c]))).toBeLessThan(1e-5);
      expect(enc.classes[Number((res.label.data as BigInt64Array)[i])]).toBe(row[1]);
    });
    await s.release();
  });

  it('resumes a run so the loss curve continues exactly', () => {
    const a = join(dir, 'straight');
    const b = join(dir, 'resumed');
    const common = ['--data', data, '--target', 'Species', '--patience', '0', '--dropout', '0.1', '--quiet', '--json'];
    expect(cli(['train', ...common, '--out', a, '--epochs', '4']).code).toBe(0);
    expect(cli(['train', ...common, '--out', b, '--epochs', '4', '--stop-after', '2']).code).toBe(0);
    expect(lines(join(b, 'metrics.jsonl'))).toHaveLength(2);
    expect(cli(['train', '--data', data, '--target', 'Species', '--out', b, '--resume', '--quiet']).code).toBe(0);
    const la = lines(join(a, 'metrics.jsonl'));
    const lb = lines(join(b, 'metrics.jsonl'));
    expect(lb.map((l) => l.trainLoss)).toEqual(la.map((l) => l.trainLoss));
    expect(lb.map((l) => l.validLoss)).toEqual(la.map((l) => l.validLoss));
    expect(readFileSync(join(b, 'model.safetensors'))).toEqual(readFileSync(join(a, 'model.safetensors')));
  });
});

describe('switchyard train: regression on real data (vega-datasets cars)', () => {
  it('fits Miles_per_Gallon better than predicting the mean', () => {
    const dir = tmp();
    const data = vegaCsv('cars', dir);
    const r = cli(['train', '--data', data, '--target', 'Miles_per_Gallon', '--columns', 'Name=ignore,Year=ignore', '--out', join(dir, 'run'), '--epochs', '40', '--json', '--quiet']);
    expect(r.code).toBe(0);
    expect(r.json.task).toBe('regression');
    // The target's std is about 7.8 mpg; a useful model is far below that.
    expect(r.json.valid.rmse).toBeLessThan(4.5);
  });
});
