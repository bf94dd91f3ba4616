import { describe, expect, it } from 'vitest';
import { parseCsv, type Table } from '../../src/data/csv.ts';
import { inferSchema, resolveTarget } from '../../src/data/schema.ts';
import { didYouMean, editDistance, isMissing, parseBoolean, parseNumber } from '../../src/data/values.ts';
import { caught } from '../expect-error.ts';


/** A table from columns of cells. */
function table(cols: Record<string, string[]>, file = 'train.csv'): Table {
  const names = Object.keys(cols);
  const n = cols[names[0]].length;
  const rows = Array.from({ length: n }, (_, r) => names.map((c) => cols[c][r]));
  return { file, columns: names, rows, lines: rows.map((_, r) => r + 2) };
}

const kinds = (t: Table, o = {}) => Object.fromEntries(inferSchema(t, o).columns.map((c) => [c.name, c.kind]));
const range = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));

describe('cell values', () => {
  it('recognises missing markers', () => {
    for (const m of ['', ' ', 'NA', 'na', 'N/A', 'null', 'NULL', 'NaN', 'nan', '?', '-', ' NA ']) expect(isMissing(m), m).toBe(true);
    for (const v of ['0', '-1', 'none', 'n', 'NAN1', 'nana']) expect(isMissing(v), v).toBe(false);
  });

  it('parses decimal numbers only', () => {
    expect(parseNumber(' 3.25 ')).toBe(3.25);
    expect(parseNumber('-1e3')).toBe(-1000);
    expect(parseNumber('.5')).toBe(0.5);
    for (const s of ['', 'abc', '0x10', '0b1', 'Infinity', '1,5', '1.2.3']) expect(parseNumber(s), s).toBeNaN();
  });

  it('parses booleans', () => {
    expect(['yes', 'TRUE', 'y', 't', '1'].map(parseBoolean)).toEqual([1, 1, 1, 1, 1]);
    expect(['No', 'false', 'n', 'F', '0'].map(parseBoolean)).toEqual([0, 0, 0, 0, 0]);
    expect(parseBoolean('maybe')).toBe(-1);
  });

  it('suggests near names', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(didYouMean('lable', ['a', 'b', 'label'])).toBe('label');
    expect(didYouMean('LABEL', ['a', 'label'])).toBe('label');
    expect(didYouMean('price', ['a', 'b', 'label'])).toBeNull();
  });
});

describe('inferSchema', () => {
  it('infers numeric, categorical, boolean, identifier and text columns', () => {
    const n = 40;
    const t = table({
      id: range(n, (i) => String(i + 1)),
      customer: range(n, (i) => `C${1000 + i * 7}`),
      age: range(n, (i) => String(20 + (i % 13))),
      score: range(n, (i) => (i * 0.37).toFixed(2)),
      color: range(n, (i) => ['red', 'green', 'blue'][i % 3]),
      member: range(n, (i) => (i % 2 ? 'yes' : 'no')),
      flag01: range(n, (i) => String(i % 2)),
      review: range(n, (i) => `this product was number ${i} in my list of favourite things`),
      label: range(n, (i) => ['a', 'b'][i % 2]),
    });
    expect(kinds(t)).toEqual({
      id: 'identifier', customer: 'identifier', age: 'numeric', score: 'numeric', color: 'categorical',
      member: 'boolean', flag01: 'boolean', review: 'text', label: 'categorical',
    });
  });

  it('counts missing values and distinct values', () => {
    const t = table({ x: ['1', '', 'NA', '2', '?', '2', '-', 'null'], c: ['a', 'b', 'N/A', 'a', 'a', 'b', 'a', 'a'] });
    const s = inferSchema(t);
    expect(s.rows).toBe(8);
    expect(s.columns[0]).toMatchObject({ name: 'x', index: 0, kind: 'numeric', missing: 5, distinct: 2, source: 'inferred' });
    expect(s.columns[1]).toMatchObject({ name: 'c', kind: 'categorical', missing: 1, distinct: 2 });
  });

  it('marks an all-missing column ignore', () => {
    expect(kinds(table({ x: ['', 'NA', ''], y: ['1', '2', '3'] })).x).toBe('ignore');
  });

  it('does not call large unique integers without an id-like name an identifier', () => {
    const t = table({ income: range(30, (i) => String(30000 + i * 1237)) });
    expect(kinds(t).income).toBe('numeric');
  });

  it('keeps a mostly-numeric column with < 95% numbers categorical', () => {
    const t = table({ size: range(40, (i) => (i % 5 === 0 ? 'large' : String(i))) });
    expect(kinds(t).size).toBe('categorical');
  });

  it('reports a few garbage cells in a numeric column with file:line:column', () => {
    const cells = range(1000, (i) => String(i * 0.5));
    cells[17] = 'abc';
    cells[500] = 'x';
    const t = table({ id: range(1000, (i) => `r${i}`), weight: cells });
    const e = caught(() => inferSchema(t));
    expect(e.code).toBe('E_CSV_VALUE');
    expect(e.message).toBe("train.csv:19:2: column 'weight': 'abc' is not a number (998 of 1000 values in this column are numbers, 2 are not)");
    expect(e.hint).toMatch(/fix the value/);
    expect(e.hint).toMatch(/categorical/);
  });

  it('uses the real source line from the table', () => {
    const t = parseCsv('a,b\n1,"x\ny"\n' + range(30, (i) => `${i},z`).join('\n') + '\n2 apples,z\n', { file: 'f.csv' });
    const e = caught(() => inferSchema(t));
    expect(e.message).toMatch(/^f\.csv:34:1: column 'a': '2 apples' is not a number/);
  });

  it('accepts overrides, and checks them', () => {
    const cells = range(100, (i) => String(i));
    cells[3] = 'abc';
    const t = table({ zip: cells, b: range(100, (i) => String(i % 7)) });
    const s = inferSchema(t, { zip: 'categorical', b: 'ignore' });
    expect(s.columns.map((c) => [c.kind, c.source])).toEqual([['categorical', 'override'], ['ignore', 'override']]);
    const e = caught(() => inferSchema(t, { zip: 'numeric' }));
    expect(e.code).toBe('E_CSV_VALUE');
    expect(e.message).toMatch(/^train\.csv:5:1: column 'zip': 'abc' is not a number/);
    expect(caught(() => inferSchema(t, { zip: 'categorical', b: 'boolean' })).message).toMatch(/^train\.csv:4:2: column 'b': '2' is not a boolean/);
    const unknown = caught(() => inferSchema(t, { zp: 'categorical' }));
    expect(unknown.code).toBe('E_CSV_COLUMN');
    expect(unknown.hint).toBe("did you mean 'zip'?");
    expect(caught(() => inferSchema(t, { zip: 'nonsense' as never })).code).toBe('E_SCHEMA_KIND');
  });
});

describe('resolveTarget', () => {
  const t = table({ a: ['1', '2'], b: ['x', 'y'], label: ['p', 'q'] });
  const s = inferSchema(t);

  it('finds the target column', () => {
    expect(resolveTarget(s, 'label').index).toBe(2);
  });

  it('E_TARGET_MISSING lists columns and suggests the nearest', () => {
    const e = caught(() => resolveTarget(s, 'lable'));
    expect(e.code).toBe('E_TARGET_MISSING');
    expect(e.message).toBe("train.csv: no column named 'lable'; columns are: a, b, label");
    expect(e.hint).toMatch(/did you mean 'label'\?/);
    expect(caught(() => resolveTarget(s, 'Label')).hint).toMatch(/did you mean 'label'/);
    expect(caught(() => resolveTarget(s, 'price')).hint).toBe('pass --target with one of the column names');
  });
});

describe('identifier heuristics', () => {
  it('treats a row-number column as an identifier even without an id-like name', () => {
    expect(kinds(table({ n: range(30, (i) => String(i)), v: range(30, (i) => String(i % 4)) })).n).toBe('identifier');
  });

  it('treats id-like names with unique integers as identifiers, but not repeated ones', () => {
    expect(kinds(table({ customerId: ['17', '4', '99'], v: ['1', '2', '3'] })).customerId).toBe('identifier');
    expect(kinds(table({ user_id: ['17', '17', '99'], v: ['1', '2', '3'] })).user_id).toBe('numeric');
  });
});
