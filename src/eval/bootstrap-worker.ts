/**
 * Bootstrap resamples of a classification scorer split across worker threads, with the same results as
 * the one-thread loop: resample r always uses the counts of the r-th resample of the one seeded stream
 * (a thread that claims r skips the stream past the resamples other threads took; skipping costs a
 * fraction of scoring). Threads claim resamples one at a time from a shared counter and write into
 * shared memory, so the calling thread stays synchronous and does all the work itself if a worker
 * starts late, never starts or fails. This module is also the worker's entry point (run through tsx).
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { resampleCounts, skipResamples, type BootstrapOptions, type BootstrapSamples } from '../stats/bootstrap.ts';
import { Rng } from '../util/rng.ts';
import { ClassificationScorer } from './metrics.ts';

/** n × resamples from which the default is 2 threads. */
export const PARALLEL_BOOTSTRAP_MIN_WORK = 20_000_000;

const KIND = 'switchyard-bootstrap';
/** Control words: next resample to claim, resamples finished, worker failures, workers started. */
const NEXT = 0;
const DONE = 1;
const FAILED = 2;
const STARTED = 3;

interface Shared {
  n: number;
  seed: number;
  resamples: number;
  metrics: number;
  ctl: Int32Array;
  done: Int32Array;
  samples: Float64Array;
}

/** Claims and scores resamples until none are left; returns how many this thread scored. */
function claimLoop(scorer: ClassificationScorer, sh: Shared): number {
  const { n, resamples: R, metrics: m, ctl, done, samples } = sh;
  const rng = new Rng(sh.seed);
  const counts = new Int32Array(n);
  let at = 0;
  let scored = 0;
  for (;;) {
    const r = Atomics.add(ctl, NEXT, 1);
    if (r >= R) return scored;
    skipResamples(n, rng, r - at);
    const v = scorer.score(resampleCounts(n, rng, counts));
    at = r + 1;
    for (let s = 0; s < m; s++) samples[s * R + r] = v[s];
    Atomics.store(done, r, 1);
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
    scored++;
  }
}

/**
 * Source of the worker's entry: imports this module, and a failure is flagged. Run from the TypeScript sources
 * (the repository's tests), it registers tsx first: Node 20 workers do not inherit the caller's loader hooks.
 * The built package (`dist/`, plain JS) needs no loader.
 */
function workerBoot(): string {
  const self = JSON.stringify(import.meta.url);
  const prelude = `const { workerData } = require('node:worker_threads');
const fail = () => { Atomics.add(workerData.ctl, ${FAILED}, 1); Atomics.notify(workerData.ctl, ${DONE}); Atomics.notify(workerData.ctl, ${STARTED}); };`;
  if (!import.meta.url.endsWith('.ts')) return `${prelude}\nimport(${self}).catch(fail);`;
  // The ES module build of tsx/esm/api (require.resolve finds its CommonJS twin next to it).
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.c?js$/, '.mjs')).href;
  return `${prelude}
import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${self}); }).catch(fail);`;
}

/**
 * Threads to use for `resamples` resamples of n examples: `opts.threads` when given, else 2 for jobs of
 * at least {@link PARALLEL_BOOTSTRAP_MIN_WORK} on a machine with 2+ CPUs, else 1.
 *
 * @example
 * bootstrapThreads(100_000, { resamples: 1000 }); // 2 on a 2-core machine
 */
export function bootstrapThreads(n: number, opts: BootstrapOptions = {}): number {
  if (opts.threads !== undefined) return Math.max(1, Math.floor(opts.threads));
  return n * (opts.resamples ?? 1000) >= PARALLEL_BOOTSTRAP_MIN_WORK && availableParallelism() >= 2 ? 2 : 1;
}

/**
 * {@link bootstrapSamples} of every metric of a classification scorer on `threads` threads (the caller
 * plus threads - 1 workers); identical to the one-thread result. `workerResamples` counts the resamples
 * the workers scored.
 *
 * @example
 * const { estimates, samples } = parallelBootstrapSamples(scorer, { resamples: 1000, seed: 1 }, 2);
 */
export function parallelBootstrapSamples(scorer: ClassificationScorer, opts: BootstrapOptions, threads: number, waitForWorkers = false): BootstrapSamples & { workerResamples: number } {
  const n = scorer.n;
  const R = opts.resamples ?? 1000;
  const estimates = Float64Array.from(scorer.score(new Int32Array(n).fill(1)));
  const m = estimates.length;
  const sh: Shared = {
    n,
    seed: opts.seed ?? 0,
    resamples: R,
    metrics: m,
    ctl: new Int32Array(new SharedArrayBuffer(16)),
    done: new Int32Array(new SharedArrayBuffer(4 * Math.max(1, R))),
    samples: new Float64Array(new SharedArrayBuffer(8 * Math.max(1, m * R))),
  };
  const state = scorer.toState();
  const workers = Array.from({ length: Math.max(0, threads - 1) }, () => {
    const w = new Worker(workerBoot(), { eval: true, workerData: { kind: KIND, state, ...sh } });
    w.on('error', () => undefined);
    w.unref();
    return w;
  });
  if (waitForWorkers) while (Atomics.load(sh.ctl, STARTED) < workers.length && Atomics.load(sh.ctl, FAILED) === 0) Atomics.wait(sh.ctl, STARTED, Atomics.load(sh.ctl, STARTED), 100);
  const t0 = performance.now();
  const mine = claimLoop(scorer, sh);
  // Wait for resamples a worker claimed; give up on a worker that fails or stops making progress.
  const stallMs = Math.max(10_000, (20 * (performance.now() - t0)) / Math.max(1, mine));
  let seen = Atomics.load(sh.ctl, DONE);
  let since = performance.now();
  while (seen < R && Atomics.load(sh.ctl, FAILED) === 0 && performance.now() - since < stallMs) {
    Atomics.wait(sh.ctl, DONE, seen, 200);
    const now = Atomics.load(sh.ctl, DONE);
    if (now !== seen) (seen = now), (since = performance.now());
  }
  for (const w of workers) void w.terminate();
  // Anything a worker left unfinished is scored here from a fresh stream.
  const rng = new Rng(sh.seed);
  const counts = new Int32Array(n);
  let at = 0;
  let missing = 0;
  for (let r = 0; r < R; r++) {
    if (Atomics.load(sh.done, r)) continue;
    skipResamples(n, rng, r - at);
    const v = scorer.score(resampleCounts(n, rng, counts));
    at = r + 1;
    for (let s = 0; s < m; s++) sh.samples[s * R + r] = v[s];
    missing++;
  }
  const samples = Array.from({ length: m }, (_, s) => sh.samples.slice(s * R, (s + 1) * R));
  return { estimates, samples, workerResamples: R - mine - missing };
}

if (!isMainThread && workerData?.kind === KIND) {
  const sh = workerData as Shared & { state: Record<string, unknown> };
  Atomics.add(sh.ctl, STARTED, 1);
  Atomics.notify(sh.ctl, STARTED);
  try {
    claimLoop(ClassificationScorer.fromState(sh.state), sh);
  } catch {
    Atomics.add(sh.ctl, FAILED, 1);
    Atomics.notify(sh.ctl, DONE);
  }
}
