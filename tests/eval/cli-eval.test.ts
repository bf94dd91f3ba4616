import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { softmax } from '../../src/core/ops/index.ts';
import { MLP } from '../../src/nn/layers.ts';
import { exportOnnx } from '../../src/train/forward.ts';
import { cli, expectBadInput, tmp } from '../cli/helpers.ts';
import { type EvalOptions, runEval } from '../../src/eval/run.ts';
import { SwitchyardError } from '../../src/util/errors.ts';
import { writeSplits } from './data.ts';

const dir = tmp('sy-eval-');
const files = writeSplits(dir);
const run = join(dir, 'run');
const train = cli(['train', '--data', files.train, '--target', 'label', '--out', run, '--epochs', '25', '--hidden', '16', '--json', '--quiet']);

function ok(r: ReturnType<typeof cli>) {
  expect(r.code, r.stderr).toBe(0);
  expect(r.json?.ok).toBe(true);
  return r.json;
}

describe('switchyard eval on a run trained by the test', () => {
  it('writes eval.json and eval.html with metrics, slices, calibration, robustness and OOD', async () => {
    ok(train);
    const out = join(dir, 'report');
    const j = ok(cli(['eval', '--model', run, '--data', files.test, '--slice', 'region', '--sensitive', 'region', '--positive', 'yes', '--adversarial', '--epsilons', '0,0.25,1', '--calibrate-on', files.valid, '--bootstrap', '200', '--out', out, '--json', '--quiet']));
    expect(j.model).toMatchObject({ kind: 'tabular', task: 'classification', target: 'label' });
    const acc = j.scores.overall.accuracy;
    expect(acc.estimate).toBeGreaterThan(0.7);
    expect(acc.low).toBeLessThanOrEqual(acc.estimate);
    expect(acc.high).toBeGreaterThanOrEqual(acc.estimate);
    expect(j.scores.slices[0].slices.map((s: { value: string }) => s.value).sort()).toEqual(['north', 'south']);
    // Fairness: region shifts the label, so the model's selection rates differ; per-group thresholds close the gap.
    const fair = j.scores.fairness[0];
    expect(fair).toMatchObject({ column: 'region', positive: 'yes' });
    expect(fair.report.groups.map((g: { group: string }) => g.group).sort()).toEqual(['north', 'south']);
    expect(fair.report.demographicParityDifference).toBeGreaterThan(0.05);
    const dp = fair.mitigations.find((m: { objective: string }) => m.objective === 'selection_rate');
    expect(dp.after.demographicParityDifference).toBeLessThan(fair.report.demographicParityDifference);
    expect(dp.accuracyCost).toBeCloseTo(dp.before.accuracy - dp.after.accuracy, 12);
    // Temperature scaling: fitted on valid, stored with the run (atomically, in the manifest), NLL not worse.
    expect(j.calibration.fittedNow).toBe(true);
    expect(j.calibration.nllAfter).toBeLessThanOrEqual(j.calibration.nllBefore + 1e-9);
    const stored = JSON.parse(readFileSync(join(run, 'calibration.json'), 'utf8'));
    expect(stored.temperature).toBeCloseTo(j.calibration.temperature, 12);
    const manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
    expect(manifest.files.map((f: { path: string }) => f.path)).toContain('calibration.json');
    expect(j.scores.calibration.after.ece).toBeTypeOf('number');
    // Robustness: corruptions and a falling robust-accuracy curve for both norms.
    expect(j.robustness.corruptions.length).toBe(7);
    expect(j.robustness.adversarial.map((a: { norm: string }) => a.norm)).toEqual(['linf', 'l2']);
    for (const a of j.robustness.adversarial) {
      expect(a.points[0].pgdAccuracy).toBeCloseTo(acc.estimate, 12);
      expect(a.points[2].pgdAccuracy).toBeLessThan(a.points[0].pgdAccuracy);
    }
    // The built-in shifted set is clearly OOD for the Mahalanobis score.
    expect(j.ood.scores.mahalanobis.auroc).toBeGreaterThan(0.9);
    expect(j.ood.reference).toBe(files.valid);
    const html = readFileSync(join(out, 'eval.html'), 'utf8');
    for (const s of ['reliability diagram', 'robust accuracy vs epsilon', 'ROC curves', 'accuracy by region', 'rates by region', 'demographic parity difference', 'Out-of-distribution']) expect(html).toContain(s);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')).format).toBe('switchyard.eval');
    // A later evaluation reuses the stored temperature.
    const again = await runEval({ model: run, data: files.test, corruptions: false, bootstrap: 50, progress: { enabled: false } });
    expect(again.calibration!.fittedNow).toBe(false);
    expect(again.calibration!.temperature).toBeCloseTo(j.calibration.temperature, 12);
  });

  it('an identically distributed OOD set is not detected', async () => {
    ok(train);
    const j = await runEval({ model: run, data: files.test, ood: files.valid, reference: files.train, corruptions: false, bootstrap: 50, progress: { enabled: false } });
    for (const s of ['msp', 'energy', 'mahalanobis'] as const) expect(Math.abs(j.ood!.scores[s].auroc - 0.5)).toBeLessThan(0.1);
  });

  it('evaluates a foreign ONNX classifier (columns by order, integer labels) and rejects one whose inputs do not match', async () => {
    const mlp = new MLP([3, 8, 3]).init(5);
    const bytes = exportOnnx(mlp, (m, b) => ({ scores: m.call(b.input) }), { input: { dtype: 'f32', shape: ['N', 3] } });
    const onnx = join(dir, 'foreign.onnx');
    writeFileSync(onnx, bytes);
    const csv = join(dir, 'numeric.csv');
    writeFileSync(csv, 'f1,f2,f3,y\n' + Array.from({ length: 60 }, (_, i) => `${(i % 7) / 3},${(i % 5) - 2},${i / 60},${i % 3}`).join('\n') + '\n');
    const j = ok(cli(['eval', '--model', onnx, '--data', csv, '--target', 'y', '--bootstrap', '50', '--adversarial', '--json', '--quiet']));
    expect(j.model).toMatchObject({ kind: 'onnx', classes: ['0', '1', '2'] });
    expect(j.ood.scores.msp.auroc).toBeTypeOf('number');
    expect(j.notes.join(' ')).toMatch(/adversarial attacks need a Switchyard classifier/);
    const wide = join(dir, 'wide.csv');
    writeFileSync(wide, 'f1,f2,f3,f4,y\n1,2,3,4,0\n');
    await expect(runEval({ model: onnx, data: wide, target: 'y' })).rejects.toThrow(/expects 3 input features, .*wide\.csv has 4 feature columns/);
    await expect(runEval({ model: onnx, data: csv })).rejects.toThrow(/which column holds the labels/);
    // Two inputs: not a [N, F] classifier.
    const two = join(dir, 'two.onnx');
    writeFileSync(two, exportOnnx(mlp, (m, b) => ({ probabilities: softmax(m.call(b.a), -1), other: b.b }), { a: { dtype: 'f32', shape: ['N', 3] }, b: { dtype: 'f32', shape: ['N', 2] } }));
    await expect(runEval({ model: two, data: csv, target: 'y' })).rejects.toThrow(/the model has 2 inputs \(a, b\)/);
  });

  it('bad input: missing columns, a missing slice column, unknown files → exit 2 with one-line errors', async () => {
    ok(train);
    const noB = join(dir, 'no-b.csv');
    writeFileSync(noB, readFileSync(files.test, 'utf8').replace(/^a,b,c/, 'a,bb,c'));
    expectBadInput(cli(['eval', '--model', run, '--data', noB]), /no column 'b', which the model was trained with/);
    expectBadInput(cli(['eval', '--model', run, '--data', files.test, '--slice', 'regoin']), /no column 'regoin' \(--slice\)/);
    const bad = async (o: Partial<EvalOptions>, code: string, re: RegExp) => {
      const e = await runEval({ model: run, data: files.test, corruptions: false, ...o }).then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(SwitchyardError);
      expect((e as SwitchyardError).code).toBe(code);
      expect((e as SwitchyardError).message).toMatch(re);
    };
    await bad({ sensitive: ['sex'] }, 'E_CSV_COLUMN', /no column 'sex' \(--sensitive\)/);
    await bad({ model: join(dir, 'nope') }, 'E_FILE_NOT_FOUND', /no such file or directory/);
    await bad({ ood: join(dir, 'nope.csv') }, 'E_FILE_NOT_FOUND', /nope\.csv: no such file \(--ood\)/);
    const noLabel = join(dir, 'no-label.csv');
    writeFileSync(noLabel, readFileSync(files.test, 'utf8').replace(/,label\n/, ',lbl\n'));
    await bad({ data: noLabel }, 'E_CSV_COLUMN', /no column 'label' \(--target\)/);
  });
});
