/**
 * sampleToken draws from softmax(logits / T) (PyTorch / HF `logits / temperature` then softmax): checked by the
 * frequencies of 20,000 draws at middling temperatures, where T changes the distribution a lot, against the
 * closed form. A sampler that ignored T would give softmax(logits) at every temperature.
 */
import { describe, expect, it } from 'vitest';
import { sampleToken } from '../../src/train/generate.ts';
import { Rng } from '../../src/util/rng.ts';

const logits = Float32Array.of(2, 1, 0, -1);
const softmaxAt = (t: number) => {
  const e = [...logits].map((l) => Math.exp(l / t));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

function frequencies(o: { temperature: number; topK?: number }, n = 20_000, seed = 3): number[] {
  const rng = new Rng(seed);
  const c = new Array(logits.length).fill(0);
  for (let i = 0; i < n; i++) c[sampleToken(logits, { maxTokens: 1, ...o }, rng)]++;
  return c.map((v) => v / n);
}

describe('sampling temperature', () => {
  it('draws from softmax(logits / T) at T = 0.5, 1 and 2', () => {
    for (const t of [0.5, 1, 2]) {
      const want = softmaxAt(t);
      const got = frequencies({ temperature: t });
      // Each share is within 5 binomial standard deviations of its probability (sd <= 0.0036 at n = 20000).
      want.forEach((p, i) => expect(Math.abs(got[i] - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / 20_000) + 1e-9));
    }
    // The closed forms differ a lot: the top token is 0.865 likely at T = 0.5, 0.644 at 1, 0.455 at 2.
    expect(softmaxAt(0.5)[0]).toBeCloseTo(0.8650, 3);
    expect(softmaxAt(2)[0]).toBeCloseTo(0.4551, 3);
  });

  it('temperature applies inside top-k: the kept tokens follow softmax(kept logits / T)', () => {
    const got = frequencies({ temperature: 2, topK: 2 });
    const p0 = 1 / (1 + Math.exp((1 - 2) / 2));
    expect(Math.abs(got[0] - p0)).toBeLessThan(5 * Math.sqrt((p0 * (1 - p0)) / 20_000));
    expect(got[2] + got[3]).toBe(0);
  });
});
