/**
 * Item 19 of issue 11: a one-row group headlined a demographic parity difference of 0.64, and the selection-rate
 * mitigation selected nobody. Small groups are listed with their counts but kept out of the gaps; a mitigation
 * that degenerates says so.
 */
import { describe, expect, it } from 'vitest';
import { decide, degeneracy, fairnessReport, MIN_GROUP_SIZE, optimizeThresholds } from '../../src/eval/fairness.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectCode } from '../expect-error.ts';

/** Two groups of 200 rows with a biased scorer (group b under-scored), and one row whose sensitive value is missing. */
function withMissingRow() {
  const rng = new Rng(11);
  const n = 400;
  const groups: string[] = Array.from({ length: n }, (_, i) => (i % 2 ? 'b' : 'a'));
  const actual = Uint8Array.from({ length: n + 1 }, (_, i) => (i === n ? 1 : rng.next() < 0.4 ? 1 : 0));
  const score = Float64Array.from({ length: n + 1 }, (_, i) => {
    if (i === n) return 0.97;
    const s = 0.5 + (actual[i] ? 0.22 : -0.22) + 0.12 * rng.normal() - (groups[i] === 'b' ? 0.25 : 0);
    return Math.min(1, Math.max(0, s));
  });
  groups.push('(missing)');
  return { score, actual, groups };
}

describe('fairness: groups under the minimum size', () => {
  it('are listed with their counts and flagged, but kept out of every headline gap', () => {
    const { score, actual, groups } = withMissingRow();
    const r = fairnessReport(actual, decide(score, groups, 0.5), groups);
    expect(r.minGroupSize).toBe(MIN_GROUP_SIZE);
    expect(r.groups.map((g) => [g.group, g.count, g.tooSmall])).toEqual([['(missing)', 1, true], ['a', 200, false], ['b', 200, false]]);
    expect(r.excluded).toEqual(['(missing)']);
    const [, a, b] = r.groups;
    // The one row is selected (rate 1): counted, it would set the gap to 1 - min(rate).
    expect(r.groups[0].selectionRate).toBe(1);
    expect(r.demographicParityDifference).toBeCloseTo(Math.abs(a.selectionRate - b.selectionRate), 12);
    expect(r.demographicParityRatio).toBeCloseTo(Math.min(a.selectionRate, b.selectionRate) / Math.max(a.selectionRate, b.selectionRate), 12);
    expect(r.equalOpportunityDifference).toBeCloseTo(Math.abs(a.tpr - b.tpr), 12);
    expect(r.equalizedOddsDifference).toBeCloseTo(Math.max(Math.abs(a.tpr - b.tpr), Math.abs(a.fpr - b.fpr)), 12);
    expect(r.demographicParityDifference).toBeLessThan(0.5);
    // Counting every group (minGroupSize 1) gives the misleading headline back: the one row's rate of 1 sets it.
    const all = fairnessReport(actual, decide(score, groups, 0.5), groups, { minGroupSize: 1 });
    expect(all.excluded).toEqual([]);
    expect(all.demographicParityDifference).toBeCloseTo(1 - Math.min(a.selectionRate, b.selectionRate), 12);
  });

  it('with fewer than two groups left the gaps are NaN, not a reassuring 0; the minimum is checked', () => {
    const r = fairnessReport([1, 0, 1], [1, 0, 0], ['a', 'a', 'b'], { minGroupSize: 2 });
    expect(r.excluded).toEqual(['b']);
    for (const v of [r.demographicParityDifference, r.demographicParityRatio, r.equalizedOddsDifference, r.equalOpportunityDifference]) expect(v).toBeNaN();
    for (const bad of [0, 2.5, -1, Number.NaN]) expectCode(() => fairnessReport([1], [1], ['a'], { minGroupSize: bad }), 'E_USAGE', /minimum group size/);
  });

  it('the selection-rate mitigation equalises the counted groups instead of selecting (nearly) nobody', () => {
    const { score, actual, groups } = withMissingRow();
    const fixed = optimizeThresholds(score, actual, groups, { objective: 'selection_rate' });
    expect(fixed.before.demographicParityDifference).toBeGreaterThan(0.1);
    expect(fixed.after.demographicParityDifference).toBeLessThanOrEqual(0.02);
    const rate = (g: string) => fixed.after.groups.find((x) => x.group === g)!.selectionRate;
    expect(rate('a')).toBeGreaterThan(0.2);
    expect(rate('b')).toBeGreaterThan(0.2);
    expect(fixed.degenerate).toEqual([]);
    expect(fixed.accuracyCost).toBeLessThan(0.1);
    // Counting the one-row group forces every counted rate to within 0.02 of 0 or 1: the old behaviour, now flagged.
    const forced = optimizeThresholds(score, actual, groups, { objective: 'selection_rate', minGroupSize: 1 });
    expect(Math.min(rate('a'), rate('b'))).toBeGreaterThan(Math.max(...forced.after.groups.map((g) => Math.min(g.selectionRate, 1 - g.selectionRate))));
    expect(forced.degenerate.join('; ')).toMatch(/accuracy collapses|selects (nobody|everybody)/);
  });
});

describe('degeneracy', () => {
  const y = Uint8Array.from({ length: 100 }, (_, i) => (i < 40 ? 1 : 0));
  const g = Array.from({ length: 100 }, (_, i) => (i % 2 ? 'a' : 'b'));
  it('names decisions that select nobody or everybody, and their accuracy collapse', () => {
    const none = new Uint8Array(100);
    const d = degeneracy(y, none, fairnessReport(y, none, g), 0.9);
    expect(d[0]).toBe('selects nobody');
    expect(d[1]).toBe('accuracy collapses: 60.0% (before 90.0%; deciding negative for everyone gives 60.0%)');
    const all = new Uint8Array(100).fill(1);
    expect(degeneracy(y, all, fairnessReport(y, all, g), 0.9)[0]).toBe('selects everybody');
  });

  it('names a counted group selected wholesale, and no collapse while half the gain over a constant is kept', () => {
    // Perfect decisions except that group b's 20 negatives (odd-free indices 40.. with i % 2 = 0) are all selected.
    const dec = Uint8Array.from(y, (v, i) => (v || (g[i] === 'b') ? 1 : 0));
    const rep = fairnessReport(y, dec, g);
    expect(rep.accuracy).toBeCloseTo(0.7, 12);
    expect(degeneracy(y, dec, rep, 1)).toEqual([
      "selects everybody in group 'b' (n = 50)",
      'accuracy collapses: 70.0% (before 100.0%; deciding negative for everyone gives 60.0%)',
    ]);
    // Gain before 0.4 (1.0 - 0.6), after 0.1: under half. With before 0.75 (gain 0.15) the 0.1 kept is over half.
    expect(degeneracy(y, dec, rep, 0.75)).toEqual(["selects everybody in group 'b' (n = 50)"]);
    expect(degeneracy(y, y, fairnessReport(y, y, g), 1)).toEqual([]);
  });
});
