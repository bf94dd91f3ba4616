import { afterAll, describe, expect, it } from 'vitest';
import { checkIntegrity } from '../../src/audit/integrity.ts';
import type { AuditContext } from '../../src/audit/context.ts';
import { cleanRows, COLUMNS, contextFor, tmpDir, writeCsv } from './audit-data.ts';

const dir = tmpDir();
const open: AuditContext[] = [];
afterAll(() => open.forEach((c) => c.db.close()));

async function integrity(columns: string[], rows: string[][]) {
  const ctx = await contextFor(writeCsv(dir, `t${open.length}.csv`, columns, rows));
  open.push(ctx);
  return { findings: await checkIntegrity(ctx.db, ctx.train), ctx };
}

describe('integrity checks', () => {
  it('stay quiet on clean data', async () => {
    const { findings, ctx } = await integrity(COLUMNS, cleanRows(2000));
    expect(findings).toEqual([]);
    expect(ctx.train.profile.columns.map((c) => c.kind)).toEqual(['numeric', 'numeric', 'categorical', 'boolean', 'categorical', 'categorical']);
  });

  it('find planted missing values, mixed types, constant and near-constant columns, invalid values and outliers', async () => {
    const rows = cleanRows(1000).map((r, i) => [
      ...r,
      i % 5 === 0 ? 'NA' : r[2], // 20% missing
      i % 3 === 0 ? String(i % 7) : `w${i % 7}`, // a third numbers, the rest words
      'same', // constant
      i === 500 ? 'other' : 'x', // near-constant
    ]);
    rows[3][0] = 'abc'; // invalid in a numeric column
    rows[17][0] = 'n.a.';
    rows[42][1] = '9000000'; // a far outlier
    const { findings, ctx } = await integrity([...COLUMNS, 'spotty', 'mixed', 'flat', 'almost'], rows);
    const by = (check: string, column: string) => findings.find((f) => f.check === check && f.column === column);
    const missing = by('integrity.missing', 'spotty')!;
    expect(missing.severity).toBe('warn');
    expect(missing.details!.missing).toBe(200);
    expect(missing.evidence.rows!.slice(0, 3)).toEqual([0, 5, 10]);
    expect(by('integrity.mixed-types', 'mixed')!.evidence.rows!.slice(0, 2)).toEqual([0, 3]); // the minority type
    expect(by('integrity.constant', 'flat')!.severity).toBe('warn');
    expect(by('integrity.near-constant', 'almost')!.details!.topShare).toBeCloseTo(0.999);
    const invalid = by('integrity.invalid', 'age')!;
    expect(invalid.severity).toBe('error');
    expect(invalid.evidence.rows).toEqual([3, 17]);
    expect(invalid.evidence.values).toEqual(['abc', 'n.a.']);
    const out = by('integrity.outliers', 'income')!;
    expect(out.severity).toBe('warn');
    expect(out.evidence.rows![0]).toBe(42);
    expect(ctx.train.byName.get('age')!.kind).toBe('numeric');
    // nothing else is flagged on the clean columns
    expect(findings.filter((f) => ['income', 'color', 'smoker', 'sex', 'label'].includes(f.column!) && f.check !== 'integrity.outliers')).toEqual([]);
  });

  it('checks values against an overridden kind', async () => {
    const ctx = await contextFor(writeCsv(dir, 'o.csv', ['flag', 'n'], Array.from({ length: 50 }, (_, i) => [i === 9 ? 'maybe' : i % 2 ? 'yes' : 'no', String(i)])));
    open.push(ctx);
    const f = (await checkIntegrity(ctx.db, ctx.train)).find((x) => x.check === 'integrity.invalid')!;
    expect(f.column).toBe('flag');
    expect(f.evidence.rows).toEqual([9]);
  });
});
