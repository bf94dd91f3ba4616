/**
 * Statistics pinned at middling values, where a missing factor or a dropped guard shows (the extremes, p = 1 or
 * PSI = 0, are the same with and without those bugs).
 */
import { describe, expect, it } from 'vitest';
import { pairedInterval } from '../../src/stats/bootstrap.ts';
import { psi } from '../../src/stats/drift.ts';

describe('paired bootstrap p-value', () => {
  it('is two-sided: 2·(1 + #{diff on the far side of 0}) / (1 + R), the one-sided (1 + #) / (1 + R) doubled', () => {
    // diff = B - A = -3 .. 16: four resamples at or below 0 (-3, -2, -1, 0), seventeen at or above.
    const a = Float64Array.from({ length: 20 }, () => 0.5);
    const b = Float64Array.from({ length: 20 }, (_, i) => 0.5 + (i - 3));
    expect(pairedInterval(a, b, 0.5, 4.5).pValue).toBeCloseTo((2 * (1 + 4)) / 21, 15);
    // Symmetric in A and B, and NaN resamples do not count.
    expect(pairedInterval(b, a, 4.5, 0.5).pValue).toBeCloseTo(10 / 21, 15);
    const withNaN = Float64Array.from([...b, Number.NaN, Number.NaN]);
    expect(pairedInterval(Float64Array.from([...a, 0, 0]), withNaN, 0.5, 4.5).pValue).toBeCloseTo(10 / 21, 15);
    // 1 of 99 below: 2·2/100.
    const c = Float64Array.from({ length: 99 }, (_, i) => (i === 0 ? -1 : 1));
    expect(pairedInterval(new Float64Array(99), c, 0, 1).pValue).toBeCloseTo(0.04, 15);
    expect(pairedInterval(new Float64Array(3), Float64Array.of(0, 0, 0), 0, 0).pValue).toBe(1);
    expect(pairedInterval(Float64Array.of(Number.NaN), Float64Array.of(1), 0, 1).pValue).toBeNaN();
  });

  it('its interval is the percentile interval of B - A around the difference of the estimates', () => {
    const a = new Float64Array(101);
    const b = Float64Array.from({ length: 101 }, (_, i) => i / 100);
    const r = pairedInterval(a, b, 0.2, 0.7);
    expect(r.estimate).toBeCloseTo(0.5, 15);
    expect(r.low).toBeCloseTo(0.025, 12);
    expect(r.high).toBeCloseTo(0.975, 12);
  });
});

describe('population stability index', () => {
  const closed = (e: number[], a: number[], eps = 1e-4) => {
    const se = e.reduce((x, y) => x + y, 0);
    const sa = a.reduce((x, y) => x + y, 0);
    return e.reduce((s, ev, i) => {
      const ei = ev / se || eps;
      const ai = a[i] / sa || eps;
      return s + (ai - ei) * Math.log(ai / ei);
    }, 0);
  };

  it('matches Σ (a - e)·ln(a / e) with empty bins at eps, finite when the *current* bin is empty', () => {
    expect(psi([30, 30, 40], [50, 50, 0])).toBeCloseTo(closed([30, 30, 40], [50, 50, 0]), 12);
    expect(Number.isFinite(psi([30, 30, 40], [50, 50, 0]))).toBe(true);
    // By hand: 2·0.2·ln(0.5/0.3) + (1e-4 - 0.4)·ln(1e-4/0.4).
    expect(psi([30, 30, 40], [50, 50, 0])).toBeCloseTo(2 * 0.2 * Math.log(5 / 3) + (1e-4 - 0.4) * Math.log(1e-4 / 0.4), 12);
    expect(psi([50, 50, 0], [30, 30, 40])).toBeCloseTo(psi([30, 30, 40], [50, 50, 0]), 12);
    // A middling shift: 0.1 of the mass moves between two bins.
    expect(psi([50, 50], [60, 40])).toBeCloseTo(0.1 * Math.log(0.6 / 0.5) - 0.1 * Math.log(0.4 / 0.5), 15);
    expect(psi([50, 50], [60, 40], 0.01)).toBeCloseTo(psi([50, 50], [60, 40]), 15);
    expect(psi([1, 0], [0, 1], 0.01)).toBeCloseTo(2 * 0.99 * Math.log(100), 12);
  });
});
