import { describe, expect, it } from 'vitest';
import { ClassificationScorer } from '../../src/eval/metrics.ts';
import { RegressionScorer } from '../../src/eval/metrics-regression.ts';
import { MISSING_SLICE, sliceColumn, sliceLabels, sliceMetrics } from '../../src/eval/slices.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectCode } from '../expect-error.ts';

describe('sliced metrics', () => {
  it('finds the planted bad slice, skips small ones, reports empty declared levels', () => {
    const rng = new Rng(3);
    const n = 900;
    const region = Array.from({ length: n }, (_, i) => (i < 6 ? 'tiny' : ['north', 'south', 'east'][i % 3]));
    const labels = Int32Array.from({ length: n }, () => rng.int(2));
    const probs = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const right = region[i] === 'east' ? rng.next() < 0.6 : rng.next() < 0.9;
      const p = right ? 0.8 : 0.2;
      probs[2 * i + labels[i]] = p;
      probs[2 * i + 1 - labels[i]] = 1 - p;
    }
    const r = sliceMetrics(new ClassificationScorer({ labels, probs, classes: ['0', '1'] }), region, { column: 'region', levels: ['west'], resamples: 200, seed: 1 });
    expect(r.metric).toBe('accuracy');
    expect(r.worst[0].value).toBe('east');
    expect(r.worst.map((s) => s.value)).not.toContain('tiny');
    const tiny = r.slices.find((s) => s.value === 'tiny')!;
    expect(tiny.tooSmall).toBe(true);
    expect(tiny.count).toBe(6);
    expect(Number.isNaN(tiny.metrics![0].low)).toBe(true);
    expect(r.slices.find((s) => s.value === 'west')).toEqual({ value: 'west', count: 0, tooSmall: true, metrics: null });
    const east = r.worst[0].metrics!.find((m) => m.name === 'accuracy')!;
    expect(east.high).toBeLessThan(r.worst[1].metrics![0].low);
  });

  it('ranks by a lower-is-better metric the other way; all slices too small gives no worst', () => {
    const groups = ['a', 'a', 'b', 'b'];
    const r = sliceMetrics(new RegressionScorer([1, 1, 5, 5], [1, 1, 1, 1]), groups, { column: 'g', metric: 'mae', minSize: 1, resamples: 50 });
    expect(r.worst[0].value).toBe('b');
    expect(sliceMetrics(new RegressionScorer([1, 1, 5, 5], [1, 1, 1, 1]), groups, { column: 'g', resamples: 50 }).worst).toEqual([]);
    expectCode(() => sliceMetrics(new RegressionScorer([1], [1]), ['a'], { column: 'g', metric: 'auc' }), 'E_EVAL_METRIC');
    expectCode(() => sliceMetrics(new RegressionScorer([1], [1]), ['a', 'b'], { column: 'g' }), 'E_EVAL_LENGTH');
  });

  it('labels: missing cells, numeric columns cut into quartiles; a column that does not exist', () => {
    expect(sliceLabels(['x', '', 'x'])).toEqual(['x', MISSING_SLICE, 'x']);
    const ages = Array.from({ length: 100 }, (_, i) => String(i));
    const labels = sliceLabels(ages);
    expect(new Set(labels).size).toBe(4);
    expect(labels[0]).toBe('[0, 24.75)');
    expect(labels[99]).toBe('[74.25, 99]');
    const table = { file: 'test.csv', columns: ['a', 'region'], rows: [['1', 'n']], lines: [2] };
    expect(sliceColumn(table, 'region')).toEqual(['n']);
    expectCode(() => sliceColumn(table, 'regoin'), 'E_EVAL_SLICE', /test\.csv: no column 'regoin'/);
  });
});
