/**
 * Equal-width ECE bins are right-closed, ((m-1)/B, m/B], as in Guo et al. 2017's reference implementation
 * (gpleiss/temperature_scaling `_ECELoss`: `conf > bin_lower and conf <= bin_upper`). Confidences exactly on an
 * edge (exact binary fractions, so no rounding is involved) decide which neighbours they are averaged with.
 */
import { describe, expect, it } from 'vitest';
import { assignBins, binnedCalibrationError, calibrationSummary } from '../../src/eval/calibration.ts';
import { ClassificationScorer } from '../../src/eval/metrics.ts';

describe('ECE binning at bin edges', () => {
  it('a confidence on an edge joins the bin below it; 0 goes to the first bin, 1 to the last', () => {
    expect([...assignBins(Float64Array.of(0, 0.25, 0.2500001, 0.5, 0.75, 0.7499999, 1), 4, 'width')]).toEqual([0, 0, 1, 1, 2, 2, 3]);
    expect([...assignBins(Float64Array.of(0.125, 0.5, 0.625, 0.875), 8, 'width')]).toEqual([0, 3, 4, 6]);
  });

  it('decimal edges that are not binary fractions join the bin below them too (0.7 * 10 rounds up to 7.000000000000001)', () => {
    // The reference compares conf > lower && conf <= upper with upper = m / B: 0.3, 0.6, 0.7 and 0.9 are edges.
    const conf = Float64Array.of(0.3, 0.6, 0.7, 0.9, 0.30000000000000004, 0.7000000000000001);
    const want = [...conf].map((c) => [...Array(10).keys()].find((m) => c > m / 10 && c <= (m + 1) / 10));
    expect(want).toEqual([2, 5, 6, 8, 3, 7]);
    expect([...assignBins(conf, 10, 'width')]).toEqual(want);
  });

  it('ECE by hand with edge confidences: 0.1125 with (lo, hi] bins (0.5125 if the edges went up)', () => {
    // Bins of width 1/4. Right-closed: {0.4, 0.5} and {0.6, 0.75}; left-closed would give {0.4}, {0.5, 0.6}, {0.75}.
    const conf = Float64Array.of(0.5, 0.4, 0.75, 0.6);
    const hit = Uint8Array.of(1, 0, 0, 1);
    // Bin (0.25, 0.5]: mean confidence 0.45, accuracy 0.5; bin (0.5, 0.75]: 0.675 vs 0.5.
    const want = (2 * Math.abs(0.5 - 0.45) + 2 * Math.abs(0.5 - 0.675)) / 4;
    expect(want).toBeCloseTo(0.1125, 15);
    const [ece, mce] = binnedCalibrationError(assignBins(conf, 4, 'width'), conf, hit, 4);
    expect(ece).toBeCloseTo(want, 15);
    expect(mce).toBeCloseTo(0.175, 15);
    // The same through the evaluation's summary and its bootstrap scorer: 3 classes, so that a top-label
    // confidence can be 0.4; rows right, wrong, wrong, right.
    const probs = Float64Array.of(0.5, 0.25, 0.25, 0.4, 0.3, 0.3, 0.75, 0.125, 0.125, 0.6, 0.2, 0.2);
    const d = { labels: Int32Array.of(0, 1, 2, 0), probs, classes: ['a', 'b', 'c'] };
    expect(calibrationSummary(d, 4).ece).toBeCloseTo(want, 15);
    expect(new ClassificationScorer(d, { bins: 4 }).pointMetrics().ece).toBeCloseTo(want, 12);
  });
});
