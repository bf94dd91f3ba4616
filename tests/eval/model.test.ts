import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv.ts';
import { loadEvalModel, type TabularEvalModel } from '../../src/eval/model.ts';
import { exportTabular } from '../../src/train/tabular-predict.ts';
import { trainTabular } from '../../src/train/tabular.ts';
import { Rng } from '../../src/util/rng.ts';
import { tmp } from '../cli/helpers.ts';
import { tabularCsv } from './data.ts';
import { gaussianData, tinyClassifier } from './helpers.ts';

const open: TabularEvalModel[] = [];
afterAll(async () => { for (const m of open) await m.release(); });

/** Per-example cross-entropy of row r from logits, in float64. */
function ce(logits: Float32Array, C: number, r: number, y: number): number {
  const z = Array.from(logits.subarray(r * C, (r + 1) * C), Number);
  const m = Math.max(...z);
  return m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0)) - z[y];
}

describe('eval model adapter', () => {
  it('engine input gradients match central finite differences of the loss', async () => {
    const F = 5;
    const C = 3;
    const m = await tinyClassifier(F, [12, 7], C, 4);
    open.push(m);
    const rows = 6;
    const x = gaussianData(rows, F, 8);
    const rng = new Rng(1);
    const y = Int32Array.from({ length: rows }, () => rng.int(C));
    const { grad, loss } = await m.inputGradient!(x, y, rows);
    const base = await m.predict(x, rows);
    for (let r = 0; r < rows; r++) expect(loss[r]).toBeCloseTo(ce(base.logits, C, r, y[r]), 5);
    const h = 1e-2;
    for (let i = 0; i < x.length; i++) {
      const r = Math.floor(i / F);
      const xp = Float32Array.from(x);
      const xm = Float32Array.from(x);
      xp[i] += h;
      xm[i] -= h;
      const fd = (ce((await m.predict(xp, rows)).logits, C, r, y[r]) - ce((await m.predict(xm, rows)).logits, C, r, y[r])) / (2 * h);
      expect(grad[i]).toBeCloseTo(fd, 2);
    }
    // Penultimate features are the last hidden layer (7 wide, ReLU: non-negative).
    expect(m.featureDim).toBe(7);
    expect(base.features.length).toBe(rows * 7);
    expect(base.features.every((v) => v >= 0)).toBe(true);
  });

  it('a Switchyard ONNX export is matched by column name and agrees with the run', async () => {
    const dir = tmp('sy-evalmodel-');
    writeFileSync(join(dir, 'train.csv'), tabularCsv(300, 1));
    await trainTabular({ data: join(dir, 'train.csv'), target: 'label', out: join(dir, 'run'), epochs: 3, hidden: [8], progress: { enabled: false } });
    await exportTabular(join(dir, 'run'), join(dir, 'model.onnx'));
    const run = (await loadEvalModel(join(dir, 'run'))) as TabularEvalModel;
    const onnx = (await loadEvalModel(join(dir, 'model.onnx'))) as TabularEvalModel;
    open.push(run, onnx);
    expect(onnx.kind).toBe('onnx');
    expect(onnx.classes).toEqual(run.classes);
    // Columns in another order: matched by name through the embedded encoder.
    const text = tabularCsv(40, 2).trim().split('\n').map((l) => { const c = l.split(','); return [c[4], c[2], c[0], c[3], c[1]].join(','); }).join('\n');
    const t = parseCsv(text + '\n', { file: 'shuffled.csv' });
    const a = run.encode(t);
    const b = onnx.encode(t);
    expect(Array.from(b.y!)).toEqual(Array.from(a.y!));
    const pa = await run.predict(a.x, a.rows);
    const pb = await onnx.predict(b.x, b.rows);
    for (let i = 0; i < pa.probabilities.length; i++) expect(pb.probabilities[i]).toBeCloseTo(pa.probabilities[i], 5);
    expect(onnx.inputGradient).toBeUndefined();
  });
});
