import { afterAll, describe, expect, it } from 'vitest';
import { energyScore, fitMahalanobis, fprAtTpr, mahalanobisScore, mspScore, oodDetection, shiftedCopy } from '../../src/eval/ood.ts';
import type { TabularEvalModel } from '../../src/eval/model.ts';
import { gaussianData, tinyClassifier } from './helpers.ts';

/** AUROC by counting pairs (independent of the library's implementation): P(out > in) + ½ P(tie). */
function pairAuroc(inS: ArrayLike<number>, outS: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < inS.length; i++) for (let j = 0; j < outS.length; j++) s += outS[j] > inS[i] ? 1 : outS[j] === inS[i] ? 0.5 : 0;
  return s / (inS.length * outS.length);
}

describe('OOD scores', () => {
  const models: TabularEvalModel[] = [];
  afterAll(async () => { for (const m of models) await m.release(); });

  it('MSP and energy follow their definitions', () => {
    const p = new Float32Array([0.7, 0.2, 0.1, 1 / 3, 1 / 3, 1 / 3]);
    expect(Array.from(mspScore(p, 3))).toEqual([-Math.fround(0.7), -Math.fround(1 / 3)]);
    const logits = new Float32Array([2, 0, -1, 100, 100, 100]);
    const e = energyScore(logits, 3);
    expect(e[0]).toBeCloseTo(-Math.log(Math.exp(2) + 1 + Math.exp(-1)), 10);
    expect(e[1]).toBeCloseTo(-(100 + Math.log(3)), 8);
    expect(energyScore(logits, 3, 2)[0]).toBeCloseTo(-2 * Math.log(Math.exp(1) + 1 + Math.exp(-0.5)), 10);
  });

  it('Mahalanobis matches a hand computation on a tiny case', () => {
    // Two classes in 2-D: class 0 at (0,0),(2,0); class 1 at (0,2),(2,2).
    const f = new Float32Array([0, 0, 2, 0, 0, 2, 2, 2]);
    const y = [0, 0, 1, 1];
    const det = fitMahalanobis(f, y, 2, 2, 0);
    // Means (1,0) and (1,2); residuals (±1, 0) → Σ = [[1, 0], [0, 0]] + 1e-9 I.
    expect(Array.from(det.means)).toEqual([1, 0, 1, 2]);
    const det2 = fitMahalanobis(new Float32Array([0, 0, 2, 1, 0, 2, 2, 3]), y, 2, 2, 0);
    // Means (1, .5), (1, 2.5); residuals (−1,−.5),(1,.5) twice → Σ = [[1, .5], [.5, .25]] (singular) + 1e-9 I
    expect(det2.ridge).toBeCloseTo(1e-9, 15);
    // With a ridge: Σ' = Σ + λ I, λ = 0.1 · trace/2 + 1e-9.
    const det3 = fitMahalanobis(new Float32Array([0, 0, 2, 1, 0, 2, 2, 3]), y, 2, 2, 0.1);
    const lam = 0.1 * (1.25 / 2) + 1e-9;
    const S = [[1 + lam, 0.5], [0.5, 0.25 + lam]];
    const det0 = S[0][0] * S[1][1] - S[0][1] * S[1][0];
    const inv = [[S[1][1] / det0, -S[0][1] / det0], [-S[1][0] / det0, S[0][0] / det0]];
    const q = (d: number[]) => d[0] * (inv[0][0] * d[0] + inv[0][1] * d[1]) + d[1] * (inv[1][0] * d[0] + inv[1][1] * d[1]);
    const point = [3, 1];
    const want = Math.min(q([point[0] - 1, point[1] - 0.5]), q([point[0] - 1, point[1] - 2.5]));
    expect(mahalanobisScore(det3, new Float32Array(point))[0]).toBeCloseTo(want, 9);
  });

  it('FPR at 95% TPR counts in-distribution rows above the OOD threshold', () => {
    const ood = Array.from({ length: 20 }, (_, i) => i + 10); // 10..29: 95% are >= 11
    expect(fprAtTpr([0, 5, 10.5, 12, 40], ood)).toBeCloseTo(2 / 5, 12);
    expect(fprAtTpr([0, 1], [5, 6])).toBe(0);
  });

  it('scores separate a clearly shifted set and not an identically distributed one', async () => {
    const F = 5;
    const m = await tinyClassifier(F, [32, 16], 3, 11);
    models.push(m);
    const rows = 400;
    const ref = gaussianData(rows, F, 1);
    const same = gaussianData(rows, F, 2);
    const shifted = shiftedCopy(same, rows, F, { k: 6, seed: 3 });
    const [oRef, oSame, oShift] = [await m.predict(ref, rows), await m.predict(same, rows), await m.predict(shifted, rows)];
    const labels = Int32Array.from({ length: rows }, (_, r) => { const p = oRef.probabilities.subarray(r * 3, r * 3 + 3); return p.indexOf(Math.max(...p)); });
    const det = fitMahalanobis(oRef.features, labels, m.featureDim, 3);
    const maha = (o: typeof oRef) => mahalanobisScore(det, o.features);
    expect(pairAuroc(maha(oSame), maha(oShift))).toBeGreaterThan(0.95);
    expect(Math.abs(pairAuroc(maha(oRef), maha(oSame)) - 0.5)).toBeLessThan(0.08);
    expect(Math.abs(pairAuroc(energyScore(oRef.logits, 3), energyScore(oSame.logits, 3)) - 0.5)).toBeLessThan(0.08);
    expect(Math.abs(pairAuroc(mspScore(oRef.probabilities, 3), mspScore(oSame.probabilities, 3)) - 0.5)).toBeLessThan(0.08);
    expect(fprAtTpr(maha(oSame), maha(oShift))).toBeLessThan(0.2);
  });

  it('the shifted copy moves only free features, by k stds', () => {
    const x = gaussianData(1000, 3, 5);
    const mask = new Float32Array([1, 0, 1]);
    const s = shiftedCopy(x, 1000, 3, { k: 2, mask, seed: 1 });
    for (let j = 0; j < 3; j++) {
      let d = 0;
      for (let r = 0; r < 1000; r++) d += s[r * 3 + j] - x[r * 3 + j];
      d /= 1000;
      if (j === 1) expect(d).toBe(0);
      else expect(Math.abs(d)).toBeGreaterThan(1.8);
    }
  });
});

describe('oodDetection', () => {
  it('agrees with pair counting, and gives AUPR 1 for a perfect separation', () => {
    const inS = [0.1, 0.4, 0.4, 0.8, 0.3];
    const outS = [0.4, 0.9, 0.7];
    const d = oodDetection(inS, outS);
    expect(d.auroc).toBeCloseTo(pairAuroc(inS, outS), 12);
    const p = oodDetection([0, 1, 2], [3, 4]);
    expect(p.auroc).toBe(1);
    expect(p.aupr).toBe(1);
    expect(p.fpr95).toBe(0);
    expect(p.roc.x[0]).toBe(0);
  });
});
