import { describe, expect, it } from 'vitest';
import { metricsWithCi } from '../../src/eval/bootstrap-metrics.ts';
import { bootstrapThreads, parallelBootstrapSamples } from '../../src/eval/bootstrap-worker.ts';
import { ClassificationScorer } from '../../src/eval/metrics.ts';
import { bootstrapSamples } from '../../src/stats/bootstrap.ts';
import { Rng } from '../../src/util/rng.ts';

function scorer(n: number, k: number): ClassificationScorer {
  const rng = new Rng(11);
  const labels = Int32Array.from({ length: n }, () => rng.int(k));
  const probs = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < k; c++) s += probs[i * k + c] = Math.exp(rng.normal() + (c === labels[i] ? 1 : 0));
    for (let c = 0; c < k; c++) probs[i * k + c] /= s;
  }
  return new ClassificationScorer({ labels, probs, classes: Array.from({ length: k }, (_, c) => `c${c}`) });
}

describe('bootstrap resamples on worker threads', () => {
  it('a worker scores part of the resamples and the samples equal the one-thread stream', () => {
    const s = scorer(3000, 4);
    const one = bootstrapSamples(s.n, (w) => s.score(w), { resamples: 120, seed: 5 });
    const two = parallelBootstrapSamples(s, { resamples: 120, seed: 5 }, 2, true);
    expect(two.workerResamples).toBeGreaterThan(0);
    expect(two.estimates).toEqual(one.estimates);
    expect(two.samples).toEqual(one.samples);
    expect(metricsWithCi(s, { resamples: 60, seed: 2, threads: 2 })).toEqual(metricsWithCi(s, { resamples: 60, seed: 2, threads: 1 }));
  });

  it('small jobs stay on one thread unless asked', () => {
    expect(bootstrapThreads(1000, { resamples: 1000 })).toBe(1);
    expect(bootstrapThreads(1000, { resamples: 1000, threads: 3 })).toBe(3);
  });
});
