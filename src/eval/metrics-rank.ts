/**
 * Ranking metrics from one sort: ROC-AUC (trapezoid over tied-score groups, = sklearn `roc_auc_score`) and
 * average precision (Σ ΔR·P over distinct thresholds, = sklearn `average_precision_score`), both with
 * per-example integer weights so a bootstrap resample is one pass over the presorted order.
 */

/**
 * Examples sorted by descending score once; tie groups and positives precomputed.
 *
 * @example
 * const r: RankedScores = rankScores(scores, positive);
 */
export interface RankedScores {
  /** Example indices by descending score. */
  order: Int32Array;
  /** 1 where sorted position j ends a group of tied scores. */
  groupEnd: Uint8Array;
  /** 1 where the example at sorted position j is positive. */
  positive: Uint8Array;
  /** Scores in sorted order. */
  sorted: Float64Array;
  /** Per sorted position: example index·4 + 2·positive + groupEnd. */
  packed: Int32Array;
  /**
   * The stream of the weighted pass: the sorted order with negatives before positives inside each tie
   * group, coded example index·4 + 2·positive + 1 on the last example of a group holding a positive
   * (where average precision takes a term).
   */
  walk: Int32Array;
  /** [start, end) walk positions of the tie groups holding both positives and negatives. */
  mixedTies: Int32Array;
  /** Scratch of {@link aucAndAp}: true positives and cumulative weight at each AP term (one spare slot). */
  recTp: Float64Array;
  recCum: Float64Array;
}

/**
 * Sorts examples by descending `scores` and marks tie groups and positives.
 *
 * @example
 * const r = rankScores([0.9, 0.1, 0.5], Uint8Array.of(1, 0, 0));
 */
export function rankScores(scores: ArrayLike<number>, positive: ArrayLike<number>): RankedScores {
  const n = scores.length;
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const sorted = Float64Array.from(order, (i) => scores[i]);
  const groupEnd = new Uint8Array(n);
  const pos = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    groupEnd[j] = j === n - 1 || sorted[j + 1] !== sorted[j] ? 1 : 0;
    pos[j] = positive[order[j]] ? 1 : 0;
  }
  const packed = Int32Array.from(order, (i, j) => i * 4 + 2 * pos[j] + groupEnd[j]);
  const walk = new Int32Array(n);
  const mixed: number[] = [];
  let npos = 0;
  for (let start = 0, j = 0; j < n; j++) {
    if (!groupEnd[j]) continue;
    let q = start;
    for (let t = start; t <= j; t++) if (!pos[t]) walk[q++] = order[t] * 4;
    const firstPos = q;
    for (let t = start; t <= j; t++) if (pos[t]) walk[q++] = order[t] * 4 + 2;
    if (firstPos <= j) walk[j] |= 1;
    if (firstPos > start && firstPos <= j) mixed.push(start, j + 1);
    npos += j + 1 - firstPos;
    start = j + 1;
  }
  return { order, groupEnd, positive: pos, sorted, packed, walk, mixedTies: Int32Array.from(mixed), recTp: new Float64Array(npos + 1), recCum: new Float64Array(npos + 1) };
}

/**
 * Weighted ROC-AUC and average precision of a ranking in one pass; `out[0]` = AUC, `out[1]` = AP.
 * AUC is NaN when the weighted sample has no positives or no negatives; AP is NaN without positives.
 *
 * @example
 * const r = rankScores([0.9, 0.1, 0.5], Uint8Array.of(1, 0, 0));
 * aucAndAp(r, Int32Array.of(1, 1, 1)); // [1, 1]
 */
export function aucAndAp(r: RankedScores, w: Int32Array | Uint8Array, out: Float64Array = new Float64Array(2)): Float64Array {
  const { walk, recTp, recCum, mixedTies } = r;
  // One branch-free pass: Σ over negatives of weight × true positives ranked above (negatives come first
  // inside a tie group, so that is the weight above the group), and (tp, cumulative weight) recorded
  // where AP takes a term; the trapezoid area is 2·that sum plus Δfp·Δtp of each mixed tie group.
  let tp = 0;
  let cum = 0;
  let below = 0;
  let q = 0;
  const n = walk.length;
  for (let j = 0; j < n; j++) {
    const code = walk[j];
    const wt = w[code >> 2];
    const pw = wt & -((code >> 1) & 1);
    tp += pw;
    cum += wt;
    below += (wt - pw) * tp;
    recTp[q] = tp;
    recCum[q] = cum;
    q += code & 1;
  }
  let ties = 0;
  for (let g = 0; g < mixedTies.length; g += 2) {
    let gp = 0;
    let gn = 0;
    for (let j = mixedTies[g]; j < mixedTies[g + 1]; j++) {
      const wt = w[walk[j] >> 2];
      if (walk[j] & 2) gp += wt;
      else gn += wt;
    }
    ties += gp * gn;
  }
  // AP terms in rank order, the same arithmetic as Σ ΔR·P per threshold (groups without positives add 0).
  let ap = 0;
  let prevTp = 0;
  for (let s = 0; s < q; s++) {
    const t = recTp[s];
    ap += ((t - prevTp) * t) / Math.max(1, recCum[s]);
    prevTp = t;
  }
  const fp = cum - tp;
  out[0] = tp > 0 && fp > 0 ? (2 * below + ties) / (2 * tp * fp) : NaN;
  out[1] = tp > 0 ? ap / tp : NaN;
  return out;
}

/**
 * Points of a ROC or precision-recall curve (one per distinct threshold, plus the origin for ROC).
 *
 * @example
 * const c: CurvePoints = { x: [0, 0.5, 1], y: [0, 1, 1], thresholds: [Infinity, 0.8, 0.1] };
 */
export interface CurvePoints {
  x: number[];
  y: number[];
  thresholds: number[];
}

/**
 * ROC curve (x = false positive rate, y = true positive rate) and precision-recall curve (x = recall,
 * y = precision) of a ranking, unweighted, thinned to at most `maxPoints` points for charts.
 *
 * @example
 * const { roc, pr } = curves(rankScores([0.9, 0.1, 0.5], Uint8Array.of(1, 0, 0)));
 */
export function curves(r: RankedScores, maxPoints = 200): { roc: CurvePoints; pr: CurvePoints } {
  let P = 0;
  for (const p of r.positive) P += p;
  const N = r.order.length - P;
  const roc: CurvePoints = { x: [0], y: [0], thresholds: [Infinity] };
  const pr: CurvePoints = { x: [], y: [], thresholds: [] };
  let tp = 0;
  let fp = 0;
  for (let j = 0; j < r.order.length; j++) {
    if (r.positive[j]) tp++;
    else fp++;
    if (!r.groupEnd[j]) continue;
    roc.x.push(N > 0 ? fp / N : 0);
    roc.y.push(P > 0 ? tp / P : 0);
    roc.thresholds.push(r.sorted[j]);
    pr.x.push(P > 0 ? tp / P : 0);
    pr.y.push(tp / (tp + fp));
    pr.thresholds.push(r.sorted[j]);
  }
  return { roc: thin(roc, maxPoints), pr: thin(pr, maxPoints) };
}

function thin(c: CurvePoints, max: number): CurvePoints {
  if (c.x.length <= max) return c;
  const keep = (i: number) => i === 0 || i === c.x.length - 1 || i % Math.ceil(c.x.length / max) === 0;
  return { x: c.x.filter((_, i) => keep(i)), y: c.y.filter((_, i) => keep(i)), thresholds: c.thresholds.filter((_, i) => keep(i)) };
}
