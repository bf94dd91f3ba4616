/**
 * Issue 11, items 19 and 20 through the CLI: eval.json, eval.html and the text summary say which groups were too
 * small to count and what the OOD scores were computed on (a probabilities-only ONNX model has no logits and no
 * penultimate features: energy and Mahalanobis then read log-probabilities, and the report says so).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { softmax } from '../../src/core/ops/index.ts';
import { MLP } from '../../src/nn/layers.ts';
import { oodInputName } from '../../src/report/eval-report.ts';
import { exportOnnx } from '../../src/train/forward.ts';
import { Rng } from '../../src/util/rng.ts';
import { cli, tmp } from '../cli/helpers.ts';
import { tinyClassifier } from './helpers.ts';

const dir = tmp('sy-eval-labels-');
const mlp = new MLP([4, 8, 2]).init(7);
const spec = { input: { dtype: 'f32' as const, shape: ['N', 4] } };
const probsOnnx = join(dir, 'probs.onnx');
writeFileSync(probsOnnx, exportOnnx(mlp, (m, b) => ({ probabilities: softmax(m.call(b.input), -1) }), spec));
const logitsOnnx = join(dir, 'logits.onnx');
writeFileSync(logitsOnnx, exportOnnx(mlp, (m, b) => ({ logits: m.call(b.input) }), spec));
// Features f1..f3, a sensitive column g (two groups of 120 rows and one row of group 7; numeric, since a
// foreign ONNX model takes every column but the target), label y.
const rng = new Rng(4);
const csv = join(dir, 'data.csv');
writeFileSync(csv, 'f1,f2,f3,g,y\n' + Array.from({ length: 241 }, (_, i) => {
  const x = [rng.normal(), rng.normal(), rng.normal()];
  return `${x.map((v) => v.toFixed(3)).join(',')},${i === 240 ? 7 : i % 2},${x[0] + 0.5 * rng.normal() > 0 ? 1 : 0}`;
}).join('\n') + '\n');
const args = ['--data', csv, '--target', 'y', '--sensitive', 'g', '--bootstrap', '30', '--no-corruptions', '--quiet'];

describe('eval reports say what they computed', () => {
  it('a probabilities-only ONNX model: OOD inputs are log-probabilities in JSON, HTML and text; small groups are flagged', () => {
    const out = join(dir, 'report');
    const r = cli(['eval', '--model', probsOnnx, ...args, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json;
    expect(j.ood.inputs).toEqual({ energy: 'log-probabilities', mahalanobis: 'log-probabilities' });
    expect(j.notes.join(' ')).toMatch(/energy was computed on log-probabilities/);
    expect(j.notes.join(' ')).toMatch(/Mahalanobis was fitted on the model's log-probabilities, not penultimate features/);
    // Energy of log-probabilities is -log(sum p) = 0 on every row: it separates nothing.
    expect(Math.abs(j.ood.scores.energy.auroc - 0.5)).toBeLessThan(0.15);
    const html = readFileSync(join(out, 'eval.html'), 'utf8');
    expect(html).toContain('energy (T = 1) on log-probabilities');
    expect(html).toContain('Mahalanobis on log-probabilities');
    expect(html).not.toMatch(/penultimate features\)?</);
    const fr = j.scores.fairness[0];
    expect(fr.report.groups.map((g: { group: string; count: number; tooSmall: boolean }) => [g.group, g.count, g.tooSmall])).toEqual([['0', 120, false], ['1', 120, false], ['7', 1, true]]);
    expect(fr.report).toMatchObject({ minGroupSize: 30, excluded: ['7'] });
    const [g0, g1] = fr.report.groups;
    expect(fr.report.demographicParityDifference).toBeCloseTo(Math.abs(g0.selectionRate - g1.selectionRate), 12);
    for (const m of fr.mitigations) expect(Array.isArray(m.degenerate)).toBe(true);
    expect(html).toContain('no: &lt; 30 rows');
    expect(html).toContain('groups left out (too small)');
    const text = cli(['eval', '--model', probsOnnx, ...args, '--min-group-size', '1']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/groups with rows: 0 \(120\), 1 \(120\), 7 \(1\)/);
    expect(text.stdout).toMatch(/energy on log-probabilities \(the model exposes nothing earlier\) [\d.]+, mahalanobis on log-probabilities/);
    expect(text.stdout).not.toMatch(/left out of the gaps/);
    const flagged = cli(['eval', '--model', probsOnnx, ...args]);
    expect(flagged.stdout).toMatch(/left out of the gaps \(< 30 rows\): 7\n/);
    expect(cli(['eval', '--model', probsOnnx, ...args, '--min-group-size', '0']).code).toBe(2);
  });

  it('a logits ONNX model: energy on logits, Mahalanobis still on log-probabilities; a Switchyard model: penultimate features', async () => {
    const r = cli(['eval', '--model', logitsOnnx, ...args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.ood.inputs).toEqual({ energy: 'logits', mahalanobis: 'log-probabilities' });
    expect(r.json.notes.join(' ')).not.toMatch(/energy was computed on log-probabilities/);
    const m = await tinyClassifier(3, [5], 2);
    try {
      expect(m.outputKinds).toEqual({ logits: 'logits', features: 'penultimate' });
    } finally {
      await m.release();
    }
    expect(oodInputName('penultimate')).toBe('penultimate features');
    expect(oodInputName('logits')).toBe('logits');
  });
});
