import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSplit } from '../../src/audit/profile.ts';
import { inferKind } from '../../src/audit/semantic.ts';
import { looksLikeIdName } from '../../src/data/schema.ts';
import { BOOLEAN_TOKENS, MISSING_TOKENS } from '../../src/audit/sql.ts';
import { DuckSession } from '../../src/data/readers/index.ts';
import { isMissing, parseBoolean, parseNumber } from '../../src/data/values.ts';
import { cleanRows, COLUMNS, tmpDir, writeCsv } from './audit-data.ts';

const dir = tmpDir();
let db: DuckSession;
beforeAll(async () => {
  db = await DuckSession.open({ threads: 1 });
});
afterAll(() => db.close());

describe('profile', () => {
  it('classifies cells exactly as src/data/values.ts does', async () => {
    const cells = ['', ' ', 'NA', 'n/a', 'NULL', 'NaN', '?', '-', ' na ', 'nan0', '12', ' 3.5 ', '.5', '1e-3', '-7', '+4', '0x10', '0b1', '0o7', '1_000', 'inf', 'Infinity', '-inf', 'abc', 'true', 'No', 'Y', 'f', '1', '0', 'maybe', 'yes '];
    const data = writeCsv(dir, 'cells.csv', ['v', 'k'], cells.map((c, i) => [c, String(i)]));
    const s = await loadSplit(db, data, 'cells');
    const rows = await db.all(`SELECT t.rowid AS r, t.v AS v, n.v AS x FROM ${s.table} t POSITIONAL JOIN ${s.numTable} n ORDER BY t.rowid`);
    rows.forEach((r, i) => {
      const raw = cells[i];
      expect(r.v === null, `missing '${raw}'`).toBe(isMissing(raw));
      const want = isMissing(raw) ? NaN : parseNumber(raw);
      expect(r.x === null ? NaN : r.x, `number '${raw}'`).toEqual(want);
    });
    for (const t of MISSING_TOKENS) expect(isMissing(t)).toBe(true);
    for (const t of BOOLEAN_TOKENS) expect(parseBoolean(t)).not.toBe(-1);
  });

  it('infers kinds, including dates and identifiers, and takes overrides', async () => {
    const rows = cleanRows(300).map((r, i) => [`2024-03-${String(1 + (i % 28)).padStart(2, '0')}`, String(1000 + i), `the quick note number ${i} about something longer`, ...r]);
    const data = writeCsv(dir, 'kinds.csv', ['day', 'order_id', 'note', ...COLUMNS], rows);
    const s = await loadSplit(db, data, 'kinds');
    expect(s.profile.columns.map((c) => c.kind)).toEqual(['datetime', 'identifier', 'text', 'numeric', 'numeric', 'categorical', 'boolean', 'categorical', 'categorical']);
    const o = await loadSplit(db, data, 'kinds2', ['order_id=numeric', 'color=ignore']);
    expect(o.byName.get('order_id')!.kind).toBe('numeric');
    expect(o.byName.get('order_id')!.source).toBe('override');
    expect(o.byName.has('color')).toBe(false);
    expect(o.ignored).toEqual(['color']);
    expect(looksLikeIdName('customerId')).toBe(true);
    expect(inferKind('x', { rows: 10, missing: 10, distinct: 0, numeric: 0, integer: 0, boolean: 0, datetime: 0, withSpace: 0, totalLength: 0, min: NaN, max: NaN }).kind).toBe('categorical');
  });

  it('gives numeric summaries, and approximate ones for large inputs that agree with the exact ones', async () => {
    const data = writeCsv(dir, 'num.csv', COLUMNS, cleanRows(4000));
    const exact = await loadSplit(db, data, 'exact');
    const approx = await loadSplit(db, data, 'approx', {}, { exactRows: 0 });
    const age = exact.byName.get('age')!;
    expect(age.quantiles!.p50).toBeCloseTo(40, 0);
    expect(age.std!).toBeCloseTo(10, 0);
    expect(age.histogram!.counts.reduce((a, b) => a + b, 0)).toBe(4000);
    expect(age.histogram!.edges).toHaveLength(21);
    expect(exact.mad.age).toBeCloseTo(6.745, 0);
    expect(approx.profile.columns.map((c) => c.kind)).toEqual(exact.profile.columns.map((c) => c.kind));
    const a2 = approx.byName.get('age')!;
    for (const k of Object.keys(age.quantiles!)) expect(Math.abs(a2.quantiles![k] - age.quantiles![k])).toBeLessThan(1);
    expect(Math.abs(approx.mad.age - exact.mad.age)).toBeLessThan(0.3);
    expect(approx.byName.get('color')!.distinct).toBe(4);
    expect(Math.abs(a2.distinct - age.distinct) / age.distinct).toBeLessThan(0.1);
    expect(exact.byName.get('color')!.topValues!.map((v) => v.value).sort()).toEqual(['amber', 'blue', 'green', 'red']);
  });
});
