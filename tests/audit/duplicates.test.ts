import { afterAll, describe, expect, it } from 'vitest';
import type { AuditContext } from '../../src/audit/context.ts';
import { findConflictingLabels, findExactDuplicates } from '../../src/audit/duplicates.ts';
import { cleanRows, COLUMNS, contextFor, tmpDir, writeCsv } from './audit-data.ts';

const dir = tmpDir();
const open: AuditContext[] = [];
afterAll(() => open.forEach((c) => c.db.close()));
async function ctxOf(columns: string[], rows: string[][], target?: string) {
  const ctx = await contextFor(writeCsv(dir, `d${open.length}.csv`, columns, rows), undefined, { target });
  open.push(ctx);
  return ctx;
}

describe('exact duplicates', () => {
  it('stay quiet on clean data', async () => {
    const ctx = await ctxOf(COLUMNS, cleanRows(3000));
    expect(await findExactDuplicates(ctx.db, ctx.train)).toEqual([]);
    expect(await findConflictingLabels(ctx.db, ctx.train, { ...ctx, target: 'label' })).toEqual([]);
  });

  it('find planted copies with their 0-based data rows in file order, ignoring an id column', async () => {
    const rows = cleanRows(3000).map((r, i) => [String(i), ...r]);
    const copies: [number, number][] = [[10, 2500], [11, 2999], [10, 1200]];
    for (const [from, to] of copies) rows[to] = [String(to), ...rows[from].slice(1)];
    const ctx = await ctxOf(['id', ...COLUMNS], rows);
    expect(ctx.train.byName.get('id')!.kind).toBe('identifier');
    const [f] = await findExactDuplicates(ctx.db, ctx.train);
    expect(f.check).toBe('duplicates.exact');
    expect(f.details!.duplicateRows).toBe(3);
    expect(f.evidence.rows).toEqual([1200, 2500, 2999]);
    expect(f.details!.ignoredColumns).toEqual(['id']);
    const clusters = f.details!.clusters as { rows: number[] }[];
    expect(clusters[0].rows).toEqual([10, 1200, 2500]);
    expect(clusters[1].rows).toEqual([11, 2999]);
  });

  it('keep file order on a file DuckDB reads in parallel', async () => {
    const rows = Array.from({ length: 120_000 }, (_, i) => [String(i * 7919 % 1_000_003), `v${i % 13}`]);
    rows[119_999] = [...rows[3]];
    rows[60_001] = [...rows[77_777]];
    const ctx = await contextFor(writeCsv(dir, 'big.csv', ['a', 'b'], rows), undefined, {}, { threads: 2 });
    open.push(ctx);
    const [f] = await findExactDuplicates(ctx.db, ctx.train);
    expect(f.evidence.rows).toEqual([77_777, 119_999]);
  });

  it('find conflicting labels for identical features', async () => {
    const rows = cleanRows(500);
    rows[400] = [...rows[7].slice(0, 5), rows[7][5] === 'good' ? 'bad' : 'good'];
    const ctx = await ctxOf(COLUMNS, rows);
    const [f] = await findConflictingLabels(ctx.db, ctx.train, { ...ctx, target: 'label' });
    expect(f.check).toBe('duplicates.conflicting-labels');
    expect(f.evidence.rows).toEqual([7, 400]);
    expect((f.details!.clusters as { labels: string[] }[])[0].labels.sort()).toEqual(['bad', 'good']);
  });
});
