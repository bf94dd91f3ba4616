/**
 * Classification metrics as one weighted scorer: accuracy, balanced accuracy, precision/recall/F1
 * (macro, micro, per class), ROC-AUC and PR-AUC (one-vs-rest), log loss, top-k accuracy, Brier, ECE
 * (equal-width and adaptive), MCE, classwise ECE. Everything that does not depend on the resample is
 * precomputed once (argmax, per-example losses, bins, one sort per class), so scoring a bootstrap
 * resample is a few passes of weighted sums over typed arrays.
 */
import { assignBins, calibrationFromSums, topLabel } from './calibration.ts';
import { binPlan, binSums, type BinPlan } from './metrics-bins.ts';
import { checkClassification, type ClassificationData } from './metrics-input.ts';
import { aucAndAp, rankScores, type RankedScores } from './metrics-rank.ts';

/**
 * A set of metrics computed from per-example integer weights (all ones = the plain sample; bootstrap
 * counts = one resample). `names[j]` and `higherIsBetter[j]` describe entry j of `score`.
 *
 * @example
 * const s: MetricScorer = new ClassificationScorer(data);
 * s.score(new Int32Array(s.n).fill(1));
 */
export interface MetricScorer {
  readonly n: number;
  readonly names: readonly string[];
  readonly higherIsBetter: readonly boolean[];
  score(w: Int32Array): Float64Array;
  /** The same metrics on the examples `idx` only (for slices). */
  subset(idx: Int32Array): MetricScorer;
}

/**
 * The metrics of a scorer on the plain sample (all weights 1) as a name → value record.
 *
 * @example
 * pointMetrics(new RegressionScorer([1, 2], [1, 3])); // { mae: 0.5, rmse: 0.707…, r2: 0 }
 */
export function pointMetrics(s: MetricScorer): Record<string, number> {
  const v = s.score(new Int32Array(s.n).fill(1));
  return Object.fromEntries(s.names.map((name, j) => [name, v[j]]));
}

/**
 * Options of {@link ClassificationScorer}.
 *
 * @example
 * const o: ClassificationOptions = { topK: [2, 3], bins: 15, perClass: false };
 */
export interface ClassificationOptions {
  /** k values for top-k accuracy (default [2] when there are more than 2 classes). */
  topK?: number[];
  /** Calibration bins (default 10). */
  bins?: number;
  /** Include per-class precision/recall/F1/ROC-AUC/PR-AUC entries (default true). */
  perClass?: boolean;
}

const LOG_EPS = 1e-15;

/**
 * The classification scorer. Conventions follow scikit-learn: macro averages run over the classes
 * present in the labels or the predictions (zero division counts as 0); balanced accuracy over classes
 * present in the labels; ROC-AUC/PR-AUC of the positive class (index 1) for two classes and the
 * unweighted mean over classes with both positives and negatives otherwise (NaN when none).
 *
 * @example
 * const s = new ClassificationScorer({ labels: Int32Array.of(0, 1, 1), probs: Float64Array.of(0.8, 0.2, 0.4, 0.6, 0.7, 0.3), classes: ['a', 'b'] });
 * s.pointMetrics().accuracy; // 2/3
 */
export class ClassificationScorer implements MetricScorer {
  readonly n: number;
  readonly k: number;
  readonly names: string[];
  readonly higherIsBetter: boolean[];
  private readonly labels: Int32Array;
  private readonly pred: Int32Array;
  private readonly conf: Float64Array;
  private readonly correct: Uint8Array;
  private readonly nll: Float64Array;
  private readonly brier: Float64Array;
  private readonly topHits: Uint8Array[];
  /** Calibration bins laid out for run sums: [equal-width | equal-mass | classwise per class] × bins. */
  private readonly calib: BinPlan;
  private readonly ranked: RankedScores[];
  private readonly bins: number;
  private w8?: Uint8Array;

  constructor(
    readonly data: ClassificationData,
    readonly opts: ClassificationOptions = {},
  ) {
    checkClassification(data);
    const { labels, probs, classes } = data;
    const n = (this.n = labels.length);
    const k = (this.k = classes.length);
    this.labels = labels;
    this.bins = opts.bins ?? 10;
    const top = topLabel(probs, k, labels);
    this.pred = top.pred;
    this.conf = top.conf;
    this.correct = top.correct;
    this.nll = new Float64Array(n);
    this.brier = new Float64Array(n);
    const topK = (opts.topK ?? (k > 2 ? [2] : [])).filter((t) => t >= 1 && t < k);
    this.topHits = topK.map(() => new Uint8Array(n));
    for (let i = 0; i < n; i++) {
      const py = probs[i * k + labels[i]];
      this.nll[i] = -Math.log(Math.min(1 - LOG_EPS, Math.max(LOG_EPS, py)));
      let above = 0;
      let b = 0;
      for (let c = 0; c < k; c++) {
        const p = probs[i * k + c];
        if (p > py) above++;
        b += (p - (c === labels[i] ? 1 : 0)) ** 2;
      }
      this.brier[i] = b;
      topK.forEach((t, j) => (this.topHits[j][i] = above < t ? 1 : 0));
    }
    const p64 = Float64Array.from(probs);
    const top1 = { flag: this.correct, value: this.conf };
    const binnings = [{ bin: assignBins(this.conf, this.bins, 'width'), ...top1 }, { bin: assignBins(this.conf, this.bins, 'mass'), ...top1 }];
    this.ranked = [];
    const column = new Float64Array(n);
    for (let c = 0; c < k; c++) {
      const positive = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        column[i] = p64[i * k + c];
        positive[i] = labels[i] === c ? 1 : 0;
      }
      binnings.push({ bin: assignBins(column, this.bins, 'width'), flag: positive, value: Float64Array.from(column) });
      this.ranked.push(rankScores(column, positive));
    }
    this.calib = binPlan(n, binnings, this.bins);
    const head: [string, boolean][] = [
      ['accuracy', true], ['balanced_accuracy', true], ['precision_macro', true], ['recall_macro', true], ['f1_macro', true],
      ['precision_micro', true], ['recall_micro', true], ['f1_micro', true], ['roc_auc', true], ['pr_auc', true], ['log_loss', false],
      ['brier', false], ['ece', false], ['ece_adaptive', false], ['mce', false], ['classwise_ece', false],
      ...topK.map((t): [string, boolean] => [`top${t}_accuracy`, true]),
    ];
    if (opts.perClass ?? true) for (const m of ['precision', 'recall', 'f1', 'roc_auc', 'pr_auc']) for (const c of classes) head.push([`${m}:${c}`, true]);
    this.names = head.map((h) => h[0]);
    this.higherIsBetter = head.map((h) => h[1]);
  }

  /** All metrics under weights `w` (see {@link MetricScorer}). */
  score(w: Int32Array): Float64Array {
    const { n, k, labels, pred, bins } = this;
    const out = new Float64Array(this.names.length);
    const cm = new Float64Array(k * k);
    const nllI = this.nll;
    const brierI = this.brier;
    let W = 0;
    let nll = 0;
    let brier = 0;
    // The rank and bin passes gather weights in shuffled order: a byte copy of the counts keeps them in cache.
    const w8 = (this.w8 ??= new Uint8Array(n));
    let big = 0;
    for (let i = 0; i < n; i++) {
      const wt = w[i];
      big |= wt & ~255;
      w8[i] = wt;
      W += wt;
      cm[labels[i] * k + pred[i]] += wt;
      nll += wt * nllI[i];
      brier += wt * brierI[i];
    }
    const wr: Int32Array | Uint8Array = big ? w : w8;
    const top = new Float64Array(this.topHits.length);
    for (let j = 0; j < top.length; j++) {
      const hits = this.topHits[j];
      let t = 0;
      for (let i = 0; i < n; i++) t += wr[i] & -hits[i];
      top[j] = t;
    }
    // calibration sums: [width bins | mass bins | classwise k x bins] of weight, confidence and hits
    const cb = (2 + k) * bins;
    const ws = new Float64Array(cb);
    const cs = new Float64Array(cb);
    const hs = new Float64Array(cb);
    binSums(this.calib, wr, ws, cs, hs);
    const support = new Float64Array(k);
    const predicted = new Float64Array(k);
    let tpSum = 0;
    for (let t = 0; t < k; t++)
      for (let p = 0; p < k; p++) {
        support[t] += cm[t * k + p];
        predicted[p] += cm[t * k + p];
        if (t === p) tpSum += cm[t * k + p];
      }
    const perClass = this.opts.perClass ?? true;
    const base = 16 + top.length;
    let pM = 0, rM = 0, fM = 0, L = 0, bal = 0, B = 0;
    for (let c = 0; c < k; c++) {
      const tp = cm[c * k + c];
      const present = support[c] > 0 || predicted[c] > 0;
      const prec = predicted[c] > 0 ? tp / predicted[c] : 0;
      const rec = support[c] > 0 ? tp / support[c] : 0;
      const den = support[c] + predicted[c];
      const f1 = den > 0 ? (2 * tp) / den : 0;
      if (present) {
        pM += prec;
        rM += rec;
        fM += f1;
        L++;
      }
      if (support[c] > 0) {
        bal += rec;
        B++;
      }
      if (perClass) {
        out[base + c] = present ? prec : NaN;
        out[base + k + c] = present ? rec : NaN;
        out[base + 2 * k + c] = present ? f1 : NaN;
      }
    }
    const acc = W > 0 ? tpSum / W : NaN;
    out[0] = acc;
    out[1] = B > 0 ? bal / B : NaN;
    out[2] = L > 0 ? pM / L : NaN;
    out[3] = L > 0 ? rM / L : NaN;
    out[4] = L > 0 ? fM / L : NaN;
    out[5] = out[6] = out[7] = acc;
    let aucSum = 0, aucN = 0, apSum = 0, apN = 0;
    const pair = new Float64Array(2);
    for (let c = 0; c < k; c++) {
      if (k === 2 && c === 0 && !perClass) continue;
      aucAndAp(this.ranked[c], wr, pair);
      if (perClass) {
        out[base + 3 * k + c] = pair[0];
        out[base + 4 * k + c] = pair[1];
      }
      if (k === 2 && c === 0) continue;
      if (!Number.isNaN(pair[0])) (aucSum += pair[0]), aucN++;
      if (!Number.isNaN(pair[1])) (apSum += pair[1]), apN++;
    }
    out[8] = aucN > 0 ? aucSum / aucN : NaN;
    out[9] = apN > 0 ? apSum / apN : NaN;
    out[10] = W > 0 ? nll / W : NaN;
    out[11] = W > 0 ? brier / W : NaN;
    calibrationFromSums(ws, cs, hs, pair, 0, bins);
    out[12] = pair[0];
    out[14] = pair[1];
    out[13] = calibrationFromSums(ws, cs, hs, pair, bins, bins)[0];
    let cw = 0;
    for (let c = 0; c < k; c++) cw += calibrationFromSums(ws, cs, hs, pair, (2 + c) * bins, bins)[0];
    out[15] = cw / k;
    for (let j = 0; j < top.length; j++) out[16 + j] = W > 0 ? top[j] / W : NaN;
    return out;
  }

  /** Metrics of the plain sample as a name → value record. */
  pointMetrics(): Record<string, number> {
    return pointMetrics(this);
  }

  /** Confusion matrix counts [true][predicted]. */
  confusion(): number[][] {
    const m = Array.from({ length: this.k }, () => new Array<number>(this.k).fill(0));
    for (let i = 0; i < this.n; i++) m[this.labels[i]][this.pred[i]]++;
    return m;
  }

  /** The per-class one-vs-rest rankings (for ROC / PR curves). */
  rankings(): readonly RankedScores[] {
    return this.ranked;
  }

  /** Per-example correctness of the top-1 prediction (for McNemar). */
  correctness(): Uint8Array {
    return this.correct;
  }

  /** Predicted class index per example. */
  predictions(): Int32Array {
    return this.pred;
  }

  /** The precomputed state as plain data (typed arrays), for {@link ClassificationScorer.fromState} in a worker thread. */
  toState(): Record<string, unknown> {
    return { ...this, w8: undefined };
  }

  /**
   * A scorer rebuilt from {@link ClassificationScorer.toState} (structured-cloned) without redoing the sorts.
   *
   * @example
   * const copy = ClassificationScorer.fromState(structuredClone(scorer.toState()));
   */
  static fromState(state: Record<string, unknown>): ClassificationScorer {
    return Object.assign(Object.create(ClassificationScorer.prototype) as ClassificationScorer, state);
  }

  subset(idx: Int32Array): ClassificationScorer {
    const k = this.k;
    const probs = new Float64Array(idx.length * k);
    idx.forEach((i, r) => probs.set(this.data.probs.subarray(i * k, (i + 1) * k), r * k));
    return new ClassificationScorer({ labels: Int32Array.from(idx, (i) => this.labels[i]), probs, classes: this.data.classes }, this.opts);
  }
}
