import { describe, expect, it } from 'vitest';
import { metricsWithCi } from '../../src/eval/bootstrap-metrics.ts';
import { ClassificationScorer } from '../../src/eval/metrics.ts';
import { labelIndices } from '../../src/eval/metrics-input.ts';
import { LanguageModelScorer, RegressionScorer } from '../../src/eval/metrics-regression.ts';
import { aucAndAp, curves, rankScores } from '../../src/eval/metrics-rank.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectCode } from '../expect-error.ts';

/** Probabilities that put `hi` on the predicted class and spread the rest evenly. */
function probsFor(pred: number[], k: number, hi = 0.8): Float64Array {
  const p = new Float64Array(pred.length * k).fill((1 - hi) / (k - 1));
  pred.forEach((c, i) => (p[i * k + c] = hi));
  return p;
}

/** Independent AUC: P(score_pos > score_neg) + 0.5·P(tie) over all pairs. */
function pairwiseAuc(scores: number[], pos: number[]): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < scores.length; i++)
    for (let j = 0; j < scores.length; j++)
      if (pos[i] && !pos[j]) {
        s += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
        n++;
      }
  return s / n;
}

/** Independent AP: Σ over distinct thresholds t (descending) of (R_t - R_prev)·P_t. */
function thresholdAp(scores: number[], pos: number[]): number {
  const P = pos.reduce((a, b) => a + b, 0);
  let ap = 0;
  let prevR = 0;
  for (const t of [...new Set(scores)].sort((a, b) => b - a)) {
    let tp = 0;
    let sel = 0;
    scores.forEach((s, i) => {
      if (s >= t) {
        sel++;
        tp += pos[i];
      }
    });
    ap += (tp / P - prevR) * (tp / sel);
    prevR = tp / P;
  }
  return ap;
}

describe('classification metrics on hand cases (scikit-learn documentation examples)', () => {
  it('precision / recall / F1 macro, micro, per class; balanced accuracy; confusion', () => {
    const m = new ClassificationScorer({ labels: Int32Array.of(0, 1, 2, 0, 1, 2), probs: probsFor([0, 2, 1, 0, 0, 1], 3), classes: ['a', 'b', 'c'] }).pointMetrics();
    expect(m.accuracy).toBeCloseTo(1 / 3, 12);
    expect(m.precision_macro).toBeCloseTo(2 / 9, 12);
    expect(m.recall_macro).toBeCloseTo(1 / 3, 12);
    expect(m.f1_macro).toBeCloseTo(0.8 / 3, 12);
    expect(m.f1_micro).toBeCloseTo(1 / 3, 12);
    expect(m['f1:a']).toBeCloseTo(0.8, 12);
    expect(m['precision:a']).toBeCloseTo(2 / 3, 12);
    expect(m['f1:b']).toBe(0);
    expect(m.balanced_accuracy).toBeCloseTo(1 / 3, 12);
    const s = new ClassificationScorer({ labels: Int32Array.of(0, 1, 2, 0, 1, 2), probs: probsFor([0, 2, 1, 0, 0, 1], 3), classes: ['a', 'b', 'c'] });
    expect(s.confusion()).toEqual([[2, 0, 0], [1, 0, 1], [0, 2, 0]]);
  });

  it('ROC-AUC and average precision, binary, with and without ties', () => {
    const probs = Float64Array.from([0.1, 0.4, 0.35, 0.8].flatMap((p) => [1 - p, p]));
    const m = new ClassificationScorer({ labels: Int32Array.of(0, 0, 1, 1), probs, classes: ['n', 'y'] }).pointMetrics();
    expect(m.roc_auc).toBeCloseTo(0.75, 12);
    expect(m.pr_auc).toBeCloseTo(0.8333333333333333, 12);
    const tied = aucAndAp(rankScores([0.5, 0.5, 0.5, 0.5], Uint8Array.of(1, 0, 1, 0)), Int32Array.of(1, 1, 1, 1));
    expect([...tied]).toEqual([0.5, 0.5]);
    const rng = new Rng(4);
    for (let trial = 0; trial < 20; trial++) {
      const n = 5 + rng.int(40);
      const scores = Array.from({ length: n }, () => rng.int(6) / 5); // many ties
      const pos = Array.from({ length: n }, (_, i) => (i < 2 ? i : rng.int(2)));
      const w = new Int32Array(n).fill(1);
      const [auc, ap] = aucAndAp(rankScores(scores, Uint8Array.from(pos)), w);
      expect(auc).toBeCloseTo(pairwiseAuc(scores, pos), 12);
      expect(ap).toBeCloseTo(thresholdAp(scores, pos), 12);
    }
  });

  it('multi-class one-vs-rest AUC is the mean of the per-class AUCs', () => {
    const rng = new Rng(8);
    const n = 60;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    const probs = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      const raw = [rng.next(), rng.next(), rng.next()];
      raw[labels[i]] += 0.5;
      const s = raw[0] + raw[1] + raw[2];
      for (let c = 0; c < 3; c++) probs[i * 3 + c] = raw[c] / s;
    }
    const m = new ClassificationScorer({ labels, probs, classes: ['x', 'y', 'z'] }).pointMetrics();
    const per = [0, 1, 2].map((c) => pairwiseAuc(Array.from({ length: n }, (_, i) => probs[i * 3 + c]), Array.from(labels, (y) => (y === c ? 1 : 0))));
    per.forEach((a, c) => expect(m[`roc_auc:${['x', 'y', 'z'][c]}`]).toBeCloseTo(a, 12));
    expect(m.roc_auc).toBeCloseTo((per[0] + per[1] + per[2]) / 3, 12);
  });

  it('log loss and top-k accuracy', () => {
    // sklearn: log_loss(["spam", "ham", "ham", "spam"], [[.1, .9], [.9, .1], [.8, .2], [.35, .65]])
    const m = new ClassificationScorer({ labels: labelIndices(['spam', 'ham', 'ham', 'spam'], ['ham', 'spam']), probs: Float64Array.of(0.1, 0.9, 0.9, 0.1, 0.8, 0.2, 0.35, 0.65), classes: ['ham', 'spam'] }).pointMetrics();
    expect(m.log_loss).toBeCloseTo(0.21616187468057912, 12);
    const t = new ClassificationScorer({ labels: Int32Array.of(0, 1, 2, 2), probs: Float64Array.of(0.5, 0.2, 0.3, 0.3, 0.4, 0.3, 0.25, 0.45, 0.3, 0.7, 0.2, 0.1), classes: ['a', 'b', 'c'] }).pointMetrics();
    expect(t.top2_accuracy).toBe(0.75);
    expect(t.accuracy).toBe(0.5);
  });

  it('a single class present: AUC undefined (NaN), macro averages over present classes', () => {
    const m = new ClassificationScorer({ labels: Int32Array.of(0, 0, 0), probs: probsFor([0, 0, 1], 2), classes: ['a', 'b'] }).pointMetrics();
    expect(m.accuracy).toBeCloseTo(2 / 3, 12);
    expect(m.roc_auc).toBeNaN();
    expect(m.balanced_accuracy).toBeCloseTo(2 / 3, 12);
    // class a: P = 1, R = 2/3; class b (predicted once, never true): P = 0, R = 0.
    expect(m.precision_macro).toBeCloseTo(0.5, 12);
    expect(m['recall:b']).toBe(0);
  });

  it('weights are the same as repeating examples', () => {
    const rng = new Rng(21);
    const n = 40;
    const k = 3;
    const labels = Int32Array.from({ length: n }, () => rng.int(k));
    const probs = new Float64Array(n * k);
    for (let i = 0; i < n * k; i += k) {
      const r = [rng.next(), rng.next(), rng.next()].map((x) => Math.round(x * 4) + 1); // ties on purpose
      const s = r[0] + r[1] + r[2];
      for (let c = 0; c < k; c++) probs[i + c] = r[c] / s;
    }
    const w = Int32Array.from({ length: n }, () => rng.int(3));
    w[0] = 1;
    const rows = [...w].flatMap((c, i) => Array<number>(c).fill(i));
    const big = new ClassificationScorer({ labels: Int32Array.from(rows, (i) => labels[i]), probs: Float64Array.from(rows.flatMap((i) => [...probs.subarray(i * k, i * k + k)])), classes: ['a', 'b', 'c'] });
    const small = new ClassificationScorer({ labels, probs, classes: ['a', 'b', 'c'] });
    const a = small.score(w);
    const b = big.score(new Int32Array(big.n).fill(1));
    small.names.forEach((name, j) => {
      if (name.includes('ece') || name === 'mce') return; // adaptive bins are cut on the unweighted ranks
      if (Number.isNaN(b[j])) expect(a[j], name).toBeNaN();
      else expect(a[j], name).toBeCloseTo(b[j], 10);
    });
  });
});

describe('regression and language-model metrics', () => {
  it('MAE, RMSE, R² (sklearn documentation example) and constant targets', () => {
    const m = new RegressionScorer(Float64Array.of(2.5, 0, 2, 8), Float64Array.of(3, -0.5, 2, 7)).pointMetrics();
    expect(m.mae).toBeCloseTo(0.5, 12);
    expect(m.rmse).toBeCloseTo(Math.sqrt(0.375), 12);
    expect(m.r2).toBeCloseTo(0.9486081370449679, 12);
    expect(new RegressionScorer([1, 1], [1, 1]).pointMetrics().r2).toBe(1);
    expect(new RegressionScorer([1, 2], [1, 1]).pointMetrics().r2).toBe(0);
  });

  it('loss, perplexity, bits per byte from summed nats', () => {
    const m = new LanguageModelScorer([10, 20], [5, 5], [20, 20]).pointMetrics();
    expect(m.loss).toBe(3);
    expect(m.perplexity).toBeCloseTo(Math.exp(3), 12);
    expect(m.bits_per_byte).toBeCloseTo(30 / (40 * Math.LN2), 12);
    expect(new LanguageModelScorer([1], [1]).pointMetrics().bits_per_byte).toBeNaN();
  });
});

describe('bootstrap intervals for every metric', () => {
  it('seeded intervals bracket the estimate and shrink with more data', () => {
    const make = (n: number) => {
      const rng = new Rng(n);
      const labels = Int32Array.from({ length: n }, () => rng.int(2));
      const probs = Float64Array.from(Array.from({ length: n }, (_, i) => i).flatMap((i) => {
        const p = Math.min(0.99, Math.max(0.01, (labels[i] ? 0.65 : 0.35) + (rng.next() - 0.5) * 0.6));
        return [1 - p, p];
      }));
      return new ClassificationScorer({ labels, probs, classes: ['0', '1'] });
    };
    const small = metricsWithCi(make(200), { resamples: 300, seed: 1 });
    const large = metricsWithCi(make(3000), { resamples: 300, seed: 1 });
    for (const m of small) if (!m.name.includes(':')) expect(m.low <= m.estimate + 1e-12 && m.estimate <= m.high + 1e-12, m.name).toBe(true);
    const width = (v: typeof small, name: string) => v.find((m) => m.name === name)!.high - v.find((m) => m.name === name)!.low;
    for (const name of ['accuracy', 'roc_auc', 'log_loss', 'ece']) expect(width(large, name), name).toBeLessThan(width(small, name));
    expect(metricsWithCi(make(200), { resamples: 300, seed: 1 })).toEqual(small);
  });

  it('curves start at the origin and end at (1, 1)', () => {
    const { roc, pr } = curves(rankScores([0.9, 0.8, 0.3, 0.1], Uint8Array.of(1, 0, 1, 0)));
    expect([roc.x[0], roc.y[0]]).toEqual([0, 0]);
    expect([roc.x.at(-1), roc.y.at(-1)]).toEqual([1, 1]);
    expect(pr.x.at(-1)).toBe(1);
  });
});

describe('bad input', () => {
  it('different lengths, probabilities that do not sum to 1, unknown labels', () => {
    expectCode(() => new ClassificationScorer({ labels: Int32Array.of(0, 1, 1), probs: Float64Array.of(0.5, 0.5, 0.5, 0.5), classes: ['a', 'b'] }), 'E_EVAL_LENGTH', /2 prediction rows .* but 3 labels/);
    expectCode(() => new ClassificationScorer({ labels: Int32Array.of(0, 1), probs: Float64Array.of(0.5, 0.5, 0.5, 0.3), classes: ['a', 'b'] }), 'E_EVAL_PROBS', /row 2: probabilities sum to 0\.8/);
    expectCode(() => new ClassificationScorer({ labels: Int32Array.of(0), probs: Float64Array.of(2.5, -1.5), classes: ['a', 'b'] }), 'E_EVAL_PROBS', /not in \[0, 1\]/);
    expectCode(() => labelIndices(['a', 'q'], ['a', 'b']), 'E_EVAL_LABEL', /row 2: label 'q'/);
    expectCode(() => new RegressionScorer([1, 2], [1]), 'E_EVAL_LENGTH');
    expectCode(() => new RegressionScorer([1, NaN], [1, 2]), 'E_EVAL_VALUE', /row 2/);
  });
});
