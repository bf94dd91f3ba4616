/**
 * Out-of-distribution scores, each oriented so that HIGHER means MORE likely out of distribution:
 * maximum softmax probability (score = −max p), energy (score = −T·logsumexp(logits/T), T = 1) and the
 * Mahalanobis distance of penultimate features to the nearest class mean under one shared covariance
 * (fitted on reference data, inverted through a ridge-regularised Cholesky factor). Also the built-in
 * shifted set used when the user brings no OOD data.
 */
import { SwitchyardError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { aucAndAp, curves, rankScores } from './metrics-rank.ts';

/**
 * Maximum-softmax-probability OOD score per row: −max_c p_c.
 *
 * @example
 * mspScore(new Float32Array([0.9, 0.1, 0.5, 0.5]), 2); // [-0.9, -0.5]
 */
export function mspScore(probabilities: Float32Array, classes: number): Float64Array {
  const n = probabilities.length / classes;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let m = -Infinity;
    for (let c = 0; c < classes; c++) m = Math.max(m, probabilities[r * classes + c]);
    out[r] = -m;
  }
  return out;
}

/**
 * Energy OOD score per row: E(x) = −T · log Σ_c exp(logit_c / T) (Liu et al. 2020), T = 1 by default.
 *
 * @example
 * energyScore(new Float32Array([0, 0]), 2); // [-Math.LN2]
 */
export function energyScore(logits: Float32Array, classes: number, temperature = 1): Float64Array {
  const n = logits.length / classes;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let m = -Infinity;
    for (let c = 0; c < classes; c++) m = Math.max(m, logits[r * classes + c] / temperature);
    let s = 0;
    for (let c = 0; c < classes; c++) s += Math.exp(logits[r * classes + c] / temperature - m);
    out[r] = -temperature * (m + Math.log(s));
  }
  return out;
}

/**
 * A fitted Mahalanobis detector: class means and the lower Cholesky factor of the regularised shared covariance.
 *
 * @example
 * const det = fitMahalanobis(features, labels, dim, classes);
 * det.means.length === classes * dim;
 */
export interface MahalanobisDetector {
  dim: number;
  classes: number;
  /** Row-major [classes, dim] class means (NaN rows for classes absent from the reference). */
  means: Float64Array;
  /** Row-major [dim, dim] lower-triangular L with L Lᵀ = Σ + ridge·I. */
  cholesky: Float64Array;
  /** The ridge added to the diagonal. */
  ridge: number;
}

/**
 * Fits class means and a shared covariance on reference features [rows, dim] with labels; the covariance
 * gets `ridge · (trace/dim) + 1e-9` on its diagonal so a rank-deficient one (dead ReLUs, one-hot inputs)
 * still inverts.
 *
 * @example
 * const det = fitMahalanobis(out.features, y, model.featureDim, model.classes.length);
 */
export function fitMahalanobis(features: Float32Array, labels: ArrayLike<number>, dim: number, classes: number, ridge = 1e-3): MahalanobisDetector {
  const n = labels.length;
  if (n === 0 || features.length !== n * dim) {
    throw new SwitchyardError('E_OOD', `Mahalanobis fit needs rows x ${dim} features and one label per row, got ${features.length} values and ${n} labels`, 'pass reference data with labels');
  }
  const means = new Float64Array(classes * dim);
  const counts = new Float64Array(classes);
  for (let r = 0; r < n; r++) {
    const c = labels[r];
    counts[c]++;
    for (let j = 0; j < dim; j++) means[c * dim + j] += features[r * dim + j];
  }
  for (let c = 0; c < classes; c++) for (let j = 0; j < dim; j++) means[c * dim + j] = counts[c] ? means[c * dim + j] / counts[c] : NaN;
  const cov = new Float64Array(dim * dim);
  const d = new Float64Array(dim);
  for (let r = 0; r < n; r++) {
    const c = labels[r];
    for (let j = 0; j < dim; j++) d[j] = features[r * dim + j] - means[c * dim + j];
    for (let a = 0; a < dim; a++) {
      const da = d[a];
      if (da === 0) continue;
      for (let b = 0; b <= a; b++) cov[a * dim + b] += da * d[b];
    }
  }
  let trace = 0;
  for (let a = 0; a < dim; a++) {
    for (let b = 0; b <= a; b++) cov[b * dim + a] = cov[a * dim + b] = cov[a * dim + b] / n;
    trace += cov[a * dim + a];
  }
  const lambda = ridge * (trace / Math.max(1, dim)) + 1e-9;
  for (let a = 0; a < dim; a++) cov[a * dim + a] += lambda;
  return { dim, classes, means, cholesky: choleskyLower(cov, dim), ridge: lambda };
}

/** Lower Cholesky factor of a symmetric positive-definite [dim, dim] matrix. */
function choleskyLower(a: Float64Array, dim: number): Float64Array {
  const l = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * dim + j];
      for (let k = 0; k < j; k++) s -= l[i * dim + k] * l[j * dim + k];
      if (i === j) {
        if (!(s > 0)) throw new SwitchyardError('E_OOD', `Mahalanobis covariance is not positive definite (pivot ${i}: ${s})`, 'raise the ridge');
        l[i * dim + i] = Math.sqrt(s);
      } else l[i * dim + j] = s / l[j * dim + j];
    }
  }
  return l;
}

/**
 * Mahalanobis OOD score per row: min over classes of (f − μ_c)ᵀ Σ⁻¹ (f − μ_c) (a squared distance).
 *
 * @example
 * const scores = mahalanobisScore(det, testOut.features);
 */
export function mahalanobisScore(det: MahalanobisDetector, features: Float32Array): Float64Array {
  const { dim, classes, means, cholesky: l } = det;
  const n = features.length / dim;
  const out = new Float64Array(n);
  const z = new Float64Array(dim);
  for (let r = 0; r < n; r++) {
    let best = Infinity;
    for (let c = 0; c < classes; c++) {
      if (Number.isNaN(means[c * dim])) continue;
      // Forward substitution: L z = f − μ_c, distance = |z|².
      let dist = 0;
      for (let i = 0; i < dim; i++) {
        let s = features[r * dim + i] - means[c * dim + i];
        for (let k = 0; k < i; k++) s -= l[i * dim + k] * z[k];
        z[i] = s / l[i * dim + i];
        dist += z[i] * z[i];
      }
      if (dist < best) best = dist;
    }
    out[r] = best;
  }
  return out;
}

/**
 * The built-in OOD set: a copy of `x` [rows, F] whose free features (`mask`, default all) are shifted by
 * `k` of their own standard deviations, each feature in a seeded random direction (+ or −), and scaled by
 * `scale` around their mean. With standardised inputs k = 3 puts the shifted rows 3 training stds away.
 *
 * @example
 * const ood = shiftedCopy(test.x, test.rows, F, { k: 3, seed: 0 });
 */
export function shiftedCopy(x: Float32Array, rows: number, F: number, o: { k?: number; scale?: number; seed?: number; mask?: Float32Array } = {}): Float32Array {
  const k = o.k ?? 3;
  const scale = o.scale ?? 1;
  const rng = new Rng(o.seed ?? 0);
  const out = Float32Array.from(x);
  for (let j = 0; j < F; j++) {
    if (o.mask && !(o.mask[j] > 0)) continue;
    let m = 0;
    for (let r = 0; r < rows; r++) m += x[r * F + j];
    m /= Math.max(1, rows);
    let v = 0;
    for (let r = 0; r < rows; r++) v += (x[r * F + j] - m) ** 2;
    const sd = Math.sqrt(v / Math.max(1, rows)) || 1;
    const dir = rng.next() < 0.5 ? -1 : 1;
    for (let r = 0; r < rows; r++) out[r * F + j] = m + (x[r * F + j] - m) * scale + dir * k * sd;
  }
  return out;
}

/**
 * False-positive rate at the threshold that flags `tpr` (default 95%) of the OOD rows: the share of
 * in-distribution rows scoring at or above it (higher score = more OOD).
 *
 * @example
 * fprAtTpr([0, 1, 2], [3, 4, 5]); // 0
 */
export function fprAtTpr(inScores: ArrayLike<number>, oodScores: ArrayLike<number>, tpr = 0.95): number {
  if (oodScores.length === 0 || inScores.length === 0) return NaN;
  const ood = Float64Array.from(oodScores).sort();
  // The largest threshold with at least `tpr` of OOD scores >= it.
  const keep = Math.ceil(tpr * ood.length);
  const threshold = ood[ood.length - keep];
  let fp = 0;
  for (let i = 0; i < inScores.length; i++) if (inScores[i] >= threshold) fp++;
  return fp / inScores.length;
}

/**
 * How well one score separates OOD rows (positives) from in-distribution rows: AUROC, AUPR (average
 * precision, OOD as the positive class), FPR at 95% TPR, and the ROC curve for charts.
 *
 * @example
 * const d = oodDetection(mspScore(inP, k), mspScore(oodP, k));
 * d.auroc; // 0.5 when the score cannot tell them apart
 */
export function oodDetection(inScores: ArrayLike<number>, oodScores: ArrayLike<number>): { auroc: number; aupr: number; fpr95: number; roc: { x: number[]; y: number[] } } {
  const n = inScores.length + oodScores.length;
  const scores = new Float64Array(n);
  const positive = new Uint8Array(n);
  scores.set(Array.from(inScores), 0);
  scores.set(Array.from(oodScores), inScores.length);
  positive.fill(1, inScores.length);
  const ranked = rankScores(scores, positive);
  const [auroc, aupr] = aucAndAp(ranked, new Int32Array(n).fill(1));
  const { roc } = curves(ranked);
  return { auroc, aupr, fpr95: fprAtTpr(inScores, oodScores), roc: { x: roc.x, y: roc.y } };
}
