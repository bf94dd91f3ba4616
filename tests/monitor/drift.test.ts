/** Drift tests by column type and reference size, hand-computed PSI and Wasserstein, windows, alert rules, text embeddings. */
import { describe, expect, it } from 'vitest';
import { breaches, parseRule } from '../../src/monitor/alerts.ts';
import { analyzeWindow, windowMetrics } from '../../src/monitor/analysis.ts';
import { categoricalDrift, chooseTest, numericDrift, textDrift } from '../../src/monitor/drift.ts';
import { referenceFromTable } from '../../src/monitor/reference.ts';
import { formatWindow, type LoggedRow, parseWindow } from '../../src/monitor/store.ts';
import { psi } from '../../src/stats/drift.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectCode } from '../expect-error.ts';

const normals = (n: number, mean: number, seed: number) => {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => mean + r.normal());
};
const pick = (n: number, cats: string[], weights: number[], seed: number) => {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => {
    let u = r.next();
    for (let k = 0; k < cats.length; k++) if ((u -= weights[k]) < 0) return cats[k];
    return cats[cats.length - 1];
  });
};

describe('test selection by column type and reference size (as Evidently)', () => {
  it('numeric: KS up to 1000 reference rows, normed Wasserstein above; categorical: chi-square, then Jensen-Shannon; text: MMD', () => {
    expect(chooseTest('numeric', 1000)).toEqual({ test: 'ks', threshold: 0.05, by: 'p' });
    expect(chooseTest('numeric', 1001)).toEqual({ test: 'wasserstein', threshold: 0.1, by: 'distance' });
    expect(chooseTest('categorical', 1000)).toEqual({ test: 'chi-square', threshold: 0.05, by: 'p' });
    expect(chooseTest('categorical', 5000)).toEqual({ test: 'jensen-shannon', threshold: 0.1, by: 'distance' });
    expect(chooseTest('text', 10)).toMatchObject({ test: 'mmd' });
    expect(numericDrift('x', normals(500, 0, 1), normals(200, 0, 2)).test).toBe('ks');
    expect(numericDrift('x', normals(2000, 0, 1), normals(200, 0, 2)).test).toBe('wasserstein');
    expect(categoricalDrift('c', pick(500, ['a', 'b'], [0.5, 0.5], 1), pick(100, ['a', 'b'], [0.5, 0.5], 2)).test).toBe('chi-square');
    expect(categoricalDrift('c', pick(3000, ['a', 'b'], [0.5, 0.5], 1), pick(100, ['a', 'b'], [0.5, 0.5], 2)).test).toBe('jensen-shannon');
  });

  it('reference columns are typed by the model schema, text by inference; the target is skipped', () => {
    const rows = Array.from({ length: 40 }, (_, i) => [String(i), `${i * 1.5}`, ['red', 'blue'][i % 2], i % 3 ? 'true' : 'false', `the customer wrote message number ${i} about ${['billing', 'shipping', 'returns'][i % 3]} and more words`, i % 2 ? 'yes' : 'no']);
    const table = { file: 't.csv', columns: ['id', 'x', 'color', 'member', 'note', 'label'], rows, lines: rows.map((_, i) => i + 2) };
    const ref = referenceFromTable(table, { fields: [{ name: 'x', type: 'number' }, { name: 'color', type: 'category' }, { name: 'member', type: 'boolean' }], target: 'label' });
    expect(ref.columns.map((c) => `${c.name}:${c.type}`)).toEqual(['x:numeric', 'color:categorical', 'member:categorical', 'note:text']);
    expect(ref.columns[2].values.slice(0, 3)).toEqual(['false', 'true', 'true']);
    expect(ref.predictions).toMatchObject({ from: 'target' });
  });
});

describe('hand cases', () => {
  it('PSI: identical bins 0; 50/50 → 25/75 is 0.25·ln 2 + 0.25·ln 1.5', () => {
    expect(psi([50, 50], [50, 50])).toBe(0);
    expect(psi([50, 50], [25, 75])).toBeCloseTo(0.25 * Math.log(2) + 0.25 * Math.log(1.5), 12);
  });

  it('normed Wasserstein: a shift by c of 0..1199 is c / std(0..1199); 100 drifts, 10 does not', () => {
    const ref = Array.from({ length: 1200 }, (_, i) => i);
    const std = Math.sqrt((1200 ** 2 - 1) / 12);
    const far = numericDrift('x', ref, ref.map((v) => v + 100));
    expect(far.statistic).toBeCloseTo(100 / std, 9);
    expect(far.drifted).toBe(true);
    const near = numericDrift('x', ref, ref.map((v) => v + 10));
    expect(near.statistic).toBeCloseTo(10 / std, 9);
    expect(near.drifted).toBe(false);
    expect(far.psi!).toBeGreaterThan(near.psi!);
  });

  it('KS and chi-square: shifted samples drift, samples from the same distribution stay quiet', () => {
    expect(numericDrift('x', normals(500, 0, 1), normals(300, 0.5, 2)).drifted).toBe(true);
    expect(numericDrift('x', normals(500, 0, 1), normals(300, 0, 3)).drifted).toBe(false);
    expect(categoricalDrift('c', pick(600, ['a', 'b', 'c'], [0.5, 0.3, 0.2], 1), pick(300, ['a', 'b', 'c'], [0.2, 0.3, 0.5], 2)).drifted).toBe(true);
    expect(categoricalDrift('c', pick(600, ['a', 'b', 'c'], [0.5, 0.3, 0.2], 1), pick(300, ['a', 'b', 'c'], [0.5, 0.3, 0.2], 3)).drifted).toBe(false);
  });

  it('text: MMD on hashed 3-gram embeddings finds a change of topic and language, not a fresh sample of the same', () => {
    const topics = ['the invoice was charged twice on my card', 'my parcel has not arrived after two weeks', 'please refund the broken kettle'];
    const gen = (n: number, seed: number, pool: string[]) => {
      const r = new Rng(seed);
      return Array.from({ length: n }, () => `${pool[r.int(pool.length)]} order ${r.int(1000)}`);
    };
    const ref = gen(80, 1, topics);
    expect(textDrift('note', ref, gen(60, 2, topics)).drifted).toBe(false);
    const shifted = textDrift('note', ref, gen(60, 3, ['la factura se cobró dos veces', 'mi paquete no ha llegado todavía']));
    expect(shifted.drifted).toBe(true);
    expect(shifted.pValue!).toBeLessThan(0.05);
  });
});

describe('windows, rules and window metrics', () => {
  it('parses count and time windows and alert rules; bad ones are clear errors', () => {
    expect(parseWindow('1000')).toEqual({ kind: 'count', n: 1000 });
    expect(parseWindow('500 predictions')).toEqual({ kind: 'count', n: 500 });
    expect(parseWindow('1h')).toEqual({ kind: 'time', ms: 3_600_000 });
    expect(formatWindow(parseWindow('90m'))).toBe('90m');
    expectCode(() => parseWindow('soon'), 'E_WINDOW', /soon/);
    const r = parseRule('drift.share > 0.3 over 500 predictions');
    expect(r).toMatchObject({ metric: 'drift.share', op: '>', threshold: 0.3, window: { kind: 'count', n: 500 }, minRows: 500 });
    expect(parseRule('accuracy < 0.8 over 1h')).toMatchObject({ metric: 'accuracy', op: '<', window: { kind: 'time', ms: 3_600_000 }, minRows: 30 });
    expect(breaches(parseRule('accuracy < 0.8 over 1h'), 0.7)).toBe(true);
    expect(breaches(parseRule('accuracy < 0.8 over 1h'), null)).toBe(false);
    expectCode(() => parseRule('accuracy is bad'), 'E_ALERT_RULE', /accuracy is bad/);
  });

  it('live accuracy and ECE from labelled rows; dataset drift from the share of drifted columns', () => {
    const ref = referenceFromTable({ file: 'r', columns: ['x', 'c'], rows: normals(300, 0, 1).map((v, i) => [v.toFixed(3), i % 2 ? 'a' : 'b']), lines: [] });
    const row = (i: number, x: number, c: string, pred: string, p: number, label: string | null): LoggedRow => ({ requestId: `r${i}`, row: 0, at: new Date(i * 1000).toISOString(), model: 'm', version: '1', role: 'primary', latencyMs: i, input: { x, c }, prediction: pred, probabilities: [1 - p, p], classes: ['no', 'yes'], label });
    const xs = normals(200, 3, 9);
    const rows = xs.map((x, i) => row(i, x, 'a', 'yes', 0.9, i < 100 ? (i % 10 < 7 ? 'yes' : 'no') : null));
    const a = analyzeWindow(ref, rows);
    expect(a.live.labelled).toBe(100);
    expect(a.live.accuracy).toBeCloseTo(0.7, 12);
    expect(a.live.ece).toBeCloseTo(0.2, 12); // one bin: confidence 0.9, accuracy 0.7
    expect(a.drift.features.map((f) => [f.column, f.drifted])).toEqual([['x', true], ['c', true]]);
    expect(windowMetrics(a)).toMatchObject({ 'drift.share': 1, 'drift.dataset': 1, accuracy: expect.closeTo(0.7, 12), predictions: 200 });
  });
});
