import { describe, expect, it } from 'vitest';
import { decide, fairnessReport, optimizeThresholds, positiveScores, reweighingExperiment, reweighingWeights } from '../../src/eval/fairness.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectCode } from '../expect-error.ts';

describe('fairness metrics on hand cases', () => {
  it('per-group rates, parity, equalized odds, equal opportunity', () => {
    // group a: y = 1 1 0 0, pred = 1 1 1 0 → sel 3/4, TPR 1, FPR 1/2
    // group b: y = 1 1 0 0, pred = 1 0 0 0 → sel 1/4, TPR 1/2, FPR 0
    const y = [1, 1, 0, 0, 1, 1, 0, 0];
    const p = [1, 1, 1, 0, 1, 0, 0, 0];
    const g = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b'];
    const r = fairnessReport(y, p, g, { minGroupSize: 1 });
    expect(r.groups.map((x) => [x.group, x.selectionRate, x.tpr, x.fpr, x.baseRate, x.accuracy])).toEqual([
      ['a', 0.75, 1, 0.5, 0.5, 0.75],
      ['b', 0.25, 0.5, 0, 0.5, 0.75],
    ]);
    expect(r.demographicParityDifference).toBe(0.5);
    expect(r.demographicParityRatio).toBeCloseTo(1 / 3, 12);
    expect(r.equalOpportunityDifference).toBe(0.5);
    expect(r.equalizedOddsDifference).toBe(0.5);
    expect(r.accuracy).toBe(0.75);
  });

  it('a group without positives leaves TPR out; identical groups give zero differences', () => {
    const r = fairnessReport([0, 0, 1, 0], [0, 1, 1, 0], ['a', 'a', 'b', 'b'], { minGroupSize: 1 });
    expect(r.groups[0].tpr).toBeNaN();
    expect(r.equalOpportunityDifference).toBe(0);
    const same = fairnessReport([1, 0, 1, 0], [1, 0, 1, 0], ['a', 'a', 'b', 'b'], { minGroupSize: 1 });
    expect([same.demographicParityDifference, same.equalizedOddsDifference, same.demographicParityRatio]).toEqual([0, 0, 1]);
    expectCode(() => fairnessReport([1, 0], [1], ['a', 'b']), 'E_EVAL_LENGTH');
  });

  it('positive class: second of two by default, must be named for more', () => {
    const d = { labels: Int32Array.of(1, 0), probs: Float64Array.of(0.3, 0.7, 0.6, 0.4), classes: ['no', 'yes'] };
    const s = positiveScores(d);
    expect([...s.score]).toEqual([0.7, 0.4]);
    expect([...s.actual]).toEqual([1, 0]);
    expectCode(() => positiveScores({ labels: Int32Array.of(0), probs: Float64Array.of(0.2, 0.3, 0.5), classes: ['x', 'y', 'z'] }), 'E_USAGE');
    expectCode(() => positiveScores(d, 'maybe'), 'E_USAGE', /'maybe'/);
    expect([...decide(Float64Array.of(0.7, 0.4), ['a', 'b'], { a: 0.8, b: 0.3 })]).toEqual([0, 1]);
  });
});

describe('mitigations', () => {
  it('reweighing makes label and group independent in the weighted data', () => {
    expect([...reweighingWeights(['1', '1', '0', '0'], ['a', 'a', 'a', 'b'])]).toEqual([0.75, 0.75, 1.5, 0.5]);
    const rng = new Rng(2);
    const g = Array.from({ length: 500 }, () => (rng.next() < 0.3 ? 'b' : 'a'));
    const y = g.map((x) => (rng.next() < (x === 'a' ? 0.7 : 0.2) ? 1 : 0));
    const w = reweighingWeights(y, g);
    const mass = (gg: string, yy: number) => w.reduce((s, v, i) => s + (g[i] === gg && y[i] === yy ? v : 0), 0);
    for (const gg of ['a', 'b']) {
      const share = mass(gg, 1) / (mass(gg, 1) + mass(gg, 0));
      expect(share).toBeCloseTo(y.reduce((s: number, v) => s + v, 0) / 500, 5);
    }
    expect(w.reduce((s, v) => s + v, 0)).toBeCloseTo(500, 3);
  });

  it('per-group thresholds equalise selection rate or TPR of a biased scorer, with the accuracy cost shown; fair scores stay put', () => {
    const rng = new Rng(5);
    const n = 2000;
    const groups = Array.from({ length: n }, (_, i) => (i % 2 ? 'b' : 'a'));
    const actual = Uint8Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
    // The model under-scores group b by 0.25.
    const score = Float64Array.from({ length: n }, (_, i) => Math.min(1, Math.max(0, 0.5 + (actual[i] ? 0.2 : -0.2) + 0.15 * rng.normal() - (groups[i] === 'b' ? 0.25 : 0))));
    const dp = optimizeThresholds(score, actual, groups, { objective: 'selection_rate' });
    expect(dp.before.demographicParityDifference).toBeGreaterThan(0.2);
    expect(dp.after.demographicParityDifference).toBeLessThanOrEqual(0.02);
    expect(dp.thresholds.b).toBeLessThan(dp.thresholds.a);
    expect(dp.accuracyCost).toBeCloseTo(dp.before.accuracy - dp.after.accuracy, 12);
    const eo = optimizeThresholds(score, actual, groups, { objective: 'tpr' });
    expect(eo.before.equalOpportunityDifference).toBeGreaterThan(0.2);
    expect(eo.after.equalOpportunityDifference).toBeLessThanOrEqual(0.02);
    // Here the bias also costs accuracy, so fixing it pays: negative cost.
    expect(eo.after.accuracy).toBeGreaterThan(eo.before.accuracy);
    const fair = Float64Array.from({ length: n }, (_, i) => score[i] + (groups[i] === 'b' ? 0.25 : 0));
    const quiet = optimizeThresholds(fair, actual, groups, { objective: 'tpr' });
    expect(quiet.before.equalOpportunityDifference).toBeLessThan(0.06);
    expect(Math.abs(quiet.accuracyCost)).toBeLessThan(0.02);
  });

  it('reweighing retrains with per-example weights (src/train/fit.ts) and narrows the parity gap', async () => {
    const make = (seed: number, n: number) => {
      const rng = new Rng(seed);
      const groups: string[] = [];
      const x = new Float32Array(n * 2);
      const y = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const a = rng.next() < 0.5;
        groups.push(a ? 'a' : 'b');
        const x1 = rng.normal();
        x[2 * i] = x1;
        x[2 * i + 1] = a ? 1 : 0;
        y[i] = x1 + (a ? 1.2 : 0) + 0.5 * rng.normal() > 0.6 ? 1 : 0;
      }
      return { x, y, groups };
    };
    const r = await reweighingExperiment({ train: make(1, 800), test: make(2, 800), features: 2, classes: 2, hyper: { hidden: [8], epochs: 15, batchSize: 64, lr: 1e-2, seed: 3 } });
    expect(r.before.demographicParityDifference).toBeGreaterThan(0.3);
    expect(r.after.demographicParityDifference).toBeLessThan(r.before.demographicParityDifference - 0.1);
    expect(r.accuracyCost).toBeCloseTo(r.before.accuracy - r.after.accuracy, 12);
    expect(Math.abs(r.accuracyCost)).toBeLessThan(0.1);
  }, 60_000);
});
