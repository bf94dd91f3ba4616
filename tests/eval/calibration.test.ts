import { describe, expect, it } from 'vitest';
import { applyTemperature, assignBins, brierScore, calibrationSummary, classwiseEce, fitTemperature, reliabilityBins, topLabel } from '../../src/eval/calibration.ts';
import { ClassificationScorer } from '../../src/eval/metrics.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectCode } from '../expect-error.ts';

/** ECE straight from the definition: bins ((m-1)/M, m/M], Σ |B_m|/n · |acc(B_m) - conf(B_m)|. */
function eceByDefinition(conf: number[], correct: number[], M: number): { ece: number; mce: number } {
  let ece = 0;
  let mce = 0;
  for (let m = 1; m <= M; m++) {
    const idx = conf.map((c, i) => [c, i]).filter(([c]) => (m === 1 ? c <= 1 / M : c > (m - 1) / M && c <= m / M)).map(([, i]) => i);
    if (idx.length === 0) continue;
    const acc = idx.reduce((s, i) => s + correct[i], 0) / idx.length;
    const cf = idx.reduce((s, i) => s + conf[i], 0) / idx.length;
    ece += (idx.length / conf.length) * Math.abs(acc - cf);
    mce = Math.max(mce, Math.abs(acc - cf));
  }
  return { ece, mce };
}

function randomData(seed: number, n: number, k: number): { labels: Int32Array; probs: Float64Array } {
  const rng = new Rng(seed);
  const labels = Int32Array.from({ length: n }, () => rng.int(k));
  const probs = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const e = Array.from({ length: k }, (_, c) => Math.exp(2 * rng.normal() + (c === labels[i] ? 1 : 0)));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, c) => (probs[i * k + c] = v / s));
  }
  return { labels, probs };
}

describe('calibration errors against their definitions', () => {
  it('equal-width ECE and MCE', () => {
    const { labels, probs } = randomData(1, 500, 3);
    const { conf, correct } = topLabel(probs, 3, labels);
    const s = calibrationSummary({ labels, probs, classes: ['a', 'b', 'c'] }, 10);
    const ref = eceByDefinition([...conf], [...correct], 10);
    expect(s.ece).toBeCloseTo(ref.ece, 12);
    expect(s.mce).toBeCloseTo(ref.mce, 12);
    const sc = new ClassificationScorer({ labels, probs, classes: ['a', 'b', 'c'] }).pointMetrics();
    expect(sc.ece).toBeCloseTo(ref.ece, 12);
    expect(sc.mce).toBeCloseTo(ref.mce, 12);
    expect(sc.classwise_ece).toBeCloseTo(s.classwiseEce, 12);
    expect(sc.ece_adaptive).toBeCloseTo(s.eceAdaptive, 12);
    expect(sc.brier).toBeCloseTo(s.brier, 12);
  });

  it('adaptive ECE: equal-count bins over sorted confidence, by hand', () => {
    // 8 examples, 4 bins of 2 after sorting by confidence.
    const conf = [0.95, 0.55, 0.6, 0.9, 0.7, 0.8, 0.65, 0.75];
    const correct = [1, 0, 1, 1, 0, 1, 1, 0];
    expect([...assignBins(Float64Array.from(conf), 4, 'mass')]).toEqual([3, 0, 0, 3, 1, 2, 1, 2]);
    const probs = Float64Array.from(conf.flatMap((c) => [c, 1 - c])); // class 0 predicted everywhere
    const labels = Int32Array.from(correct, (h) => (h ? 0 : 1));
    // bins: {0.55:0, 0.6:1} {0.65:1, 0.7:0} {0.75:0, 0.8:1} {0.9:1, 0.95:1}
    const gaps = [Math.abs(0.5 - 0.575), Math.abs(0.5 - 0.675), Math.abs(0.5 - 0.775), Math.abs(1 - 0.925)];
    expect(calibrationSummary({ labels, probs, classes: ['a', 'b'] }, 4).eceAdaptive).toBeCloseTo(gaps.reduce((a, b) => a + b) / 4, 12);
  });

  it('classwise ECE and Brier by hand; perfect predictions score 0', () => {
    const probs = Float64Array.of(0.8, 0.2, 0.3, 0.7);
    const labels = Int32Array.of(0, 0);
    // class 0: p = 0.8 (hit) in bin 8, 0.3 (hit) in bin 3: (|1-0.8| + |1-0.3|)/2 = 0.45
    // class 1: p = 0.2 (miss), 0.7 (miss): (0.2 + 0.7)/2 = 0.45
    expect(classwiseEce(probs, 2, labels, 10)).toBeCloseTo(0.45, 12);
    expect(brierScore(probs, 2, labels)).toBeCloseTo((0.04 + 0.04 + 0.49 + 0.49) / 2, 12);
    expect(classwiseEce(Float64Array.of(1, 0, 0, 1), 2, Int32Array.of(0, 1))).toBe(0);
    expect(brierScore(Float64Array.of(1, 0, 0, 1), 2, Int32Array.of(0, 1))).toBe(0);
  });

  it('reliability bins hold counts, mean confidence and accuracy', () => {
    const bins = reliabilityBins(Float64Array.of(0.91, 0.99, 0.15), Uint8Array.of(1, 0, 1), 10);
    expect(bins).toHaveLength(2);
    expect(bins[0]).toMatchObject({ lo: 0.1, hi: 0.2, count: 1, accuracy: 1 });
    expect(bins[1].count).toBe(2);
    expect(bins[1].confidence).toBeCloseTo(0.95, 12);
    expect(bins[1].accuracy).toBe(0.5);
  });
});

describe('temperature scaling', () => {
  it('recovers a planted temperature and lowers NLL and ECE', () => {
    const rng = new Rng(12);
    const n = 6000;
    const k = 4;
    const planted = 2.5;
    const logits = new Float64Array(n * k);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < k; c++) logits[i * k + c] = 4 * rng.normal();
      const p = applyTemperature(logits.subarray(i * k, (i + 1) * k), k, planted);
      let u = rng.next();
      let y = 0;
      while (y < k - 1 && u >= p[y]) u -= p[y++];
      labels[i] = y;
    }
    const fit = fitTemperature(logits, labels, k);
    expect(Math.abs(fit.temperature - planted)).toBeLessThan(0.15);
    expect(fit.nllAfter).toBeLessThan(fit.nllBefore);
    const classes = ['a', 'b', 'c', 'd'];
    const before = calibrationSummary({ labels, probs: applyTemperature(logits, k, 1), classes });
    const after = calibrationSummary({ labels, probs: applyTemperature(logits, k, fit.temperature), classes });
    expect(after.ece).toBeLessThan(before.ece / 3);
    // Already calibrated logits: T stays near 1.
    const calibratedLabels = labels;
    const scaled = Float64Array.from(logits, (z) => z / planted);
    expect(Math.abs(fitTemperature(scaled, calibratedLabels, k).temperature - 1)).toBeLessThan(0.06);
  });

  it('bad input: lengths that do not match, no examples', () => {
    expectCode(() => fitTemperature(Float64Array.of(1, 2, 3), Int32Array.of(0, 1), 2), 'E_EVAL_LENGTH');
    expectCode(() => fitTemperature(new Float64Array(0), new Int32Array(0), 2), 'E_EVAL_EMPTY');
  });
});
