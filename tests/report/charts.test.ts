import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { barChart, confusionHeatmap, histogramChart, lineChart, reliabilityDiagram, rocChart } from '../../src/report/charts.ts';
import { escapeXml, formatNumber, niceTicks, thin, truncate } from '../../src/report/svg.ts';
import { EVIL } from './fixtures.ts';
import { attrs, expectWellFormed } from './svg-check.ts';

describe('svg primitives', () => {
  it('nice ticks cover the range in steps of 1, 2 or 5 times a power of ten', () => {
    expect(niceTicks(0, 0.93)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(0, 100)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(3, 3)).toEqual([3]);
    expect(niceTicks(NaN, 1)).toEqual([]);
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: 1e-6, max: 1e6, noNaN: true }), (lo, span) => {
        fc.pre(span > Math.abs(lo) * 1e-9); // spans below float resolution of lo are not chartable
        const t = niceTicks(lo, lo + span);
        expect(t.length).toBeGreaterThanOrEqual(1);
        expect(t.length).toBeLessThanOrEqual(11);
        for (const v of t) expect(v).toBeGreaterThanOrEqual(lo - span * 1e-6);
        for (const v of t) expect(v).toBeLessThanOrEqual(lo + span * (1 + 1e-6));
        if (t.length > 1) {
          const step = t[1] - t[0];
          const mant = step / Math.pow(10, Math.floor(Math.log10(step) + 1e-9));
          expect([1, 2, 5, 10].some((m) => Math.abs(mant - m) < 1e-4)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('escapes markup and quotes; truncates with an ellipsis; thins long lines', () => {
    expect(escapeXml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    expect(truncate('abcdefghij', 5)).toBe('abcd…');
    expect(truncate('abc', 5)).toBe('abc');
    expect(formatNumber(NaN)).toBe('NaN');
    expect(formatNumber(12345)).toBe('12,345');
    const pts = Array.from({ length: 10_001 }, (_, i) => i);
    const t = thin(pts, 100);
    expect(t.length).toBe(100);
    expect(t[0]).toBe(0);
    expect(t[99]).toBe(10_000);
  });
});

describe('charts', () => {
  it('histogram: one bar per bin, heights proportional to counts, accessible title and desc', () => {
    const svg = histogramChart({ title: 'age', xLabel: 'age', histogram: { edges: [0, 10, 20, 30], counts: [10, 20, 5] } });
    expectWellFormed(svg);
    expect(svg).toMatch(/role="img"/);
    expect(svg).toMatch(/<title>age<\/title>\n<desc>3 bins from 0 to 30, 35 values<\/desc>/);
    const h = attrs(svg, 'rect', 'sy-bar', 'height');
    expect(h).toHaveLength(3);
    expect(h[1] / h[0]).toBeCloseTo(2, 1);
    expect(h[2] / h[0]).toBeCloseTo(0.5, 1);
  });

  it('histogram edge cases: a single zero-width bin, NaN counts, no data, an overlay as shares', () => {
    const one = histogramChart({ title: 'constant', histogram: { edges: [5, 5], counts: [10] } });
    expectWellFormed(one);
    expect(attrs(one, 'rect', 'sy-bar', 'width')[0]).toBeGreaterThan(100);
    const nan = histogramChart({ title: 'n', histogram: { edges: [0, 1, 2], counts: [NaN, 4] } });
    expect(attrs(nan, 'rect', 'sy-bar', 'height')).toHaveLength(2);
    expect(nan).not.toMatch(/NaN"/);
    for (const h of [{ edges: [], counts: [] }, { edges: [0, 1], counts: [0] }, { edges: [0, NaN], counts: [3] }]) {
      const e = histogramChart({ title: 'empty', histogram: h });
      expectWellFormed(e);
      expect(e).toContain('no values to plot');
    }
    const ov = histogramChart({ title: 'x', histogram: { edges: [0, 1, 2], counts: [50, 50] }, overlay: { name: 'test', histogram: { edges: [0, 1, 2], counts: [1, 3] } } });
    expectWellFormed(ov);
    expect(ov).toContain('100%'.slice(0, 2)); // percentage ticks
    expect(ov).toMatch(/<path d="M/);
    expect(ov).toContain('>test</text>');
  });

  it('bar chart: grouped and horizontal, NaN gives no bar, long labels truncated with the full text kept', () => {
    const long = 'a very long column name that goes on and on and on';
    const svg = barChart({ title: 'rates', categories: ['a', long, 'c'], series: [{ name: 's1', values: [0.2, 0.4, NaN] }, { name: 's2', values: [0.1, 0.3, 0.5] }], horizontal: true, percent: true, domain: [0, 1], reference: { value: 0.25, label: 'overall' } });
    expectWellFormed(svg);
    const w = attrs(svg, 'rect', 'sy-bar', 'width');
    expect(w).toHaveLength(5);
    expect(w[2] / w[0]).toBeCloseTo(2, 1); // a/s1 = 0.2, long/s1 = 0.4
    expect(w[1] / w[0]).toBeCloseTo(0.5, 1); // a/s2 = 0.1
    expect(svg).toContain('…');
    expect(svg).toContain(`<title>${long}</title>`);
    expect(svg).toMatch(/class="sy-ref"/);
    expect(svg).toContain('overall (25%)');
    const vertical = barChart({ title: 'v', categories: ['x', 'y'], series: [{ name: 'n', values: [-2, 4] }] });
    expectWellFormed(vertical);
    const hh = attrs(vertical, 'rect', 'sy-bar', 'height');
    expect(hh[1] / hh[0]).toBeCloseTo(2, 1);
    expect(barChart({ title: 'e', categories: ['a'], series: [{ name: 's', values: [NaN] }] })).toContain('no values to plot');
    const many = barChart({ title: 'm', categories: Array.from({ length: 100 }, (_, i) => `c${i}`), series: [{ name: 's', values: Array.from({ length: 100 }, (_, i) => i) }], horizontal: true });
    expect(attrs(many, 'rect', 'sy-bar', 'width')).toHaveLength(60);
    expect(many).toContain('40 more categories not shown');
  });

  it('reliability diagram: the diagonal, a bar per non-empty bin, a count strip, ECE in the title', () => {
    const bins = [
      { lower: 0, upper: 0.5, count: 0, confidence: NaN, accuracy: NaN },
      { lower: 0.5, upper: 0.75, count: 40, confidence: 0.63, accuracy: 0.5 },
      { lower: 0.75, upper: 1, count: 60, confidence: 0.9, accuracy: 0.9 },
    ];
    const svg = reliabilityDiagram({ title: 'calibration', bins, ece: 0.052 });
    expectWellFormed(svg);
    expect(svg).toContain('calibration (ECE 0.052)');
    expect(attrs(svg, 'line', 'sy-ref', 'x1')).toHaveLength(1);
    expect(attrs(svg, 'rect', 'sy-bar', 'height')).toHaveLength(4); // 2 accuracy bars + 2 count bars
    expect(svg).toContain('n=40');
    expect(reliabilityDiagram({ title: 'c', bins: [] })).toContain('no predictions to bin');
  });

  it('ROC and PR curves: several curves with AUC in the legend, chance line, long curves thinned', () => {
    const long = Array.from({ length: 10_000 }, (_, i): [number, number] => [i / 9999, Math.sqrt(i / 9999)]);
    const svg = rocChart({ title: 'ROC', curves: [{ name: 'a', auc: 0.6667, points: long }, { name: EVIL, auc: 0.5, points: [[0, 0], [NaN, 1], [1, 1]] }] });
    expectWellFormed(svg);
    expect(svg).toContain('a (AUC 0.667)');
    expect(svg).not.toContain('<script');
    const polys = [...svg.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map((m) => m[1].split(' ').length);
    expect(polys).toEqual([2000, 2]);
    const pr = rocChart({ title: 'PR', kind: 'pr', baseline: 0.3, curves: [{ name: 'a', points: [[0, 1], [1, 0.3]] }] });
    expect(pr).toContain('>precision</text>');
    expect(attrs(pr, 'line', 'sy-ref', 'y1')).toHaveLength(1);
    expect(rocChart({ title: 'none', curves: [{ name: 'a', points: [[NaN, NaN]] }] })).toContain('no curve to plot');
  });

  it('confusion heatmap: a cell per pair with count and row share; shape mismatch and no classes are handled', () => {
    const svg = confusionHeatmap({ title: 'cm', labels: ['cat', 'dog'], matrix: [[40, 10], [5, 45]] });
    expectWellFormed(svg);
    expect(svg).toContain('actual cat, predicted dog: 10 (20% of row)');
    expect(svg).toContain('>90%</text>');
    expect(confusionHeatmap({ title: 'bad', labels: ['a', 'b'], matrix: [[1]] })).toContain('does not match');
    expect(confusionHeatmap({ title: 'none', labels: [], matrix: [] })).toContain('no classes');
    const big = confusionHeatmap({ title: 'big', labels: Array.from({ length: 40 }, (_, i) => `class ${i}`), matrix: Array.from({ length: 40 }, (_, i) => Array.from({ length: 40 }, (_, j) => (i === j ? 9 : 1))) });
    expectWellFormed(big);
    expect(big.match(/<rect x=/g)!.length).toBe(1600);
  });

  it('lineChart keeps its API (used by bench/moe-efficiency.ts) and handles no data and log x', () => {
    const svg = lineChart({ title: 'loss', xLabel: 'FLOPs', yLabel: 'loss', logX: true, series: [{ name: 'dense', points: [[1e9, 3], [1e10, 2.5], [0, 9], [1e11, NaN]] }] });
    expectWellFormed(svg);
    expect(svg.match(/<circle/g)).toHaveLength(2);
    expect(svg).toContain('>1e10</text>');
    const acc = lineChart({ title: 'robust accuracy', xLabel: 'epsilon', yLabel: 'accuracy', yDomain: [0, 1], series: [{ name: 'pgd', points: [[0, 0.9], [0.1, 0.5]] }] });
    expect(acc).toContain('>0</text>');
    expect(acc).toContain('>1</text>');
    expect(lineChart({ title: 'x', xLabel: 'a', yLabel: 'b', series: [] })).toContain('no data points');
  });
});
