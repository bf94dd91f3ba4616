import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, expectBadInput } from '../cli/helpers.ts';
import { cleanRows, COLUMNS, tmpDir, writeCsv } from './audit-data.ts';

const dir = tmpDir();

describe('switchyard audit', () => {
  it('writes audit.json and audit.html, prints a summary and exits 3 when --fail-on is reached', () => {
    const train = cleanRows(800, 1);
    const test = cleanRows(200, 2);
    for (let i = 0; i < 10; i++) test[i] = [...train[i * 3]]; // 5% of test copied from train: an error
    const out = join(dir, 'rep');
    const args = ['audit', '--data', writeCsv(dir, 'train.csv', COLUMNS, train), '--test', writeCsv(dir, 'test.csv', COLUMNS, test), '--target', 'label', '--sensitive', 'sex', '--no-label-issues', '--out', out];
    const r = cli([...args, '--fail-on', 'error']);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/findings: 1 error/);
    expect(r.stdout).toMatch(/error\s+leakage\.shared-rows\s+test\s+10 of 200 test rows/);
    const json = JSON.parse(readFileSync(join(out, 'audit.json'), 'utf8'));
    expect(json.format).toBe('switchyard.audit');
    expect(json.findings.find((f: { check: string }) => f.check === 'leakage.shared-rows').evidence.rows).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const html = readFileSync(join(out, 'audit.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain('leakage.shared-rows');
    const j = cli([...args, '--json', '--fail-on', 'warn']);
    expect(j.code).toBe(3);
    expect(j.json).toMatchObject({ ok: false, worst: 'error', failOn: 'warn', summary: { error: 1 } });
  });

  it('exits 0 on clean data with --fail-on warn', () => {
    const out = join(dir, 'clean');
    const r = cli(['audit', '--data', writeCsv(dir, 'c1.csv', COLUMNS, cleanRows(600, 5)), '--test', writeCsv(dir, 'c2.csv', COLUMNS, cleanRows(200, 6)), '--target', 'label', '--sensitive', 'sex', '--no-label-issues', '--out', out, '--fail-on', 'warn', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, summary: { error: 0, warn: 0 } });
    expect(existsSync(join(out, 'audit.html'))).toBe(true);
  });

  it('rejects unknown columns and malformed files with exit 2 and a one-line error', () => {
    const data = writeCsv(dir, 'd.csv', COLUMNS, cleanRows(50, 7));
    const out = join(dir, 'bad');
    const missing = cli(['audit', '--data', data, '--sensitive', 'sexx', '--out', out]);
    expectBadInput(missing, /no column named 'sexx' \(--sensitive\)/);
    expect(missing.stderr).toMatch(/hint: did you mean 'sex'\?/);
    const ragged = join(dir, 'ragged.csv');
    writeFileSync(ragged, 'a,b\n1,2\n3,4,5\n');
    expectBadInput(cli(['audit', '--data', ragged, '--out', out]), /ragged\.csv:3: expected 2 fields, found 3/);
    const jsonl = join(dir, 'bad.jsonl');
    writeFileSync(jsonl, '{"a":1}\n{"a":\n');
    expectBadInput(cli(['audit', '--data', jsonl, '--out', out]), /bad\.jsonl:2:\d+: invalid JSON/);
    expect(existsSync(join(out, 'audit.json'))).toBe(false);
  });
});
