/**
 * What the label-efficiency benchmarks (bench/label-efficiency-text.ts, bench/label-efficiency-images.ts) compute
 * from their runs: test accuracy pooled over seeds with a bootstrap interval over test items, and the gain of a
 * pretrained model over scratch with a paired interval and the "beyond the seed spread" check.
 */
import { bootstrapCi, pairedBootstrapCi } from '../src/stats/bootstrap.ts';

/**
 * The number after `--name` on the command line, else `dflt`.
 *
 * @example
 * const seeds = numberArg('seeds', 3); // --seeds 5 gives 5
 */
export function numberArg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

/** One fine-tuning run scored on the test items: `correct[i]` is 1 where item i was classified right. */
export interface SeedRun {
  accuracy: number;
  correct: Uint8Array;
}

/** Accuracy over seeds and test items, with its 95% interval, the seed range, and the statistic on a resample. */
export interface Pooled {
  mean: number;
  lo: number;
  hi: number;
  seedMin: number;
  seedMax: number;
  seeds: number[];
  acc: (idx: Int32Array) => number;
}

/**
 * Accuracy pooled over seeds, with a bootstrap interval over test items (the same resample for every seed).
 *
 * @example
 * const p = pooledAccuracy(runs, 1000); // p.mean, p.lo, p.hi, p.seedMin, p.seedMax
 */
export function pooledAccuracy(runs: SeedRun[], nTest: number): Pooled {
  const one = (r: SeedRun, idx: Int32Array) => idx.reduce((a, i) => a + r.correct[i], 0) / idx.length;
  const acc = (idx: Int32Array) => runs.reduce((s, r) => s + one(r, idx), 0) / runs.length;
  const ci = bootstrapCi(nTest, acc, { seed: 1, resamples: 1000 });
  const seeds = runs.map((r) => r.accuracy);
  const [seedMin, seedMax] = [Math.min(...seeds), Math.max(...seeds)];
  return { mean: ci.estimate, lo: ci.low, hi: ci.high, seedMin, seedMax, seeds, acc };
}

/**
 * The gain of `pre` over `scratch` (pretrained minus scratch accuracy) with a paired 95% bootstrap interval over
 * test items; "beyond the seed spread" means the worst pretrained seed beat the best scratch seed.
 *
 * @example
 * const g = gainOver(pooledAccuracy(pre, n), pooledAccuracy(scratch, n), n); // g.gain, g.lo, g.hi, g.beyondSeedSpread
 */
export function gainOver(pre: Pooled, scratch: Pooled, nTest: number) {
  const d = pairedBootstrapCi(nTest, (idx) => scratch.acc(idx), (idx) => pre.acc(idx), { seed: 2, resamples: 1000 });
  return { gain: d.estimate, lo: d.low, hi: d.high, beyondSeedSpread: pre.seedMin > scratch.seedMax };
}
