/**
 * Inverted dropout pinned to its definition (torch.nn.functional.dropout, training=True): every element is
 * either 0 or x / (1 - p), about a share p are zeroed, and the mean is preserved in expectation; eval mode is the
 * identity. Run in the float64 reference interpreter with an explicit seed.
 */
import { describe, expect, it } from 'vitest';
import { trace } from '../../src/core/index.ts';
import { Dropout } from '../../src/nn/layers.ts';
import { dropout } from '../../src/nn/functional.ts';
import { withTraining } from '../../src/nn/mode.ts';
import { refTensor, runReference } from '../../src/runtime/reference/index.ts';
import { expectCode } from '../expect-error.ts';

const N = 4000;
const x = Array.from({ length: N }, (_, i) => 1 + (i % 7) * 0.25);

function dropped(p: number, training: boolean, seed = 5): number[] {
  const g = trace((g) => {
    const input = g.input('x', 'f32', [N]);
    const s = g.input('seed', 'i64', []);
    return { y: training ? withTraining(s, () => dropout(input, p)) : dropout(input, p) };
  });
  return [...runReference(g, { x: refTensor(x, [N]), seed: refTensor([seed], [], 'i64') }).y.data];
}

describe('dropout', () => {
  it('keeps elements scaled by 1/(1-p) and zeroes about a share p (p = 0.3 and 0.5)', () => {
    for (const p of [0.3, 0.5]) {
      const y = dropped(p, true);
      let zeros = 0;
      for (let i = 0; i < N; i++) {
        if (y[i] === 0) zeros++;
        else expect(y[i]).toBeCloseTo(x[i] / (1 - p), 6);
      }
      // Binomial(4000, p): 4 standard deviations is under 0.032.
      expect(Math.abs(zeros / N - p)).toBeLessThan(0.032);
      // The mean is preserved in expectation (the point of the rescale): within 5% here; without it, off by p.
      const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      expect(mean(y) / mean(x)).toBeGreaterThan(0.95);
      expect(mean(y) / mean(x)).toBeLessThan(1.05);
    }
  });

  it('is the identity in eval mode and at p = 0; other seeds give other masks; Dropout checks p', () => {
    expect(dropped(0.5, false)).toEqual(x.map((v) => Math.fround(v)));
    expect(dropped(0, true)).toEqual(x.map((v) => Math.fround(v)));
    const a = dropped(0.5, true, 1);
    const b = dropped(0.5, true, 2);
    expect(a.filter((v, i) => (v === 0) !== (b[i] === 0)).length).toBeGreaterThan(N / 4);
    for (const bad of [1, -0.1, 1.5]) expectCode(() => new Dropout(bad), 'E_CONFIG', /dropout probability/);
  });
});
