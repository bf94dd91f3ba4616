/**
 * Seeded nonparametric bootstrap. The core draws multinomial resample *counts* (how often each example
 * appears) so statistics written as weighted sums never copy the data; an index-based form is kept for
 * statistics that need the resampled rows themselves.
 */
import { Rng } from '../util/rng.ts';
import { quantileSorted } from './quantile.ts';

/**
 * Options shared by the bootstrap functions.
 *
 * @example
 * const o: BootstrapOptions = { resamples: 1000, level: 0.95, seed: 1 };
 */
export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** Two-sided confidence level of the percentile interval (default 0.95). */
  level?: number;
  /** Seed of the resampling stream (default 0). */
  seed?: number;
  /**
   * Threads for scorers that can run in worker threads (`metricsWithCi` of a classification scorer):
   * default 2 when n × resamples ≥ 20 million and the machine has 2+ CPUs, else 1. Results do not depend on it.
   */
  threads?: number;
}

/**
 * A point estimate with a percentile confidence interval.
 *
 * @example
 * const ci: Interval = { estimate: 0.91, low: 0.89, high: 0.93 };
 */
export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

/**
 * A paired difference (B - A) with its interval and a two-sided bootstrap p-value for "no difference".
 *
 * @example
 * const d: PairedInterval = { estimate: -0.02, low: -0.035, high: -0.006, pValue: 0.004 };
 */
export interface PairedInterval extends Interval {
  pValue: number;
}

/**
 * Fills `out` (length n) with the counts of one bootstrap resample of n examples and returns it.
 *
 * @example
 * const counts = resampleCounts(5, new Rng(1), new Int32Array(5)); // sums to 5
 */
export function resampleCounts(n: number, rng: Rng, out: Int32Array): Int32Array {
  out.fill(0);
  const scale = n / 4294967296;
  for (let i = 0; i < n; i++) out[Math.floor(rng.nextU32() * scale)]++;
  return out;
}

/**
 * Advances `rng` past `count` resamples of n examples (the draws {@link resampleCounts} would make), so
 * resample r can be drawn alone, with the same counts as in the sequential stream.
 *
 * @example
 * skipResamples(100, rng, 3); // rng is now where the 4th resample of 100 starts
 */
export function skipResamples(n: number, rng: Rng, count: number): Rng {
  for (let i = count * n; i > 0; i--) rng.nextU32();
  return rng;
}

/**
 * Percentile interval of bootstrap `samples` around `estimate` at `level`; NaN samples (a statistic
 * undefined on that resample, e.g. AUC with one class) are ignored. All-NaN gives NaN bounds.
 *
 * @example
 * percentileInterval(Float64Array.of(1, 2, 3, 4, 5), 3, 0.5); // { estimate: 3, low: 2, high: 4 }
 */
export function percentileInterval(samples: ArrayLike<number>, estimate: number, level = 0.95): Interval {
  const s = Float64Array.from(samples).filter((v) => !Number.isNaN(v)).sort();
  const a = (1 - level) / 2;
  return { estimate, low: quantileSorted(s, a), high: quantileSorted(s, 1 - a) };
}

/**
 * Full-sample estimates and per-resample values of k statistics.
 *
 * @example
 * const { estimates, samples } = bootstrapSamples(n, stat, { seed: 1 }); // samples[s][r]
 */
export interface BootstrapSamples {
  estimates: Float64Array;
  /** samples[s][r]: statistic s on resample r. */
  samples: Float64Array[];
}

/**
 * Evaluates `statistic` (k values from per-example counts) on the full sample (all counts 1) and on
 * `resamples` seeded resamples. Every statistic sees the same resamples, which is what paired
 * comparisons need.
 *
 * @example
 * const correct = Float64Array.of(1, 0, 1, 1);
 * const acc = (w: Int32Array) => { let s = 0; for (let i = 0; i < 4; i++) s += w[i] * correct[i]; return [s / 4]; };
 * bootstrapSamples(4, acc, { resamples: 100, seed: 1 }).estimates[0]; // 0.75
 */
export function bootstrapSamples(n: number, statistic: (counts: Int32Array) => ArrayLike<number>, opts: BootstrapOptions = {}): BootstrapSamples {
  const resamples = opts.resamples ?? 1000;
  const counts = new Int32Array(n).fill(1);
  const estimates = Float64Array.from(statistic(counts));
  const samples = Array.from(estimates, () => new Float64Array(resamples));
  const rng = new Rng(opts.seed ?? 0);
  for (let r = 0; r < resamples; r++) {
    const v = statistic(resampleCounts(n, rng, counts));
    for (let s = 0; s < samples.length; s++) samples[s][r] = v[s];
  }
  return { estimates, samples };
}

/**
 * Percentile bootstrap intervals of k statistics computed from per-example counts (weights).
 *
 * @example
 * const y = Float64Array.of(1, 2, 3, 4);
 * const mean = (w: Int32Array) => { let s = 0; for (let i = 0; i < 4; i++) s += w[i] * y[i]; return [s / 4]; };
 * bootstrapCounts(4, mean, { seed: 7 })[0]; // { estimate: 2.5, low: ~1.5, high: ~3.5 }
 */
export function bootstrapCounts(n: number, statistic: (counts: Int32Array) => ArrayLike<number>, opts: BootstrapOptions = {}): Interval[] {
  const { estimates, samples } = bootstrapSamples(n, statistic, opts);
  return samples.map((s, i) => percentileInterval(s, estimates[i], opts.level));
}

function indexStatistic(n: number, statistic: (idx: Int32Array) => number): (counts: Int32Array) => number[] {
  const idx = new Int32Array(n);
  return (counts) => {
    let p = 0;
    for (let i = 0; i < n; i++) for (let c = counts[i]; c > 0; c--) idx[p++] = i;
    return [statistic(idx)];
  };
}

/**
 * Percentile bootstrap interval of `statistic`, called with the indices of each resample (sorted; the
 * full sample is 0..n-1).
 *
 * @example
 * const y = [3, 1, 4, 1, 5];
 * bootstrapCi(5, (idx) => idx.reduce((s, i) => s + y[i], 0) / idx.length, { seed: 1 }); // { estimate: 2.8, ... }
 */
export function bootstrapCi(n: number, statistic: (idx: Int32Array) => number, opts: BootstrapOptions = {}): Interval {
  return bootstrapCounts(n, indexStatistic(n, statistic), opts)[0];
}

/**
 * Paired bootstrap of the difference B - A from per-resample values of the same statistic for two
 * models on the same resamples; p-value = two-sided (1 + #{diff on the far side of 0}) / (1 + R).
 *
 * @example
 * pairedInterval(Float64Array.of(0.8, 0.7), Float64Array.of(0.6, 0.5), 0.8, 0.6); // estimate -0.2
 */
export function pairedInterval(samplesA: ArrayLike<number>, samplesB: ArrayLike<number>, estimateA: number, estimateB: number, level = 0.95): PairedInterval {
  const diff = Float64Array.from(samplesB, (b, i) => b - samplesA[i]);
  let le = 0;
  let ge = 0;
  let valid = 0;
  for (const d of diff) {
    if (Number.isNaN(d)) continue;
    valid++;
    if (d <= 0) le++;
    if (d >= 0) ge++;
  }
  const pValue = valid === 0 ? NaN : Math.min(1, (2 * (1 + Math.min(le, ge))) / (1 + valid));
  return { ...percentileInterval(diff, estimateB - estimateA, level), pValue };
}

/**
 * Paired bootstrap of statistic B minus statistic A (both called with the same resample indices).
 *
 * @example
 * const a = [1, 0, 1, 1], b = [1, 1, 1, 1];
 * const mean = (v: number[]) => (idx: Int32Array) => idx.reduce((s, i) => s + v[i], 0) / idx.length;
 * pairedBootstrapCi(4, mean(a), mean(b), { seed: 1 }).estimate; // 0.25
 */
export function pairedBootstrapCi(n: number, statA: (idx: Int32Array) => number, statB: (idx: Int32Array) => number, opts: BootstrapOptions = {}): PairedInterval {
  const sa = indexStatistic(n, statA);
  const sb = indexStatistic(n, statB);
  const { estimates, samples } = bootstrapSamples(n, (c) => [sa(c)[0], sb(c)[0]], opts);
  return pairedInterval(samples[0], samples[1], estimates[0], estimates[1], opts.level);
}
