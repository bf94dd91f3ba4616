import { describe, expect, it } from 'vitest';
import { fit, MlpTrainer } from '../../src/train/fit.ts';
import { Rng } from '../../src/util/rng.ts';
import { bytesEqual, expectClose, expectSwitchyardError } from './helpers.ts';

/** Three Gaussian blobs in 2-D, `n` rows per class, centres far apart (linearly separable). */
function blobs(n: number, seed: number): { x: Float32Array; y: Int32Array } {
  const rng = new Rng(seed);
  const centres = [[-2, 0], [2, 0], [0, 3]];
  const x = new Float32Array(3 * n * 2);
  const y = new Int32Array(3 * n);
  for (let i = 0; i < 3 * n; i++) {
    const c = i % 3;
    y[i] = c;
    x[2 * i] = centres[c][0] + 0.5 * rng.normal();
    x[2 * i + 1] = centres[c][1] + 0.5 * rng.normal();
  }
  return { x, y };
}

const small = { features: 2, classes: 3, hidden: [8], epochs: 6, batchSize: 16, lr: 1e-2, seed: 3, threads: 1 };

function params(m: { model: { namedParameters(): [string, { data: Float32Array }][] } }): Float32Array[] {
  return m.model.namedParameters().map(([, p]) => Float32Array.from(p.data));
}

function argmaxRows(p: Float32Array, k: number): Int32Array {
  const out = new Int32Array(p.length / k);
  for (let i = 0; i < out.length; i++) for (let c = 1; c < k; c++) if (p[i * k + c] > p[i * k + out[i]]) out[i] = c;
  return out;
}

describe('fit: the in-process MLP training loop', () => {
  const data = blobs(40, 1);

  it('learns separable blobs; the same seed gives byte-identical weights, another seed different ones', async () => {
    const a = await fit({ ...data, ...small });
    const b = await fit({ ...data, ...small });
    const c = await fit({ ...data, ...small, seed: 4 });
    const p = await a.predictProba(data.x);
    expect(p.length).toBe(data.y.length * 3);
    for (let i = 0; i < data.y.length; i++) expect(Math.abs(p[3 * i] + p[3 * i + 1] + p[3 * i + 2] - 1)).toBeLessThan(1e-5);
    const pred = argmaxRows(p, 3);
    expect(pred.filter((v, i) => v === data.y[i]).length / data.y.length).toBeGreaterThan(0.95);
    expect(Array.from(await a.predict(data.x))).toEqual(Array.from(pred));
    expect(a.history[a.history.length - 1]).toBeLessThan(a.history[0]);
    params(a).forEach((w, i) => expect(bytesEqual(w, params(b)[i])).toBe(true));
    expect(params(a).every((w, i) => bytesEqual(w, params(c)[i]))).toBe(false);
    await Promise.all([a.release(), b.release(), c.release()]);
  });

  it('weights of all ones train like no weights', async () => {
    const a = await fit({ ...data, ...small });
    const b = await fit({ ...data, ...small, weights: new Float32Array(data.y.length).fill(1) });
    expectClose(b.history, a.history, 1e-4, 1e-6, 'loss');
    params(a).forEach((w, i) => expectClose(params(b)[i], w, 1e-3, 1e-5, `param ${i}`));
    await Promise.all([a.release(), b.release()]);
  });

  it('an integer weight counts like a repeated row (full-batch training)', async () => {
    const n = 30;
    const x = data.x.slice(0, 2 * n);
    const y = data.y.slice(0, n);
    const w = Float32Array.from({ length: n }, (_, i) => 1 + (i % 3));
    const rows: number[] = [];
    for (let i = 0; i < n; i++) for (let k = 0; k < w[i]; k++) rows.push(i);
    const xr = Float32Array.from(rows.flatMap((r) => [x[2 * r], x[2 * r + 1]]));
    const yr = Int32Array.from(rows, (r) => y[r]);
    const opts = { ...small, epochs: 5, optimizer: 'sgd' as const, lr: 0.1 };
    const a = await fit({ x, y, weights: w, ...opts, batchSize: n });
    const b = await fit({ x: xr, y: yr, ...opts, batchSize: rows.length });
    expectClose(a.history, b.history, 1e-4, 1e-6, 'loss');
    params(a).forEach((p, i) => expectClose(p, params(b)[i], 1e-4, 1e-6, `param ${i}`));
    await Promise.all([a.release(), b.release()]);
  });

  it('zero weight on a class removes its influence: its rows can change without changing the model', async () => {
    const weights = Float32Array.from(data.y, (c) => (c === 2 ? 0 : 1));
    // The same rows with class 2's features scrambled and labels moved to class 0.
    const rng = new Rng(9);
    const x2 = Float32Array.from(data.x);
    const y2 = Int32Array.from(data.y);
    for (let i = 0; i < y2.length; i++) {
      if (y2[i] !== 2) continue;
      y2[i] = 0;
      x2[2 * i] = 5 * rng.normal();
      x2[2 * i + 1] = 5 * rng.normal();
    }
    const a = await fit({ ...data, ...small, weights });
    const b = await fit({ x: x2, y: y2, ...small, weights });
    params(a).forEach((w, i) => expect(bytesEqual(w, params(b)[i]), `param ${i}`).toBe(true));
    // Sensitivity: without the zero weights, the same change does change the model.
    const c = await fit({ ...data, ...small });
    const d = await fit({ x: x2, y: y2, ...small });
    expect(params(c).every((w, i) => bytesEqual(w, params(d)[i]))).toBe(false);
    // Class 2 is never a target, so the model learns to put less mass on it than an unweighted fit does.
    const mass = async (m: typeof a) => {
      const p = await m.predictProba(data.x);
      let s = 0;
      for (let i = 0; i < data.y.length; i++) s += p[3 * i + 2];
      return s / data.y.length;
    };
    expect(await mass(c)).toBeGreaterThan(0.25);
    expect(await mass(a)).toBeLessThan(0.5 * (await mass(c)));
    await Promise.all([a.release(), b.release(), c.release(), d.release()]);
  });

  it('regression: fits a linear target; predictProba is refused', async () => {
    const rng = new Rng(2);
    const n = 120;
    const x = Float32Array.from({ length: 2 * n }, () => rng.normal());
    const y = Float32Array.from({ length: n }, (_, i) => 0.8 * x[2 * i] - 0.5 * x[2 * i + 1]);
    const m = await fit({ x, y, features: 2, task: 'regression', hidden: [16], epochs: 30, batchSize: 16, lr: 1e-2, seed: 1, threads: 1 });
    const pred = await m.predict(x);
    let se = 0;
    let ss = 0;
    for (let i = 0; i < n; i++) { se += (pred[i] - y[i]) ** 2; ss += y[i] ** 2; }
    expect(se / ss).toBeLessThan(0.05);
    const e = await expectSwitchyardError(() => m.predictProba(x), 'E_TASK', /predictProba: a regression model has no class probabilities/);
    expect(e.hint).toBe('use predict');
    await m.release();
  });

  it('trains on a subset of rows, and evaluate reports loss and accuracy on others', async () => {
    const rows = Int32Array.from({ length: 60 }, (_, i) => i);
    const held = Int32Array.from({ length: 60 }, (_, i) => 60 + i);
    const t = await MlpTrainer.create({ ...data, ...small, rows });
    expect(t.microPerEpoch).toBe(Math.ceil(60 / 16));
    for (let e = 1; e <= t.epochs; e++) await t.runEpoch(e);
    const v = await t.evaluate(data.x, data.y, held);
    expect(v.accuracy).toBeGreaterThan(0.9);
    expect(v.loss).toBeGreaterThan(0);
    await t.release();
  });

  it('bad input: weights of the wrong length or negative, x of the wrong size', async () => {
    await expectSwitchyardError(() => fit({ ...data, ...small, weights: new Float32Array(3) }), 'E_CONFIG', /3 weights for 120 rows/);
    await expectSwitchyardError(() => fit({ ...data, ...small, weights: new Float32Array(120).fill(-1) }), 'E_CONFIG', /weight of row 0 is -1/);
    await expectSwitchyardError(() => fit({ ...data, ...small, x: data.x.subarray(1) }), 'E_CONFIG', /x holds 239 values/);
  });
});
