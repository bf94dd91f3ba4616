import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvParser, detectDelimiter, parseCsv, readCsv } from '../../src/data/csv.ts';
import { formatCsvRow, jsonRecordsToCsv } from '../../src/data/csv-write.ts';
import { SwitchyardError } from '../../src/util/errors.ts';
import { caught } from '../expect-error.ts';


async function caughtAsync(f: () => Promise<unknown>): Promise<SwitchyardError> {
  try {
    await f();
  } catch (e) {
    if (e instanceof SwitchyardError) return e;
    throw e;
  }
  throw new Error('expected a SwitchyardError');
}

const parse = (text: string) => parseCsv(text, { file: 'train.csv' });

describe('parseCsv', () => {
  it('parses a plain file with line numbers', () => {
    const t = parse('a,b,c\n1,2,3\n4,5,6\n');
    expect(t).toEqual({ file: 'train.csv', columns: ['a', 'b', 'c'], rows: [['1', '2', '3'], ['4', '5', '6']], lines: [2, 3] });
  });

  it('handles quotes, escaped quotes, delimiters and newlines inside quotes', () => {
    const t = parse('id,text\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n4,""\n5,x\n');
    expect(t.rows).toEqual([['1', 'a, b'], ['2', 'say "hi"'], ['3', 'two\nlines'], ['4', ''], ['5', 'x']]);
    expect(t.lines).toEqual([2, 3, 4, 6, 7]);
  });

  it('handles CRLF, lone CR, a BOM, no trailing newline, and blank lines', () => {
    const t = parse('\uFEFFa,b\r\n1,"x\r\ny"\r\n\r\n2,3\r3,4');
    expect(t.columns).toEqual(['a', 'b']);
    expect(t.rows).toEqual([['1', 'x\r\ny'], ['2', '3'], ['3', '4']]);
    expect(t.lines).toEqual([2, 5, 6]);
  });

  it('keeps empty fields, including a trailing one', () => {
    const t = parse('a,b,c\n,,\n1,,\n,,3\n');
    expect(t.rows).toEqual([['', '', ''], ['1', '', ''], ['', '', '3']]);
  });

  it('trims header names but keeps raw cells', () => {
    const t = parse(' a , b\n 1 , x \n');
    expect(t.columns).toEqual(['a', 'b']);
    expect(t.rows).toEqual([[' 1 ', ' x ']]);
  });

  it('auto-detects , ; tab and |', () => {
    expect(parse('a;b\n1,5;2\n').rows).toEqual([['1,5', '2']]);
    expect(parse('a\tb\n1\t2\n').rows).toEqual([['1', '2']]);
    expect(parse('a|b|c\n1|2|3\n').rows).toEqual([['1', '2', '3']]);
    expect(parse('"a,1";b\n"x,y";2\n').rows).toEqual([['x,y', '2']]);
    expect(detectDelimiter('single\n1\n2\n')).toBe(',');
  });

  it('rejects an unusable delimiter', () => {
    expect(caught(() => parseCsv('a\n', { file: 'x.csv', delimiter: ';;' })).code).toBe('E_CSV_DELIMITER');
    expect(caught(() => parseCsv('a\n', { file: 'x.csv', delimiter: '"' })).code).toBe('E_CSV_DELIMITER');
  });

  it('honours an explicit delimiter and a row limit', () => {
    const t = parseCsv('a;b\n1;2\n3;4\n5;6\n', { file: 'x.csv', delimiter: ';', limit: 2 });
    expect(t.rows).toEqual([['1', '2'], ['3', '4']]);
  });

  it('gives the same records for any chunking of the input (property)', () => {
    const cell = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('', '"', '""', ',', '\n', '\r\n', ' x ', 'a"b'));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((w) =>
          fc.tuple(fc.array(fc.array(cell, { minLength: w, maxLength: w }), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), fc.boolean()),
        ),
        ([rows, cuts, crlf]) => {
          const header = rows[0].map((_, j) => `c${j}`);
          // A row of one empty cell would be a blank line, which the parser skips: quote it.
          const lines = [header, ...rows].map((r) => (r.length === 1 && r[0] === '' ? '""' : formatCsvRow(r)));
          const text = lines.join(crlf ? '\r\n' : '\n');
          const whole = parseCsv(text, { file: 'p.csv', delimiter: ',' });
          expect(whole.rows).toEqual(rows);
          const got: string[][] = [];
          const p = new CsvParser('p.csv', (c) => got.push(c), ',');
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          let prev = 0;
          for (const c of [...points, text.length]) {
            p.push(text.slice(prev, c));
            prev = c;
          }
          p.end();
          expect(got.slice(1)).toEqual(rows);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('CSV errors', () => {
  it('E_CSV_FIELDS names file:line and both counts', () => {
    const text = 'a,b,c,d,e\n' + '1,2,3,4,5\n'.repeat(15) + '1,2,3,4\n';
    const e = caught(() => parse(text));
    expect(e.code).toBe('E_CSV_FIELDS');
    expect(e.message).toBe('train.csv:17: expected 5 fields, found 4');
    expect(e.hint).toMatch(/missing/);
    const more = caught(() => parse('a,b\n1,2,3\n'));
    expect(more.message).toBe('train.csv:2: expected 2 fields, found 3');
    expect(more.hint).toMatch(/quote it/);
  });

  it('E_CSV_FIELDS counts lines inside quoted newlines', () => {
    const e = caught(() => parse('a,b\n"x\ny",1\n2\n'));
    expect(e.message).toBe('train.csv:4: expected 2 fields, found 1');
  });

  it('E_CSV_PARSE points at the opening quote of an unterminated field', () => {
    const e = caught(() => parse('a,b\n1,2\n3,"oops\n4,5\n'));
    expect(e.code).toBe('E_CSV_PARSE');
    expect(e.message).toMatch(/^train\.csv:3:3: unterminated quoted field/);
  });

  it('E_CSV_PARSE on a character after a closing quote, with line:column', () => {
    const e = caught(() => parse('a,b\n1,"x"y\n'));
    expect(e.code).toBe('E_CSV_PARSE');
    expect(e.message).toMatch(/^train\.csv:2:6: unexpected 'y' after a closing quote/);
  });

  it('E_CSV_EMPTY for an empty file, a blank file and a header-only file', () => {
    expect(caught(() => parse('')).message).toBe('train.csv: the file is empty');
    expect(caught(() => parse('\n\r\n')).code).toBe('E_CSV_EMPTY');
    const e = caught(() => parse('a,b,label\n'));
    expect(e.code).toBe('E_CSV_EMPTY');
    expect(e.message).toBe('train.csv: the file has a header but no data rows');
  });

  it('E_CSV_HEADER for duplicate and empty header names', () => {
    const dup = caught(() => parse('a,b,a\n1,2,3\n'));
    expect(dup.code).toBe('E_CSV_HEADER');
    expect(dup.message).toBe("train.csv:1:3: duplicate column name 'a' (also field 1)");
    const empty = caught(() => parse('a,,c\n1,2,3\n'));
    expect(empty.code).toBe('E_CSV_HEADER');
    expect(empty.message).toBe('train.csv:1:2: header field 2 is empty');
    expect(caught(() => parse('\n\na, \n1,2\n')).message).toBe('train.csv:3:2: header field 2 is empty');
  });
});

describe('readCsv', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-csv-'));

  it('reads a file in small chunks exactly like parseCsv', async () => {
    const text = '\uFEFFid;name;note\r\n' + Array.from({ length: 500 }, (_, i) => `${i};n${i};"multi\r\nline ""${i}"""`).join('\r\n') + '\r\n';
    const path = join(dir, 'chunks.csv');
    writeFileSync(path, text);
    const t = await readCsv(path, { chunkSize: 7 });
    expect(t).toEqual(parseCsv(text, { file: path }));
    expect(t.rows.length).toBe(500);
    expect(t.rows[499]).toEqual(['499', 'n499', 'multi\r\nline "499"']);
    expect(t.lines[499]).toBe(2 + 499 * 2);
  });

  it('decodes multi-byte UTF-8 split across chunks', async () => {
    const path = join(dir, 'utf8.csv');
    writeFileSync(path, 'city,temp\nZürich,3\n東京,12\nSão Paulo,25\n');
    const t = await readCsv(path, { chunkSize: 3 });
    expect(t.rows.map((r) => r[0])).toEqual(['Zürich', '東京', 'São Paulo']);
  });

  it('stops early with a limit', async () => {
    const path = join(dir, 'limit.csv');
    writeFileSync(path, 'a\n' + '1\n'.repeat(1000));
    expect((await readCsv(path, { limit: 10, chunkSize: 16 })).rows.length).toBe(10);
  });

  it('E_FILE_NOT_FOUND for a missing path', async () => {
    const e = await caughtAsync(() => readCsv(join(dir, 'nope.csv')));
    expect(e.code).toBe('E_FILE_NOT_FOUND');
    expect(e.message).toBe(`${join(dir, 'nope.csv')}: no such file`);
    expect(e.hint).toMatch(/check the path/);
    expect((await caughtAsync(() => readCsv(dir))).code).toBe('E_FILE_NOT_FOUND');
  });

  it('reports errors with the path as given', async () => {
    const path = join(dir, 'bad.csv');
    writeFileSync(path, 'a,b\n1,2\n3\n');
    const e = await caughtAsync(() => readCsv(path, { chunkSize: 4 }));
    expect(e.message).toBe(`${path}:3: expected 2 fields, found 1`);
  });
});

describe('CSV writing', () => {
  it('round-trips JSON records through CSV', () => {
    const csv = jsonRecordsToCsv([{ a: 1, b: 'x, "y"' }, { a: null, c: true, d: { k: 1 } }]);
    expect(csv).toBe('a,b,c,d\n1,"x, ""y""",,\n,,true,"{""k"":1}"\n');
    expect(parseCsv(csv, { file: 'j.csv' }).rows).toEqual([['1', 'x, "y"', '', ''], ['', '', 'true', '{"k":1}']]);
  });
});
