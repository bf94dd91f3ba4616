import { describe, expect, it } from 'vitest';
import { confidentLearning, findLabelIssues, stratifiedFolds } from '../../src/audit/label-issues.ts';
import { readCsv, type Table } from '../../src/data/csv.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectSwitchyardError } from '../train/helpers.ts';
import { tmp, vegaCsv } from '../cli/helpers.ts';

const CLASSES = ['ant', 'bee', 'cat'];

/**
 * `n` rows of three well-separated Gaussian classes in 4-D (plus a noise categorical column and an id), with
 * a share `flip` of the labels moved to another class at random. Row 5 has a missing label. Returns the planted rows.
 */
function synthetic(n: number, flip: number, seed: number): { table: Table; flipped: Set<number> } {
  const rng = new Rng(seed);
  const centres = [[0, 0, 0, 0], [5, 0, 3, 0], [0, 5, 0, -3]];
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i).filter((i) => i !== 5)) as number[];
  const flipped = new Set(order.slice(0, Math.round(n * flip)));
  const rows: string[][] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    const f = centres[c].map((m) => (m + rng.normal()).toFixed(4));
    const label = flipped.has(i) ? CLASSES[(c + 1 + rng.int(2)) % 3] : CLASSES[c];
    rows.push([`id${i}`, ...f, ['north', 'south', 'east'][rng.int(3)], i === 5 ? '' : label]);
  }
  return { table: { file: 'synthetic.csv', columns: ['id', 'a', 'b', 'c', 'd', 'region', 'label'], rows, lines: rows.map((_, i) => i + 2) }, flipped };
}

describe('confident learning on hand-computed probabilities', () => {
  it('two classes: thresholds, confident joint, noise matrix and the flagged rows', () => {
    const p1 = [0.1, 0.2, 0.9, 0.8, 0.7, 0.3];
    const probs = p1.flatMap((p) => [1 - p, p]);
    const r = confidentLearning(probs, [0, 0, 0, 1, 1, 1], 2);
    // t0 = (0.9 + 0.8 + 0.1) / 3, t1 = (0.8 + 0.7 + 0.3) / 3
    expect(r.thresholds[0]).toBeCloseTo(0.6, 12);
    expect(r.thresholds[1]).toBeCloseTo(0.6, 12);
    expect(r.confidentJoint).toEqual([[2, 1], [1, 2]]);
    r.joint.flat().forEach((v, i) => expect(v).toBeCloseTo([2, 1, 1, 2][i] / 6, 12));
    r.noiseMatrix.flat().forEach((v, i) => expect(v).toBeCloseTo([2 / 3, 1 / 3, 1 / 3, 2 / 3][i], 12));
    expect(r.noiseRate).toBeCloseTo(1 / 3, 12);
    expect(r.issues.map((i) => [i.row, i.given, i.suggested])).toEqual([[2, 0, 1], [5, 1, 0]]);
    expect(r.issues[0].selfConfidence).toBeCloseTo(0.1, 12);
    expect(r.issues[1].margin).toBeCloseTo(-0.4, 12);
  });

  it('three classes: rows without a confident class are left out and calibration rescales the joint', () => {
    const probs = [
      0.8, 0.1, 0.1, // 0: given 0
      0.6, 0.3, 0.1, // 1: given 0
      0.1, 0.8, 0.1, // 2: given 0, confidently 1
      0.2, 0.7, 0.1, // 3: given 1
      0.3, 0.5, 0.2, // 4: given 1, nothing reaches its threshold (t1 = 0.6)
      0.1, 0.1, 0.8, // 5: given 2
      0.4, 0.2, 0.4, // 6: given 2, nothing reaches its threshold (t0 = 0.5, t2 = 0.6)
    ];
    const r = confidentLearning(probs, [0, 0, 0, 1, 1, 2, 2], 3);
    [0.5, 0.6, 0.6].forEach((t, j) => expect(r.thresholds[j]).toBeCloseTo(t, 12));
    expect(r.confidentJoint).toEqual([[2, 1, 0], [0, 1, 0], [0, 0, 1]]);
    // Calibrated counts: rows scaled to the label counts 3, 2, 2 -> [[2,1,0],[0,2,0],[0,0,2]] / 7.
    r.joint.flat().forEach((v, i) => expect(v).toBeCloseTo([2, 1, 0, 0, 2, 0, 0, 0, 2][i] / 7, 12));
    r.noiseMatrix.flat().forEach((v, i) => expect(v).toBeCloseTo([1, 1 / 3, 0, 0, 2 / 3, 0, 0, 0, 1][i], 12));
    expect(r.noiseRate).toBeCloseTo(1 / 7, 12);
    expect(r.issues).toEqual([{ row: 2, given: 0, suggested: 1, selfConfidence: 0.1, margin: 0.1 - 0.8 }]);
  });

  it('ranking by self-confidence or by normalized margin', () => {
    // Rows 0 and 1 are given 0 and confidently 1 (t1 = 0.45); row 0 has the lower self-confidence (0.05 vs
    // 0.15), row 1 the lower margin (-0.7 vs -0.45).
    const probs = [0.05, 0.5, 0.45, 0.15, 0.85, 0, 0.9, 0.1, 0, 0.95, 0.05, 0, 0.3, 0.45, 0.25, 0.1, 0.1, 0.8];
    const labels = [0, 0, 0, 0, 1, 2];
    const a = confidentLearning(probs, labels, 3).issues.map((i) => i.row);
    const b = confidentLearning(probs, labels, 3, { rankBy: 'normalized-margin' }).issues.map((i) => i.row);
    expect(a).toEqual([0, 1]);
    expect(b).toEqual([1, 0]);
  });

  it('clean, confident probabilities flag nothing; bad probability matrices are refused', async () => {
    const r = confidentLearning([0.9, 0.1, 0.8, 0.2, 0.2, 0.8, 0.1, 0.9], [0, 0, 1, 1], 2);
    expect(r.issues).toEqual([]);
    expect(r.noiseRate).toBeCloseTo(0, 12);
    await expectSwitchyardError(() => confidentLearning([0.5, 0.5, 1], [0, 1], 2), 'E_PROBS', /3 probabilities for 2 labels/);
    await expectSwitchyardError(() => confidentLearning([0.5, 0.6, 0.5, 0.5], [0, 1], 2), 'E_PROBS', /row 0 sum to 1\.1/);
    await expectSwitchyardError(() => confidentLearning([0.5, 0.5, 0.5, 0.5], [0, 2], 2), 'E_PROBS', /label of row 1 is 2/);
  });
});

describe('stratified folds', () => {
  it('spreads every class evenly, balances fold sizes, and is seeded', () => {
    const labels = Int32Array.from({ length: 103 }, (_, i) => (i < 60 ? 0 : i < 90 ? 1 : 2));
    const f = stratifiedFolds(labels, 5, new Rng(1));
    const per = [0, 1, 2].map((c) => [0, 1, 2, 3, 4].map((k) => f.filter((v, i) => v === k && labels[i] === c).length));
    for (const counts of per) expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    const sizes = [0, 1, 2, 3, 4].map((k) => f.filter((v) => v === k).length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(Array.from(stratifiedFolds(labels, 5, new Rng(1)))).toEqual(Array.from(f));
    expect(Array.from(stratifiedFolds(labels, 5, new Rng(2)))).not.toEqual(Array.from(f));
    expect(() => stratifiedFolds(labels, 1, new Rng(0))).toThrow(/folds must be an integer >= 2/);
  });
});

describe('findLabelIssues: out-of-fold models trained with the engine', () => {
  const opts = { seed: 1, threads: 1, progress: { enabled: false } };

  it('finds planted label flips with high precision', async () => {
    const { table, flipped } = synthetic(600, 0.05, 7);
    const r = await findLabelIssues(table, 'label', { ...opts, split: 'train' });
    const flagged = r.issues.map((i) => i.row);
    const hits = flagged.filter((row) => flipped.has(row)).length;
    const precision = hits / flagged.length;
    const recall = hits / flipped.size;
    console.log(`label issues: planted ${flipped.size}, flagged ${flagged.length}, precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)}`);
    expect(precision).toBeGreaterThanOrEqual(0.8);
    expect(recall).toBeGreaterThanOrEqual(0.7);
    expect(flagged).not.toContain(5);
    for (const i of r.issues) {
      const row = table.rows[i.row];
      expect(i.given).toBe(row[6]);
      expect(i.suggested).not.toBe(i.given);
    }
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f.check).toBe('labels.issues');
    expect(f.severity).toBe('warn');
    expect(f.split).toBe('train');
    expect(f.evidence.rows).toEqual(flagged.slice(0, 50));
    expect(f.details?.classes).toEqual(CLASSES);
    expect(r.estimate!.noiseRate).toBeGreaterThan(0.02);
    expect(r.estimate!.noiseRate).toBeLessThan(0.1);
  });

  it('stays quiet on the same kind of data without flips, and the same seed gives the same answer', async () => {
    const { table } = synthetic(600, 0, 7);
    const a = await findLabelIssues(table, 'label', opts);
    expect(a.issues.length).toBeLessThanOrEqual(6);
    expect(a.findings.every((f) => f.severity === 'info')).toBe(true);
    expect(a.estimate!.noiseRate).toBeLessThan(0.01);
    expect(a.outOfFoldAccuracy).toBeGreaterThan(0.98);
    const b = await findLabelIssues(table, 'label', opts);
    expect(b.issues).toEqual(a.issues);
  });

  it('real data (vega-datasets penguins): finds 17 planted species flips, and flags at most 2 rows of the original', async () => {
    const t = await readCsv(vegaCsv('penguins', tmp()));
    const j = t.columns.indexOf('Species');
    const species = [...new Set(t.rows.map((r) => r[j]))];
    const rng = new Rng(1);
    const flipped = new Set((rng.shuffle(t.rows.map((_, i) => i)) as number[]).slice(0, 17));
    const rows = t.rows.map((r, i) => {
      if (!flipped.has(i)) return r;
      const others = species.filter((s) => s !== r[j]);
      return r.map((v, c) => (c === j ? others[rng.int(others.length)] : v));
    });
    const r = await findLabelIssues({ ...t, rows }, 'Species', opts);
    const hits = r.issues.filter((i) => flipped.has(i.row)).length;
    expect(hits / r.issues.length).toBeGreaterThanOrEqual(0.8);
    expect(hits / flipped.size).toBeGreaterThanOrEqual(0.8);
    expect((await findLabelIssues(t, 'Species', opts)).issues.length).toBeLessThanOrEqual(2);
  });

  it('labels unrelated to the features: the flagged rows are only info, called weak evidence', async () => {
    const rng = new Rng(3);
    const rows = Array.from({ length: 300 }, () => [rng.normal().toFixed(3), rng.normal().toFixed(3), rng.next() < 0.5 ? 'yes' : 'no']);
    const r = await findLabelIssues({ file: 'random.csv', columns: ['a', 'b', 'y'], rows, lines: rows.map((_, i) => i + 2) }, 'y', opts);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0].severity).toBe('info');
    expect(r.findings[0].message).toMatch(/no better than the majority class/);
  });

  it('bad input and inapplicable targets', async () => {
    const { table } = synthetic(30, 0, 1);
    await expectSwitchyardError(() => findLabelIssues(table, 'lable', opts), 'E_TARGET_MISSING', /no column named 'lable'/);
    await expectSwitchyardError(() => findLabelIssues(table, 'label', { ...opts, folds: 1 }), 'E_CONFIG', /folds must be an integer >= 2/);
    const tiny = await findLabelIssues({ ...table, rows: table.rows.slice(0, 8), lines: table.lines.slice(0, 8) }, 'label', opts);
    expect(tiny.skipped).toMatch(/too few for 5-fold/);
    const reg = await findLabelIssues(table, 'a', opts);
    expect(reg.skipped).toMatch(/regression/);
    expect(reg.findings).toEqual([]);
    const idOnly = { file: 't.csv', columns: ['id', 'y'], rows: table.rows.map((r, i) => [`row-${i}`, r[6] || 'ant']), lines: table.lines };
    expect((await findLabelIssues(idOnly, 'y', { ...opts, columns: { id: 'identifier' } })).skipped).toMatch(/no usable feature columns/);
  });
});
