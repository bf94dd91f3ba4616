/**
 * Timing helpers shared by every benchmark in `bench/`.
 *
 * `timeIt` runs a function (sync or async) a few times to warm up, then keeps running it until a time
 * budget is spent (bounded by `minRuns` / `maxRuns`) and returns the wall-clock ms of each timed run.
 * Report the median (`median`) rather than the mean: it ignores the odd GC pause or scheduler hiccup.
 */

/** Options for {@link timeIt}. */
export interface TimeItOptions {
  /** Untimed runs before measuring (default 3). */
  warmup?: number;
  /** Time budget for the timed runs, in seconds (default 5). Runs stop once this is spent and `minRuns` are done. */
  seconds?: number;
  /** Fewest timed runs, even if the budget is exceeded (default 5). */
  minRuns?: number;
  /** Most timed runs, even if budget remains (default Infinity). */
  maxRuns?: number;
}

/** Median of a non-empty list of numbers (mean of the two middle values for even lengths). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median: empty sample list');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** p-th percentile (0..100) by linear interpolation between order statistics. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) throw new Error('percentile: empty sample list');
  const s = [...xs].sort((a, b) => a - b);
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Current monotonic time in milliseconds (sub-microsecond resolution). */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * Times `fn`: `warmup` untimed calls, then timed calls until `seconds` of timed work have elapsed and at
 * least `minRuns` were made, or `maxRuns` were made. Promises returned by `fn` are awaited inside the timed
 * region, so async work counts.
 *
 * @returns wall-clock milliseconds of each timed call, in call order.
 */
export async function timeIt(fn: () => unknown, opts: TimeItOptions = {}): Promise<number[]> {
  const warmup = opts.warmup ?? 3;
  const budgetMs = (opts.seconds ?? 5) * 1000;
  const minRuns = Math.max(1, opts.minRuns ?? 5);
  const maxRuns = Math.max(minRuns, opts.maxRuns ?? Number.POSITIVE_INFINITY);
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  let spent = 0;
  while (samples.length < maxRuns && (samples.length < minRuns || spent < budgetMs)) {
    const t0 = nowMs();
    const r = fn();
    if (r instanceof Promise) await r;
    const dt = nowMs() - t0;
    samples.push(dt);
    spent += dt;
  }
  return samples;
}
