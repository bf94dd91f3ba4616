import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { comparePaired, holmAdjust } from '../../src/eval/compare.ts';
import { ClassificationScorer } from '../../src/eval/metrics.ts';
import { Rng } from '../../src/util/rng.ts';
import { cli, expectBadInput, tmp } from '../cli/helpers.ts';
import { expectCode } from '../expect-error.ts';

const REGIONS = ['north', 'south', 'east', 'west'];

/**
 * Binary data: label = x1 + x2 > 0, except region east, which lives in its own part of feature space
 * (x1 near 4) with label = x2 > 0. `flipEast` flips the east labels (a regression planted in one slice
 * that a small MLP can learn without touching the other regions).
 */
function makeCsv(file: string, n: number, seed: number, flipEast = false): void {
  const rng = new Rng(seed);
  const lines = ['x1,x2,region,label'];
  for (let i = 0; i < n; i++) {
    const region = REGIONS[i % 4];
    const x1 = region === 'east' ? 4 + 0.5 * rng.normal() : rng.normal();
    const x2 = rng.normal();
    let y = region === 'east' ? x2 > 0 : x1 + x2 > 0;
    if (flipEast && region === 'east') y = !y;
    lines.push(`${x1.toFixed(4)},${x2.toFixed(4)},${region},${y ? 'yes' : 'no'}`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

describe('comparePaired (arrays in, verdict out)', () => {
  const n = 800;
  const rng = new Rng(1);
  const labels = Int32Array.from({ length: n }, () => rng.int(2));
  const region = Array.from({ length: n }, (_, i) => REGIONS[i % 4]);
  const probsOf = (rightRate: (i: number) => number, seed: number) => {
    const r = new Rng(seed);
    const p = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const right = r.next() < rightRate(i);
      const conf = 0.6 + 0.35 * r.next();
      p[2 * i + labels[i]] = right ? conf : 1 - conf;
      p[2 * i + 1 - labels[i]] = right ? 1 - conf : conf;
    }
    return p;
  };
  const base = new ClassificationScorer({ labels, probs: probsOf(() => 0.9, 2), classes: ['no', 'yes'] }, { perClass: false });

  it('fires on a regression planted in one slice, and only there', () => {
    const worse = new ClassificationScorer({ labels, probs: probsOf((i) => (region[i] === 'east' ? 0.55 : 0.9), 2), classes: ['no', 'yes'] }, { perClass: false });
    const r = comparePaired(base, worse, { guard: ['accuracy', 'ece'], slices: [{ column: 'region', labels: region }], resamples: 500, seed: 1 });
    expect(r.passed).toBe(false);
    const scopes = new Set(r.regressions.map((x) => x.scope));
    expect(scopes.has('region=east')).toBe(true);
    for (const s of ['region=north', 'region=south', 'region=west']) expect(scopes.has(s), s).toBe(false);
    const acc = r.rows.find((x) => x.scope === 'region=east' && x.metric === 'accuracy')!;
    expect(acc.test).toBe('mcnemar');
    expect(acc.mcnemar!.b).toBeGreaterThan(acc.mcnemar!.c);
    expect(acc.diff).toBeLessThan(-0.2);
    expect(acc.high).toBeLessThan(0);
  });

  it('stays quiet on an equal model, and on a better one', () => {
    const same = new ClassificationScorer({ labels, probs: probsOf(() => 0.9, 2), classes: ['no', 'yes'] }, { perClass: false });
    const r = comparePaired(base, same, { guard: ['accuracy', 'ece', 'log_loss'], slices: [{ column: 'region', labels: region }], resamples: 300 });
    expect(r.passed).toBe(true);
    for (const row of r.rows) expect(row.diff).toBe(0);
    const better = new ClassificationScorer({ labels, probs: probsOf(() => 0.97, 3), classes: ['no', 'yes'] }, { perClass: false });
    expect(comparePaired(base, better, { guard: ['accuracy'], slices: [{ column: 'region', labels: region }], resamples: 300 }).passed).toBe(true);
  });

  it('Holm adjustment, small slices skipped, unknown guard and bad alpha rejected', () => {
    expect(holmAdjust([0.01, 0.04, 0.03])).toEqual([0.03, 0.06, 0.06]);
    const tiny = region.map((g, i) => (i < 10 ? 'rare' : g));
    const r = comparePaired(base, base, { slices: [{ column: 'region', labels: tiny }], resamples: 100 });
    expect(r.skipped).toEqual([{ scope: 'region=rare', count: 10 }]);
    expectCode(() => comparePaired(base, base, { guard: ['acuracy'] }), 'E_USAGE', /unknown metric 'acuracy'/);
    expectCode(() => comparePaired(base, base, { alpha: 2 }), 'E_USAGE');
  });
});

describe('switchyard compare (two real runs trained by switchyard train)', () => {
  const dir = tmp('sy-compare-');
  const test = join(dir, 'test.csv');
  beforeAll(() => {
    makeCsv(join(dir, 'train.csv'), 480, 1);
    makeCsv(join(dir, 'train-bad.csv'), 480, 1, true);
    makeCsv(test, 480, 2);
    for (const [data, out] of [['train.csv', 'a'], ['train-bad.csv', 'b']]) {
      const r = cli(['train', '--data', join(dir, data), '--target', 'label', '--out', join(dir, 'runs', out), '--hidden', '16', '--epochs', '20', '--patience', '0', '--quiet']);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(cli(['export', '--model', join(dir, 'runs/a'), '--out', join(dir, 'a.onnx'), '--quiet']).code).toBe(0);
  }, 120_000);

  it('exit 3 on the planted regression in region=east, with the table and the report', () => {
    const out = join(dir, 'report');
    const r = cli(['compare', '--baseline', join(dir, 'runs/a'), '--candidate', join(dir, 'runs/b'), '--data', test, '--guard', 'accuracy', '--slice', 'region', '--resamples', '300', '--out', out]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/region=east\s+\d+\s+accuracy .*WORSE/);
    for (const region of ['north', 'south', 'west']) expect(r.stdout).toMatch(new RegExp(`region=${region}\\s+\\d+\\s+accuracy .* ok`));
    expect(r.stdout).toMatch(/^FAIL: .*accuracy in region=east/m);
    const saved = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
    expect(saved.passed).toBe(false);
    expect(existsSync(join(out, 'compare.html'))).toBe(true);
  }, 60_000);

  it('exit 0 on an equal model: the baseline run against its own ONNX export (--json)', () => {
    const r = cli(['compare', '--baseline', join(dir, 'runs/a'), '--candidate', join(dir, 'a.onnx'), '--data', test, '--slice', 'region', '--resamples', '200', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.ok).toBe(true);
    expect(r.json.rows.every((x: { diff: number }) => x.diff === 0)).toBe(true);
    expect(r.json.rows.map((x: { scope: string }) => x.scope)).toContain('region=west');
  }, 60_000);

  it('bad input: a slice column that does not exist (an unknown guard: see comparePaired)', () => {
    const base = ['compare', '--baseline', join(dir, 'runs/a'), '--candidate', join(dir, 'runs/b'), '--data', test, '--resamples', '100'];
    expectBadInput(cli([...base, '--slice', 'regoin']), /test\.csv: no column 'regoin' to slice by/);
  }, 60_000);
});
