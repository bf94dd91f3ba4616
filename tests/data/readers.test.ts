import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckSession, readTable, type TableFormat } from '../../src/data/readers/index.ts';
import { predictTabular } from '../../src/train/tabular-predict.ts';
import { trainTabular } from '../../src/train/tabular.ts';
import { SwitchyardError } from '../../src/util/errors.ts';
import { tmpDir } from '../audit/audit-data.ts';

const dir = tmpDir();
let db: DuckSession;
beforeAll(async () => {
  db = await DuckSession.open({ threads: 1 });
});
afterAll(() => db.close());

/** The SwitchyardError a promise rejects with. */
async function failure(f: () => Promise<unknown>): Promise<SwitchyardError> {
  const e = await f().then(() => new Error('expected a SwitchyardError'), (x: unknown) => x);
  expect(e).toBeInstanceOf(SwitchyardError);
  return e as SwitchyardError;
}

function write(name: string, text: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const EXPECTED = { columns: ['x', 'color', 'label'], rows: [['1.5', 'red', 'yes'], ['2', 'blue, dark', 'no'], ['', 'green', 'yes']] };

describe('readTable', () => {
  it('reads CSV, TSV and JSONL into the same table', async () => {
    const csv = await readTable(write('a.csv', 'x,color,label\n1.5,red,yes\n2,"blue, dark",no\n,green,yes\n'));
    const tsv = await readTable(write('a.tsv', 'x\tcolor\tlabel\n1.5\tred\tyes\n2\tblue, dark\tno\n\tgreen\tyes\n'));
    const jsonl = await readTable(write('a.jsonl', '{"x":1.5,"color":"red","label":"yes"}\n{"x":2,"color":"blue, dark","label":"no"}\n\n{"x":null,"color":"green","label":"yes"}\n'));
    for (const t of [csv, tsv, jsonl]) expect({ columns: t.columns, rows: t.rows }).toEqual(EXPECTED);
    expect(jsonl.lines).toEqual([1, 2, 4]);
  });

  it('reads a Parquet file written by DuckDB COPY', async () => {
    const p = join(dir, 'a.parquet');
    await db.run(`COPY (SELECT * FROM (VALUES (1.5, 'red', 'yes'), (2.0, 'blue, dark', 'no'), (NULL, 'green', 'yes')) v(x, color, label)) TO '${p}' (FORMAT parquet)`);
    const t = await readTable(p);
    expect(t.columns).toEqual(EXPECTED.columns);
    expect(t.rows.map((r) => r.slice(1))).toEqual(EXPECTED.rows.map((r) => r.slice(1)));
    expect(t.rows.map((r) => Number(r[0] || NaN))).toEqual([1.5, 2, NaN]);
  });

  it('reads a folder of text files as path, text rows in sorted order', async () => {
    const d = join(dir, 'docs');
    mkdirSync(join(d, 'sub'), { recursive: true });
    writeFileSync(join(d, 'b.txt'), 'second');
    writeFileSync(join(d, 'a.txt'), 'first\nline');
    writeFileSync(join(d, 'sub', 'c.txt'), 'third');
    writeFileSync(join(d, '.hidden'), 'skip me');
    const t = await readTable(d);
    expect(t.columns).toEqual(['path', 'text']);
    expect(t.rows).toEqual([['a.txt', 'first\nline'], ['b.txt', 'second'], ['sub/c.txt', 'third']]);
    const loaded = await db.load(d, 'docs');
    expect(loaded.format).toBe('text');
    expect((await db.all(`SELECT path, text FROM ${loaded.table} ORDER BY rowid`)).map((r) => [r.path, r.text])).toEqual(t.rows);
  });

  const BAD: [string, string | Uint8Array, string, RegExp][] = [
    ['ragged.csv', 'a,b\n1,2\n3,4,5\n', 'E_CSV_FIELDS', /ragged\.csv:3: expected 2 fields, found 3/],
    ['quote.csv', 'a,b\n1,"x\n', 'E_CSV_PARSE', /quote\.csv:2:3: unterminated quoted field/],
    ['bad.jsonl', '{"a":1}\n{"a":2,"b":\n', 'E_JSONL_PARSE', /bad\.jsonl:2:\d+: invalid JSON/],
    ['array.jsonl', '{"a":1}\n[1,2]\n', 'E_JSONL_PARSE', /array\.jsonl:2:1: expected a JSON object/],
    ['nul.csv', Buffer.from('a,b\n1,2\n3,\u00004\n'), 'E_BINARY', /nul\.csv:3:3: binary data/],
    ['empty.csv', '', 'E_CSV_EMPTY', /empty\.csv: the file is empty/],
    ['header.csv', 'a,b\n', 'E_CSV_EMPTY', /header\.csv: the file has a header but no data rows/],
  ];
  for (const [name, text, code, re] of BAD) {
    it(`reports ${code} for ${name} with file and line, in readTable and in the DuckDB loader`, async () => {
      const p = write(name, text);
      for (const load of [() => readTable(p), () => db.load(p, 'bad')]) {
        const e = await failure(load);
        expect(e.code).toBe(code);
        expect(e.message).toMatch(re);
        expect(e.message).not.toContain('\n');
        expect(e.exitCode).toBe(2);
      }
    });
  }

  it('reports a missing file and a corrupt Parquet file', async () => {
    expect((await failure(() => readTable(join(dir, 'nope.csv')))).code).toBe('E_FILE_NOT_FOUND');
    const e = await failure(() => readTable(write('junk.parquet', 'not parquet at all')));
    expect(e.code).toBe('E_PARQUET');
    expect(e.message).toMatch(/junk\.parquet: not a readable Parquet file/);
  });

  it('loads into DuckDB in file order, with the same cells as readTable', async () => {
    for (const [name, format] of [['a.csv', 'csv'], ['a.tsv', 'tsv'], ['a.jsonl', 'jsonl']] as [string, TableFormat][]) {
      const t = await db.load(join(dir, name), `t_${format}`);
      expect(t.rows).toBe(3);
      expect(t.columns).toEqual(EXPECTED.columns);
      const rows = await db.all(`SELECT rowid AS r, color FROM ${t.table} ORDER BY rowid`);
      expect(rows.map((r) => r.color)).toEqual(['red', 'blue, dark', 'green']);
    }
  });
});

describe('training loads through readTable', () => {
  it('trains and predicts from JSONL and Parquet', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 200; i++) lines.push(JSON.stringify({ a: (i % 20) / 10, b: i % 2 ? 'u' : 'v', label: i % 20 < 10 ? 'lo' : 'hi' }));
    const jsonl = write('train.jsonl', lines.join('\n') + '\n');
    const parquet = join(dir, 'train.parquet');
    await db.run(`COPY (SELECT * FROM read_json('${jsonl}', format='newline_delimited')) TO '${parquet}' (FORMAT parquet)`);
    for (const data of [jsonl, parquet]) {
      const out = join(dir, `run-${data.endsWith('parquet') ? 'pq' : 'jl'}`);
      const s = await trainTabular({ data, target: 'label', out, epochs: 3, hidden: [8], seed: 0, progress: { enabled: false } });
      expect(s.rows.train + s.rows.valid).toBe(200);
      const p = await predictTabular(out, data);
      expect(p.rows).toBe(200);
      expect(p.classes.sort()).toEqual(['hi', 'lo']);
    }
  });
});

describe('text that is not UTF-8 is an error naming file:line, never U+FFFD', () => {
  const latin1 = Buffer.from('name,city,label\nn0,Paris,a\nn1,Dr\xe9am,b\n', 'latin1');

  it('CSV, TSV, JSONL and text folders, through readTable and DuckDB', async () => {
    for (const [name, bytes] of [['latin1.csv', latin1], ['latin1.tsv', Buffer.from(latin1.toString('latin1').replaceAll(',', '\t'), 'latin1')], ['latin1.jsonl', Buffer.from('{"a":"ok"}\n{"a":"Dr\xe9am"}\n', 'latin1')]] as const) {
      const f = write(name, bytes);
      const e = await failure(() => readTable(f));
      expect(e.code).toBe('E_TEXT_ENCODING');
      expect(e.message).toMatch(new RegExp(`${name}:\\d: byte \\d+ \\(0xe9\\) is not valid UTF-8`));
      expect(e.hint).toMatch(/iconv/);
      expect((await failure(() => db.load(f, 'enc'))).code).toBe('E_TEXT_ENCODING');
    }
    const folder = join(dir, 'latin1-folder');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'a.txt'), Buffer.from('first line\nDr\xe9am\n', 'latin1'));
    expect((await failure(() => readTable(folder))).message).toMatch(/a\.txt:2: byte 13 \(0xe9\)/);
  });

  it('names the right line when the bad byte or a valid multi-byte character straddles a chunk boundary', async () => {
    const { Utf8StreamDecoder } = await import('../../src/data/text/bytes.ts');
    const text = Buffer.concat([Buffer.from('é\n'.repeat(50)), Buffer.from([0x61, 0xe9, 0x0a])]);
    for (const size of [1, 2, 3, 7, 64]) {
      const d = new Utf8StreamDecoder('x.csv');
      let out = '';
      const e = (() => {
        try {
          for (let i = 0; i < text.length; i += size) out += d.push(text.subarray(i, i + size));
          d.end();
        } catch (x) {
          return x as SwitchyardError;
        }
        return null;
      })();
      expect(e?.message).toMatch(/^x\.csv:51: byte 151 \(0xe9\)/);
      expect(('é\n'.repeat(50) + 'a').startsWith(out)).toBe(true);
    }
  });
});

describe('JSONL nesting is capped before parsing', () => {
  const deep = (n: number) => `{"a":${'['.repeat(n)}${']'.repeat(n)},"label":"x"}`;

  it('a record nested 20,000 deep is one error naming file:line:column, in the JS reader and before DuckDB', async () => {
    const f = write('deep.jsonl', `{"a":1,"label":"y"}\n${deep(20_000)}\n`);
    for (const e of [await failure(() => readTable(f)), await failure(() => db.load(f, 'deep'))]) {
      expect(e.code).toBe('E_JSONL_DEPTH');
      expect(e.message).toBe(`${f}:2:105: JSON nested deeper than 100 levels`); // the record's own object is level 1
    }
  });

  it('accepts nesting up to the limit, ignores brackets inside strings, and the limit is an option', async () => {
    const { checkJsonDepth, readJsonl } = await import('../../src/data/readers/jsonl.ts');
    const f = write('ok-depth.jsonl', `${deep(99)}\n{"s":"${'['.repeat(500)}","label":"y"}\n`);
    expect((await readJsonl(f)).rows).toHaveLength(2);
    expect((await failure(() => readJsonl(f, { maxDepth: 10 }))).message).toMatch(/:1:\d+: JSON nested deeper than 10 levels/);
    expect(() => checkJsonDepth('{"a":"\\"[[[["}', 'x', 1, 1)).not.toThrow();
  });
});
