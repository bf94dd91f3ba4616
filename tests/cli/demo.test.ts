/**
 * The README's first set-up command: `switchyard demo` audits the penguins data, trains, predicts, exports
 * and evaluates, end to end, through the real CLI.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './helpers.ts';

describe('switchyard demo', () => {
  it('audits, trains, exports and evaluates on the shipped penguins data', () => {
    const out = join(tmp('sy-demo-'), 'demo');
    const r = cli(['demo', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, dataset: 'penguins', target: 'Species' });
    expect(r.json.testAccuracy).toBeGreaterThan(0.9);
    expect(r.json.onnxMaxAbsDiff).toBeLessThan(1e-5);
    expect(r.json.onnxLabelsAgree).toBe(true); // fed the raw test columns, ORT returns predict's class strings
    expect(r.json.audit.summary.error).toBe(0);
    expect(r.json.eval.accuracy.estimate).toBeCloseTo(r.json.testAccuracy, 10);
    expect(r.json.eval.accuracy.low).toBeLessThanOrEqual(r.json.eval.accuracy.estimate);
    for (const f of ['audit/audit.json', 'audit/audit.html', 'eval/eval.json', 'eval/eval.html', 'model.onnx', 'test-predictions.csv']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(out, 'audit/audit.json'), 'utf8')).format).toBe('switchyard.audit');
  });
});
