/**
 * Calibration: expected calibration error with equal-width or equal-mass (adaptive) bins, maximum
 * calibration error, classwise ECE, multi-class Brier score, reliability-diagram data, and temperature
 * scaling fitted by Newton's method on the NLL (convex in 1/T). Weighted forms take per-example integer
 * weights (bootstrap counts); omitted weights mean 1.
 */
import { checkClassification, checkSameLength, type ClassificationData } from './metrics-input.ts';
import { argmaxRows } from '../util/scores.ts';
import { SwitchyardError } from '../util/errors.ts';

/** Binning of a calibration error: equal-width confidence intervals or equal-count (adaptive) bins. */
export type BinStrategy = 'width' | 'mass';

/**
 * Top-label confidence (max probability), predicted class and correctness of each row.
 *
 * @example
 * topLabel(Float64Array.of(0.2, 0.8, 0.6, 0.4), 2, Int32Array.of(1, 1)); // conf [0.8, 0.6], pred [1, 0], correct [1, 0]
 */
export function topLabel(probs: ArrayLike<number>, k: number, labels: Int32Array): { conf: Float64Array; pred: Int32Array; correct: Uint8Array } {
  const n = labels.length;
  const conf = new Float64Array(n);
  const pred = argmaxRows(probs, k).subarray(0, n);
  const correct = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    conf[i] = probs[i * k + pred[i]];
    correct[i] = pred[i] === labels[i] ? 1 : 0;
  }
  return { conf, pred, correct };
}

/**
 * Bin index of each confidence. 'width': bin m holds ((m-1)/B, m/B] (Guo et al. 2017; confidence 0 goes
 * to the first bin). 'mass': examples ranked by confidence and cut into B bins of equal count (Nixon et al. 2019).
 *
 * @example
 * assignBins(Float64Array.of(0.05, 0.5, 1), 10, 'width'); // Int32Array [0, 4, 9]
 */
export function assignBins(conf: ArrayLike<number>, bins: number, strategy: BinStrategy): Int32Array {
  const n = conf.length;
  const out = new Int32Array(n);
  if (strategy === 'width') {
    for (let i = 0; i < n; i++) {
      let m = Math.min(bins - 1, Math.max(0, Math.ceil(conf[i] * bins) - 1));
      // conf * bins rounds (0.7 * 10 = 7.000000000000001): compare with the edges m / bins themselves, as the
      // reference's `conf > lower && conf <= upper` does, so a decimal edge such as 0.7 joins the bin below it.
      if (m > 0 && conf[i] <= m / bins) m--;
      else if (m < bins - 1 && conf[i] > (m + 1) / bins) m++;
      out[i] = m;
    }
    return out;
  }
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => conf[a] - conf[b] || a - b);
  for (let r = 0; r < n; r++) out[order[r]] = Math.min(bins - 1, Math.floor((r * bins) / n));
  return out;
}

/**
 * One bar of a reliability diagram.
 *
 * @example
 * const b: ReliabilityBin = { lo: 0.8, hi: 0.9, count: 120, confidence: 0.85, accuracy: 0.78 };
 */
export interface ReliabilityBin {
  lo: number;
  hi: number;
  count: number;
  /** Mean confidence in the bin. */
  confidence: number;
  /** Fraction correct in the bin. */
  accuracy: number;
}

/**
 * ECE = Σ_b (n_b / n)·|acc_b - conf_b| and MCE = max_b |acc_b - conf_b| over non-empty bins, with
 * optional per-example weights; `out` receives [ece, mce].
 *
 * @example
 * binnedCalibrationError(Int32Array.of(0, 0), Float64Array.of(0.9, 0.7), Uint8Array.of(1, 0), 1); // [0.3, 0.3]
 */
export function binnedCalibrationError(bin: Int32Array, conf: Float64Array, hit: ArrayLike<number>, bins: number, w?: Int32Array, out = new Float64Array(2)): Float64Array {
  const wsum = new Float64Array(bins);
  const csum = new Float64Array(bins);
  const asum = new Float64Array(bins);
  for (let i = 0; i < bin.length; i++) {
    const wt = w ? w[i] : 1;
    const b = bin[i];
    wsum[b] += wt;
    csum[b] += wt * conf[i];
    asum[b] += wt * hit[i];
  }
  return calibrationFromSums(wsum, csum, asum, out);
}

/**
 * ECE and MCE from per-bin sums of weight, confidence and correctness (the accumulators of
 * {@link binnedCalibrationError}, kept separate so a scorer can fill them in its own pass); `out` = [ece, mce].
 *
 * @example
 * calibrationFromSums(Float64Array.of(2), Float64Array.of(1.6), Float64Array.of(1)); // [0.3, 0.3]
 */
export function calibrationFromSums(wsum: Float64Array, csum: Float64Array, asum: Float64Array, out = new Float64Array(2), offset = 0, bins = wsum.length): Float64Array {
  let total = 0;
  let ece = 0;
  let mce = 0;
  for (let b = offset; b < offset + bins; b++) {
    if (wsum[b] === 0) continue;
    total += wsum[b];
    const gap = Math.abs(asum[b] - csum[b]);
    ece += gap;
    mce = Math.max(mce, gap / wsum[b]);
  }
  out[0] = total > 0 ? ece / total : NaN;
  out[1] = total > 0 ? mce : NaN;
  return out;
}

/**
 * Reliability-diagram bars of top-label confidence (non-empty bins only).
 *
 * @example
 * reliabilityBins(Float64Array.of(0.9, 0.7), Uint8Array.of(1, 0), 10, 'width'); // two bars
 */
export function reliabilityBins(conf: Float64Array, correct: Uint8Array, bins = 10, strategy: BinStrategy = 'width'): ReliabilityBin[] {
  const bin = assignBins(conf, bins, strategy);
  const out: ReliabilityBin[] = Array.from({ length: bins }, (_, b) => ({ lo: Infinity, hi: -Infinity, count: 0, confidence: 0, accuracy: 0 }));
  for (let i = 0; i < conf.length; i++) {
    const o = out[bin[i]];
    o.count++;
    o.confidence += conf[i];
    o.accuracy += correct[i];
    o.lo = Math.min(o.lo, conf[i]);
    o.hi = Math.max(o.hi, conf[i]);
  }
  return out.flatMap((o, b) => {
    if (o.count === 0) return [];
    const edges = strategy === 'width' ? { lo: b / bins, hi: (b + 1) / bins } : { lo: o.lo, hi: o.hi };
    return [{ ...edges, count: o.count, confidence: o.confidence / o.count, accuracy: o.accuracy / o.count }];
  });
}

/**
 * Classwise ECE (Kull et al. 2019): for each class c, the equal-width binned error of p_c against
 * 1[y = c]; the mean over classes. Optional weights.
 *
 * @example
 * classwiseEce(Float64Array.of(1, 0, 0, 1), 2, Int32Array.of(0, 1)); // 0
 */
export function classwiseEce(probs: ArrayLike<number>, k: number, labels: Int32Array, bins = 10, w?: Int32Array): number {
  const n = labels.length;
  const p = new Float64Array(n);
  const hit = new Uint8Array(n);
  const out = new Float64Array(2);
  let s = 0;
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i++) {
      p[i] = probs[i * k + c];
      hit[i] = labels[i] === c ? 1 : 0;
    }
    s += binnedCalibrationError(assignBins(p, bins, 'width'), p, hit, bins, w, out)[0];
  }
  return s / k;
}

/**
 * Multi-class Brier score (1/n)·Σ_i Σ_c (p_ic - 1[y_i = c])² (Brier 1950; for two classes this is twice
 * sklearn's binary `brier_score_loss`). Optional weights.
 *
 * @example
 * brierScore(Float64Array.of(0.8, 0.2), 2, Int32Array.of(0)); // 0.08
 */
export function brierScore(probs: ArrayLike<number>, k: number, labels: Int32Array, w?: Int32Array): number {
  let s = 0;
  let tot = 0;
  for (let i = 0; i < labels.length; i++) {
    const wt = w ? w[i] : 1;
    if (wt === 0) continue;
    let e = 0;
    for (let c = 0; c < k; c++) e += (probs[i * k + c] - (labels[i] === c ? 1 : 0)) ** 2;
    s += wt * e;
    tot += wt;
  }
  return tot > 0 ? s / tot : NaN;
}

/**
 * Point calibration numbers of a classifier.
 *
 * @example
 * const { ece, eceAdaptive, mce, classwiseEce, brier, reliability } = calibrationSummary(data);
 */
export interface CalibrationSummary {
  ece: number;
  eceAdaptive: number;
  mce: number;
  classwiseEce: number;
  brier: number;
  bins: number;
  reliability: ReliabilityBin[];
}

/**
 * Every calibration number of a classifier on labelled data.
 *
 * @example
 * calibrationSummary({ labels: Int32Array.of(0, 1), probs: Float64Array.of(0.9, 0.1, 0.3, 0.7), classes: ['a', 'b'] }).ece; // 0.2
 */
export function calibrationSummary(d: ClassificationData, bins = 10): CalibrationSummary {
  checkClassification(d);
  const k = d.classes.length;
  const { conf, correct } = topLabel(d.probs, k, d.labels);
  const [ece, mce] = binnedCalibrationError(assignBins(conf, bins, 'width'), conf, correct, bins);
  const [eceAdaptive] = binnedCalibrationError(assignBins(conf, bins, 'mass'), conf, correct, bins);
  return { ece, eceAdaptive, mce, classwiseEce: classwiseEce(d.probs, k, d.labels, bins), brier: brierScore(d.probs, k, d.labels), bins, reliability: reliabilityBins(conf, correct, bins) };
}

/**
 * Softmax of logits / T, row-major [n, k].
 *
 * @example
 * applyTemperature(Float64Array.of(2, 0), 2, 2); // softmax([1, 0])
 */
export function applyTemperature(logits: ArrayLike<number>, k: number, temperature: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length / k; i++) {
    let m = -Infinity;
    for (let c = 0; c < k; c++) m = Math.max(m, logits[i * k + c] / temperature);
    let s = 0;
    for (let c = 0; c < k; c++) s += out[i * k + c] = Math.exp(logits[i * k + c] / temperature - m);
    for (let c = 0; c < k; c++) out[i * k + c] /= s;
  }
  return out;
}

/** Mean NLL at inverse temperature beta, with its first and second derivatives in beta. */
function nllDerivatives(logits: ArrayLike<number>, k: number, labels: Int32Array, beta: number): [number, number, number] {
  const n = labels.length;
  let f = 0;
  let g = 0;
  let h = 0;
  const p = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let c = 0; c < k; c++) m = Math.max(m, beta * logits[i * k + c]);
    let s = 0;
    for (let c = 0; c < k; c++) s += p[c] = Math.exp(beta * logits[i * k + c] - m);
    let ez = 0;
    let ez2 = 0;
    for (let c = 0; c < k; c++) {
      const z = logits[i * k + c];
      ez += (p[c] / s) * z;
      ez2 += (p[c] / s) * z * z;
    }
    const zy = logits[i * k + labels[i]];
    f += m + Math.log(s) - beta * zy;
    g += ez - zy;
    h += ez2 - ez * ez;
  }
  return [f / n, g / n, h / n];
}

/**
 * Fits the temperature T minimising the mean negative log-likelihood of softmax(logits / T) on labelled
 * (validation) data. NLL is convex in β = 1/T, so Newton's method on β (with step halving to stay
 * positive and descending) converges in a few iterations.
 *
 * @example
 * const { temperature, nllBefore, nllAfter } = fitTemperature(logits, labels, 3);
 */
export function fitTemperature(logits: ArrayLike<number>, labels: Int32Array, k: number): { temperature: number; nllBefore: number; nllAfter: number; iterations: number } {
  checkSameLength(logits.length, labels.length * k, 'logit values', `(labels x ${k} classes)`);
  if (labels.length === 0) throw new SwitchyardError('E_EVAL_EMPTY', 'fitTemperature: no labelled examples', 'temperature scaling needs a validation split with labels');
  let beta = 1;
  let [f, g, h] = nllDerivatives(logits, k, labels, beta);
  const nllBefore = f;
  let it = 0;
  for (; it < 100; it++) {
    if (!(h > 1e-300) || Math.abs(g) < 1e-12) break;
    let step = g / h;
    let next = beta - step;
    let cand = nllDerivatives(logits, k, labels, next > 0 ? next : beta / 2);
    while ((next <= 0 || cand[0] > f + 1e-15) && Math.abs(step) > 1e-14) {
      step /= 2;
      next = beta - step;
      cand = next > 0 ? nllDerivatives(logits, k, labels, next) : cand;
    }
    if (next <= 0 || cand[0] > f + 1e-15) break;
    const done = Math.abs(step) < 1e-10 * beta;
    beta = next;
    [f, g, h] = cand;
    if (done) break;
  }
  return { temperature: 1 / beta, nllBefore, nllAfter: f, iterations: it };
}
