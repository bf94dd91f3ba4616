/**
 * `switchyard train --weight-column`: per-example loss weights from a CSV column, on real data (vega-datasets
 * penguins with an added weight column).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainTabular } from '../../src/train/tabular.ts';
import { cli, expectBadInput, tmp, vegaCsv } from './helpers.ts';

/** Copies `src` with an extra last column `w` whose value for data row `r` (0-based) is `weight(r)`. */
function withWeights(src: string, out: string, weight: (r: number) => string): string {
  const [head, ...rows] = readFileSync(src, 'utf8').trim().split('\n');
  writeFileSync(out, [`${head},w`, ...rows.map((l, r) => `${l},${weight(r)}`)].join('\n') + '\n');
  return out;
}

describe('switchyard train --weight-column', () => {
  const dir = tmp();
  const data = vegaCsv('penguins', dir);
  const common = ['--target', 'Species', '--epochs', '3', '--patience', '0', '--hidden', '16', '--seed', '3', '--json', '--quiet'];
  const weightsOf = (run: string) => readFileSync(join(run, 'model.safetensors'));

  it('with an all-ones column trains exactly the weights of an unweighted run, and records the column', () => {
    const plain = cli(['train', '--data', data, '--out', join(dir, 'plain'), ...common]);
    expect(plain.code).toBe(0);
    const ones = withWeights(data, join(dir, 'ones.csv'), () => '1');
    const r = cli(['train', '--data', ones, '--weight-column', 'w', '--out', join(dir, 'ones'), ...common]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.features).toBe(plain.json.features); // w is not a feature
    expect(r.json.weights).toEqual({ column: 'w', sum: r.json.rows.train, zeros: 0, min: 1, max: 1 });
    expect(Buffer.compare(weightsOf(join(dir, 'ones')), weightsOf(join(dir, 'plain')))).toBe(0);
    const cfg = JSON.parse(readFileSync(join(dir, 'ones', 'config.json'), 'utf8'));
    expect(cfg.train.weightColumn).toBe('w');
    expect(cfg.encoder.dropped).toContainEqual({ column: 'w', kind: 'ignore', reason: 'per-example weight (--weight-column)' });
    expect(JSON.parse(readFileSync(join(dir, 'ones', 'metrics.json'), 'utf8')).weights.column).toBe('w');
    // predicting needs no weight column
    const p = cli(['predict', '--model', join(dir, 'ones'), '--data', data, '--json']);
    expect(p.code, p.stderr).toBe(0);
  });

  it('changes training when the weights differ (zero-weight rows leave the loss)', () => {
    const half = withWeights(data, join(dir, 'half.csv'), (r) => (r % 2 ? '0' : '2.5'));
    const r = cli(['train', '--data', half, '--weight-column', 'w', '--out', join(dir, 'half'), ...common]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.weights.zeros).toBeGreaterThan(50);
    expect(r.json.weights.max).toBe(2.5);
    expect(Buffer.compare(weightsOf(join(dir, 'half')), weightsOf(join(dir, 'plain')))).not.toBe(0);
  });

  it('rejects a negative weight at file:line:field with exit 2 (and a missing or non-numeric one, or an unknown column)', async () => {
    const bad = withWeights(data, join(dir, 'neg.csv'), (r) => (r === 6 ? '-0.5' : '1'));
    expectBadInput(cli(['train', '--data', bad, '--weight-column', 'w', '--out', join(dir, 'x'), ...common]), /neg\.csv:8:\d+: column 'w': weight -0\.5 is negative/);
    const train = (file: string, weightColumn = 'w') => trainTabular({ data: file, target: 'Species', out: join(dir, 'y'), weightColumn, epochs: 1, progress: { enabled: false } });
    const miss = withWeights(data, join(dir, 'miss.csv'), (r) => (r === 2 ? '' : '1'));
    await expect(train(miss)).rejects.toMatchObject({ code: 'E_CSV_VALUE', message: expect.stringMatching(/miss\.csv:4:\d+: column 'w': the weight is missing/) });
    const word = withWeights(data, join(dir, 'word.csv'), (r) => (r === 0 ? 'heavy' : '1'));
    await expect(train(word)).rejects.toMatchObject({ code: 'E_CSV_VALUE', message: expect.stringMatching(/word\.csv:2:\d+: column 'w': 'heavy' is not a number/) });
    const inf = withWeights(data, join(dir, 'inf.csv'), (r) => (r === 1 ? 'Infinity' : '1'));
    await expect(train(inf)).rejects.toMatchObject({ code: 'E_CSV_VALUE', message: expect.stringMatching(/inf\.csv:3:\d+: column 'w': 'Infinity' is not a number/) });
    await expect(train(data, 'wieght')).rejects.toMatchObject({ code: 'E_CSV_COLUMN', message: expect.stringMatching(/--weight-column 'wieght': no such column/) });
  });
});
