import { afterAll, describe, expect, it } from 'vitest';
import type { AuditContext } from '../../src/audit/context.ts';
import { findIdentifierColumns, findSharedRows, findSingleFeaturePredictors } from '../../src/audit/leakage.ts';
import { cleanRows, COLUMNS, contextFor, tmpDir, writeCsv } from './audit-data.ts';

const dir = tmpDir();
const open: AuditContext[] = [];
afterAll(() => open.forEach((c) => c.db.close()));
async function ctxOf(columns: string[], train: string[][], test?: string[][]) {
  const n = open.length;
  const ctx = await contextFor(writeCsv(dir, `tr${n}.csv`, columns, train), test ? writeCsv(dir, `te${n}.csv`, columns, test) : undefined, { target: 'label' });
  open.push(ctx);
  return ctx;
}

describe('leakage', () => {
  it('stays quiet on clean, independent splits', async () => {
    const ctx = await ctxOf(COLUMNS, cleanRows(2000, 1), cleanRows(500, 2));
    expect(await findSharedRows(ctx.db, ctx)).toEqual([]);
    expect(await findIdentifierColumns(ctx)).toEqual([]);
    expect(await findSingleFeaturePredictors(ctx.db, ctx)).toEqual([]);
  });

  it('finds test rows copied from train', async () => {
    const train = cleanRows(2000, 1);
    const test = cleanRows(500, 2);
    test[5] = [...train[100]];
    test[77] = [...train[1999].slice(0, 5), train[1999][5] === 'good' ? 'bad' : 'good']; // same features, other label: still shared
    const ctx = await ctxOf(COLUMNS, train, test);
    const [f] = await findSharedRows(ctx.db, ctx);
    expect(f.check).toBe('leakage.shared-rows');
    expect(f.split).toBe('test');
    expect(f.evidence.rows).toEqual([5, 77]);
    expect(f.details!.sharedRows).toBe(2);
  });

  it('finds identifier columns and a feature that alone predicts the label', async () => {
    const rows = cleanRows(2000).map((r, i) => [`u-${(i * 7919).toString(36)}`, ...r, r[5] === 'good' ? 'approved' : 'declined', r[5] === 'good' ? String(70 + (i % 30)) : String(i % 30)]);
    const ctx = await ctxOf(['user', ...COLUMNS, 'decision', 'score'], rows);
    const ids = await findIdentifierColumns(ctx);
    expect(ids.map((f) => f.column)).toEqual(['user']);
    const leaks = await findSingleFeaturePredictors(ctx.db, ctx);
    expect(leaks.map((f) => f.column).sort()).toEqual(['decision', 'score']);
    expect(leaks.every((f) => f.severity === 'error' && (f.details!.accuracy as number) > 0.98)).toBe(true);
  });

  it('finds a numeric feature that equals a numeric target', async () => {
    const rows = cleanRows(500).map((r) => [r[0], r[1], (Number(r[1]) * 2 + 1).toFixed(0)]);
    const ctx = await contextFor(writeCsv(dir, 'reg.csv', ['age', 'income', 'label'], rows), undefined, { target: 'label' });
    open.push(ctx);
    const leaks = await findSingleFeaturePredictors(ctx.db, ctx);
    expect(leaks.map((f) => f.column)).toEqual(['income']);
  });
});
