/**
 * Regression (MAE, RMSE, R²) and language-model (loss, perplexity, bits per byte) metrics as weighted
 * scorers, so they get bootstrap intervals and slices like the classification metrics.
 */
import { checkFinite, checkSameLength } from './metrics-input.ts';
import { pointMetrics, type MetricScorer } from './metrics.ts';

function gather(v: ArrayLike<number>, idx: Int32Array): Float64Array {
  return Float64Array.from(idx, (i) => v[i]);
}

/**
 * MAE, RMSE and R² (= 1 - SS_res / SS_tot around the weighted mean; as sklearn, 1 when both are 0 and
 * 0 when only SS_tot is 0).
 *
 * @example
 * new RegressionScorer(Float64Array.of(1, 2, 3), Float64Array.of(1, 2, 4)).pointMetrics(); // { mae: 1/3, rmse: √(1/3), r2: 0.5 }
 */
export class RegressionScorer implements MetricScorer {
  readonly n: number;
  readonly names = ['mae', 'rmse', 'r2'];
  readonly higherIsBetter = [false, false, true];

  constructor(
    readonly predictions: ArrayLike<number>,
    readonly targets: ArrayLike<number>,
  ) {
    checkSameLength(predictions.length, targets.length, 'predictions', 'targets');
    checkFinite(predictions, 'predictions');
    checkFinite(targets, 'targets');
    this.n = targets.length;
  }

  /** MAE, RMSE, R² under weights `w`. */
  score(w: Int32Array): Float64Array {
    const { predictions: p, targets: y } = this;
    let W = 0, ae = 0, se = 0, sy = 0, syy = 0;
    for (let i = 0; i < this.n; i++) {
      const wt = w[i];
      if (wt === 0) continue;
      const e = p[i] - y[i];
      W += wt;
      ae += wt * Math.abs(e);
      se += wt * e * e;
      sy += wt * y[i];
      syy += wt * y[i] * y[i];
    }
    if (W === 0) return Float64Array.of(NaN, NaN, NaN);
    const ssTot = Math.max(0, syy - (sy * sy) / W);
    const r2 = ssTot > 1e-12 * Math.max(1, syy) ? 1 - se / ssTot : se === 0 ? 1 : 0;
    return Float64Array.of(ae / W, Math.sqrt(se / W), r2);
  }

  /** Metrics of the plain sample as a record. */
  pointMetrics(): Record<string, number> {
    return pointMetrics(this);
  }

  subset(idx: Int32Array): RegressionScorer {
    return new RegressionScorer(gather(this.predictions, idx), gather(this.targets, idx));
  }
}

/**
 * Language-model metrics from per-example (document or chunk) sums: `nats` = summed token negative
 * log-likelihood, `tokens` = tokens scored, `bytes` = UTF-8 bytes of the scored text. loss = Σnats/Σtokens,
 * perplexity = e^loss, bits per byte = Σnats / (ln 2 · Σbytes) (NaN without byte counts).
 *
 * @example
 * new LanguageModelScorer(Float64Array.of(10, 20), Float64Array.of(5, 5), Float64Array.of(20, 20)).pointMetrics().loss; // 3
 */
export class LanguageModelScorer implements MetricScorer {
  readonly n: number;
  readonly names = ['loss', 'perplexity', 'bits_per_byte'];
  readonly higherIsBetter = [false, false, false];

  constructor(
    readonly nats: ArrayLike<number>,
    readonly tokens: ArrayLike<number>,
    readonly bytes?: ArrayLike<number>,
  ) {
    checkSameLength(nats.length, tokens.length, 'loss sums', 'token counts');
    if (bytes) checkSameLength(nats.length, bytes.length, 'loss sums', 'byte counts');
    checkFinite(nats, 'loss sums');
    this.n = nats.length;
  }

  /** loss, perplexity, bits per byte under weights `w`. */
  score(w: Int32Array): Float64Array {
    let s = 0, t = 0, b = 0;
    for (let i = 0; i < this.n; i++) {
      const wt = w[i];
      if (wt === 0) continue;
      s += wt * this.nats[i];
      t += wt * this.tokens[i];
      if (this.bytes) b += wt * this.bytes[i];
    }
    const loss = t > 0 ? s / t : NaN;
    return Float64Array.of(loss, Math.exp(loss), b > 0 ? s / (Math.LN2 * b) : NaN);
  }

  /** Metrics of the plain sample as a record. */
  pointMetrics(): Record<string, number> {
    return pointMetrics(this);
  }

  subset(idx: Int32Array): LanguageModelScorer {
    return new LanguageModelScorer(gather(this.nats, idx), gather(this.tokens, idx), this.bytes && gather(this.bytes, idx));
  }
}
