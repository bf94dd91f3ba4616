import { afterAll, describe, expect, it } from 'vitest';
import { attackSurface, fgsm, maxPerturbation, PgdAttack, robustAccuracyCurve } from '../../src/eval/adversarial.ts';
import type { TabularEvalModel } from '../../src/eval/model.ts';
import { Rng } from '../../src/util/rng.ts';
import { gaussianData, tinyClassifier } from './helpers.ts';

const F = 4;
const C = 3;
// Softmax regression: logits = W x + b, weights set by the test.
const W = [[1.5, -2, 0.5, 0], [-1, 0.25, 2, -0.5], [0.3, 1, -1.2, 2.5]];
const B = [0.1, -0.2, 0.05];

function closedFormFgsm(x: Float32Array, y: Int32Array, eps: number): Float64Array {
  // d CE / d x = W^T (softmax(Wx + b) - onehot(y)); FGSM moves every feature by eps in its sign.
  const out = new Float64Array(x.length);
  const rows = y.length;
  for (let r = 0; r < rows; r++) {
    const z = W.map((w, c) => w.reduce((a, wj, j) => a + wj * x[r * F + j], B[c]));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / s);
    for (let j = 0; j < F; j++) {
      let g = 0;
      for (let c = 0; c < C; c++) g += W[c][j] * (p[c] - (c === y[r] ? 1 : 0));
      out[r * F + j] = x[r * F + j] + eps * Math.sign(g);
    }
  }
  return out;
}

describe('adversarial attacks', () => {
  const models: TabularEvalModel[] = [];
  afterAll(async () => { for (const m of models) await m.release(); });

  it('FGSM on softmax regression matches the closed form x + eps sign(W^T (p - e_y))', async () => {
    const m = await tinyClassifier(F, [], C, 0, (p) => {
      p.get('layers.0.weight')!.set(W.flat());
      p.get('layers.0.bias')!.set(B);
    });
    models.push(m);
    const rows = 64;
    const x = gaussianData(rows, F, 1);
    const rng = new Rng(2);
    const y = Int32Array.from({ length: rows }, () => rng.int(C));
    // The engine's input gradient equals the analytic one.
    const { grad } = await m.inputGradient!(x, y, rows);
    const eps = 0.3;
    const want = closedFormFgsm(x, y, eps);
    const pgd = await PgdAttack.compile(m, 'linf', { threads: 1 });
    const r = await fgsm(pgd, x, y, rows, eps);
    for (let i = 0; i < x.length; i++) {
      expect(Math.sign(grad[i])).toBe(Math.sign((want[i] - x[i]) / eps));
      expect(r.xAdv[i]).toBeCloseTo(want[i], 5);
    }
    // L2 FGSM: one step of length eps along the gradient.
    const pgd2 = await PgdAttack.compile(m, 'l2', { threads: 1 });
    const r2 = await fgsm(pgd2, x, y, rows, eps);
    for (let row = 0; row < rows; row++) {
      const g = grad.subarray(row * F, (row + 1) * F);
      const n = Math.hypot(...g);
      for (let j = 0; j < F; j++) expect(r2.xAdv[row * F + j]).toBeCloseTo(x[row * F + j] + (eps * g[j]) / n, 4);
    }
    await pgd.release();
    await pgd2.release();
  });

  it('PGD stays inside its budget and the valid range, and is at least as strong as FGSM', async () => {
    const m = await tinyClassifier(6, [16], 3, 3);
    models.push(m);
    const rows = 300;
    const x = gaussianData(rows, 6, 4);
    const { probabilities } = await m.predict(x, rows);
    // Labels = the model's own predictions, so clean accuracy is 1 and every flip is the attack's doing.
    const y = Int32Array.from({ length: rows }, (_, r) => { const p = probabilities.subarray(r * 3, r * 3 + 3); return p.indexOf(Math.max(...p)); });
    const surface = attackSurface(null, x, rows);
    surface.mask[5] = 0; // a frozen feature
    for (const norm of ['linf', 'l2'] as const) {
      const pgd = await PgdAttack.compile(m, norm, { threads: 1 });
      for (const eps of [0.05, 0.3, 1]) {
        const p = await pgd.run(x, y, rows, { norm, eps, steps: 10, randomStart: true, seed: 1, surface });
        expect(maxPerturbation(x, p.xAdv, 6, norm)).toBeLessThanOrEqual(eps * (1 + 1e-5) + 1e-6);
        for (let r = 0; r < rows; r++) {
          expect(p.xAdv[r * 6 + 5]).toBe(x[r * 6 + 5]);
          for (let j = 0; j < 6; j++) {
            const v = x[r * 6 + j];
            expect(p.xAdv[r * 6 + j]).toBeGreaterThanOrEqual(Math.min(surface.lo[j], v) - 1e-6);
            expect(p.xAdv[r * 6 + j]).toBeLessThanOrEqual(Math.max(surface.hi[j], v) + 1e-6);
          }
        }
        const f = await fgsm(pgd, x, y, rows, eps, surface);
        const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
        // Near-linear small budgets make FGSM nearly optimal: PGD then matches it (random start costs a hair);
        // larger budgets let the iterations find clearly worse points.
        if (eps < 1) expect(mean(p.loss)).toBeGreaterThanOrEqual(mean(f.loss) * (1 - 1e-3));
        else expect(mean(p.loss)).toBeGreaterThan(mean(f.loss));
        const acc = (q: Int32Array) => q.reduce((a, v, i) => a + (v === y[i] ? 1 : 0), 0) / rows;
        expect(acc(p.predictions)).toBeLessThanOrEqual(acc(f.predictions) + 0.01);
      }
      await pgd.release();
    }
    const curve = await robustAccuracyCurve(m, x, y, rows, { norm: 'linf', epsilons: [0, 0.1, 0.5, 2], steps: 10, surface, threads: 1 });
    expect(curve[0].pgdAccuracy).toBe(1);
    for (let i = 1; i < curve.length; i++) {
      expect(curve[i].pgdAccuracy).toBeLessThanOrEqual(curve[i - 1].pgdAccuracy);
      expect(curve[i].pgdAccuracy).toBeLessThanOrEqual(curve[i].fgsmAccuracy);
    }
    expect(curve[3].pgdAccuracy).toBeLessThan(0.5);
  });

  it('refuses models without engine gradients', async () => {
    const m = await tinyClassifier(2, [], 2);
    models.push(m);
    await expect(PgdAttack.compile({ ...m, traced: undefined }, 'linf')).rejects.toThrow(/Switchyard classifier/);
  });
});
