/**
 * Bootstrap intervals for every metric of a scorer in one resampling loop, and the paired comparison
 * of two scorers on the same examples (same resamples for both, so the interval is of the difference).
 */
import { bootstrapSamples, pairedInterval, percentileInterval, type BootstrapOptions, type PairedInterval } from '../stats/bootstrap.ts';
import { SwitchyardError } from '../util/errors.ts';
import { bootstrapThreads, parallelBootstrapSamples } from './bootstrap-worker.ts';
import { ClassificationScorer, type MetricScorer } from './metrics.ts';

/**
 * One metric with its seeded percentile bootstrap interval.
 *
 * @example
 * const m: MetricValue = { name: 'accuracy', estimate: 0.9, low: 0.87, high: 0.93, higherIsBetter: true };
 */
export interface MetricValue {
  name: string;
  estimate: number;
  low: number;
  high: number;
  higherIsBetter: boolean;
}

/**
 * Every metric of `scorer` with a bootstrap interval (default 1000 resamples, 95%, seed 0). Large
 * classification jobs run on 2 threads by default (`opts.threads`); the intervals do not depend on it.
 *
 * @example
 * const values = metricsWithCi(new ClassificationScorer(data), { resamples: 1000, seed: 1 });
 */
export function metricsWithCi(scorer: MetricScorer, opts: BootstrapOptions = {}): MetricValue[] {
  const threads = scorer instanceof ClassificationScorer ? bootstrapThreads(scorer.n, opts) : 1;
  const { estimates, samples } = threads > 1 && scorer instanceof ClassificationScorer ? parallelBootstrapSamples(scorer, opts, threads) : bootstrapSamples(scorer.n, (w) => scorer.score(w), opts);
  return scorer.names.map((name, j) => ({ name, ...percentileInterval(samples[j], estimates[j], opts.level), higherIsBetter: scorer.higherIsBetter[j] }));
}

/**
 * Paired difference of one metric between two models: `estimate` = candidate - baseline, interval and
 * two-sided p-value from the paired bootstrap; `pWorse` = one-sided p-value of "the candidate is worse in
 * the metric's direction", (1 + #{resamples not on the bad side}) / (1 + R); `worse` = pWorse < alpha
 * (before any multiple-testing correction).
 *
 * @example
 * const d: MetricDiff = { name: 'accuracy', baseline: 0.9, candidate: 0.85, estimate: -0.05, low: -0.08, high: -0.02, pValue: 0.002, pWorse: 0.001, higherIsBetter: true, worse: true };
 */
export interface MetricDiff extends PairedInterval {
  name: string;
  baseline: number;
  candidate: number;
  higherIsBetter: boolean;
  pWorse: number;
  worse: boolean;
}

/**
 * Paired bootstrap of every metric of two scorers over the same examples (same names required).
 *
 * @example
 * const diffs = pairedMetricDiffs(baselineScorer, candidateScorer, { seed: 1 }, 0.05);
 */
export function pairedMetricDiffs(baseline: MetricScorer, candidate: MetricScorer, opts: BootstrapOptions = {}, alpha = 0.05): MetricDiff[] {
  if (baseline.n !== candidate.n) throw new SwitchyardError('E_EVAL_LENGTH', `paired comparison: ${baseline.n} baseline predictions but ${candidate.n} candidate predictions`, 'both models must be scored on the same examples');
  const m = baseline.names.length;
  if (candidate.names.join('\u0000') !== baseline.names.join('\u0000')) throw new SwitchyardError('E_EVAL_METRICS', 'paired comparison: the two models report different metrics', 'compare models of the same task with the same classes');
  const { estimates, samples } = bootstrapSamples(
    baseline.n,
    (w) => {
      const out = new Float64Array(2 * m);
      out.set(baseline.score(w), 0);
      out.set(candidate.score(w), m);
      return out;
    },
    opts,
  );
  return baseline.names.map((name, j) => {
    const higherIsBetter = baseline.higherIsBetter[j];
    const d = pairedInterval(samples[j], samples[m + j], estimates[j], estimates[m + j], 1 - 2 * alpha);
    let notWorse = 0;
    let valid = 0;
    for (let r = 0; r < samples[j].length; r++) {
      const diff = samples[m + j][r] - samples[j][r];
      if (Number.isNaN(diff)) continue;
      valid++;
      if (higherIsBetter ? diff >= 0 : diff <= 0) notWorse++;
    }
    const pWorse = valid === 0 ? NaN : (1 + notWorse) / (1 + valid);
    return { name, baseline: estimates[j], candidate: estimates[m + j], ...d, higherIsBetter, pWorse, worse: pWorse < alpha };
  });
}
