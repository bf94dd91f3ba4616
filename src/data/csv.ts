/**
 * RFC 4180 CSV/TSV reading: quoted fields, escaped quotes (`""`), CRLF or LF or CR line ends, newlines
 * inside quotes, a UTF-8 BOM, and delimiter auto-detection between `,` `;` tab and `|`.
 *
 * Files are streamed through the chunked {@link CsvParser}, so a large file costs one pass.
 */
import { Utf8StreamDecoder } from './text/bytes.ts';
import { createReadStream } from 'node:fs';
import { SwitchyardError } from '../util/errors.ts';
import { CsvParser } from './csv-parser.ts';

export { CANDIDATE_DELIMITERS, CsvParser, detectDelimiter } from './csv-parser.ts';

/**
 * A parsed delimited file: header names, raw cells and the 1-based source line of each row.
 *
 * @example
 * const t: Table = { file: 'x.csv', columns: ['a'], rows: [['1']], lines: [2] };
 */
export interface Table {
  /** The path or label used in error messages. */
  file: string;
  /** Header names, trimmed. */
  columns: string[];
  /** Raw cell strings, one array per data row, each of length `columns.length`. */
  rows: string[][];
  /** 1-based source line on which each row starts. */
  lines: number[];
}

/**
 * Options for {@link readCsv} and {@link parseCsv}.
 *
 * @example
 * await readCsv('big.tsv', { delimiter: '\t', limit: 100 });
 */
export interface CsvOptions {
  /** Field delimiter; auto-detected among `,` `;` `\t` `|` when omitted. */
  delimiter?: string;
  /** Stop after this many data rows (for previews). */
  limit?: number;
  /** Read chunk size in bytes for {@link readCsv} (default 1 MiB). */
  chunkSize?: number;
}

/**
 * Collects records into a {@link Table}: the first record is the header (names trimmed, must be non-empty
 * and unique), every other record must have as many fields. Returns the push/end pair plus the table.
 *
 * @example
 * const b = new TableBuilder('t.csv');
 * b.add(['a', 'b'], 1); b.add(['1', '2'], 2);
 * b.finish().rows; // [['1', '2']]
 */
export class TableBuilder {
  private columns: string[] | null = null;
  private readonly rows: string[][] = [];
  private readonly lines: number[] = [];

  constructor(
    readonly file: string,
    private readonly delimiter = ',',
  ) {}

  /** Per-column pools of repeated values (null once a column has too many distinct values). */
  private pools: (Map<string, string> | null)[] = [];

  /** Replaces repeated short values by one shared string, so low-cardinality columns cost little memory. */
  private intern(cells: string[]): void {
    const pools = this.pools;
    for (let j = 0; j < cells.length; j++) {
      const pool = pools[j];
      if (pool === null) continue;
      const v = cells[j];
      const hit = pool.get(v);
      if (hit !== undefined) cells[j] = hit;
      else if (pool.size < INTERN_MAX) pool.set(v, v);
      else pools[j] = null;
    }
  }

  /** Number of data rows collected so far. */
  get size(): number {
    return this.rows.length;
  }

  /** Adds one record (header first). Throws `E_CSV_HEADER` / `E_CSV_FIELDS`. */
  add(cells: string[], line: number): void {
    if (this.columns === null) {
      this.columns = checkHeader(this.file, cells, line);
      this.pools = this.columns.map(() => new Map());
      return;
    }
    const want = this.columns.length;
    if (cells.length !== want) {
      if (cells.length === 1 && want > 1 && cells[0].trim() === '') return; // a whitespace-only line
      const d = this.delimiter === '\t' ? '\\t' : this.delimiter;
      throw new SwitchyardError(
        'E_CSV_FIELDS',
        `${this.file}:${line}: expected ${want} fields, found ${cells.length}`,
        cells.length > want
          ? `a value probably contains the delimiter '${d}': quote it ("a${d}b") or remove the extra '${d}'`
          : `a value or a '${d}' is missing on that line; leave an empty field for a missing value`,
      );
    }
    this.intern(cells);
    this.rows.push(cells);
    this.lines.push(line);
  }

  /** The finished table; throws `E_CSV_EMPTY` when there is no header or no data row. */
  finish(): Table {
    if (this.columns === null) {
      throw new SwitchyardError('E_CSV_EMPTY', `${this.file}: the file is empty`, 'check the path, or the export that wrote the file');
    }
    if (this.rows.length === 0) {
      throw new SwitchyardError('E_CSV_EMPTY', `${this.file}: the file has a header but no data rows`, 'check the export that wrote the file');
    }
    return { file: this.file, columns: this.columns, rows: this.rows, lines: this.lines };
  }
}

function checkHeader(file: string, cells: string[], line: number): string[] {
  const names = cells.map((c) => c.trim());
  const seen = new Map<string, number>();
  for (let j = 0; j < names.length; j++) {
    if (names[j] === '') {
      throw new SwitchyardError(
        'E_CSV_HEADER',
        `${file}:${line}:${j + 1}: header field ${j + 1} is empty`,
        'every column needs a name in the first row; if the file has no header row, add one',
      );
    }
    const prev = seen.get(names[j]);
    if (prev !== undefined) {
      throw new SwitchyardError(
        'E_CSV_HEADER',
        `${file}:${line}:${j + 1}: duplicate column name '${names[j]}' (also field ${prev + 1})`,
        'rename one of the columns so every header name is unique',
      );
    }
    seen.set(names[j], j);
  }
  return names;
}

const INTERN_MAX = 1024;

class StopReading extends Error {}

/**
 * Parses CSV/TSV text held in memory. `file` names the source in error messages.
 *
 * @example
 * const t = parseCsv('id,label\r\n1,"a ""b"""\r\n', { file: 'inline.csv' });
 * t.columns; // ['id', 'label']
 * t.rows;    // [['1', 'a "b"']]
 */
export function parseCsv(text: string, opts: CsvOptions & { file: string }): Table {
  let builder: TableBuilder | null = null;
  const limit = opts.limit ?? Infinity;
  const parser = new CsvParser(
    opts.file,
    (cells, line) => {
      builder ??= new TableBuilder(opts.file, parser.delimiter ?? ',');
      builder.add(cells, line);
      if (builder.size >= limit) throw new StopReading();
    },
    opts.delimiter,
  );
  try {
    parser.push(text);
    parser.end();
  } catch (e) {
    if (!(e instanceof StopReading)) throw e;
  }
  return (builder ?? new TableBuilder(opts.file)).finish();
}

/**
 * Streams a CSV/TSV file from disk into a {@link Table}, reading it in chunks (strict UTF-8).
 * Throws `E_FILE_NOT_FOUND` when the path does not exist, `E_TEXT_ENCODING` (`file:line`) for bytes that are
 * not UTF-8 (e.g. a Latin-1 export), and the parse errors of {@link parseCsv}.
 *
 * @example
 * const table = await readCsv('train.csv');
 * console.log(table.columns, table.rows.length);
 */
export async function readCsv(path: string, opts: CsvOptions = {}): Promise<Table> {
  let builder: TableBuilder | null = null;
  const limit = opts.limit ?? Infinity;
  const parser = new CsvParser(
    path,
    (cells, line) => {
      builder ??= new TableBuilder(path, parser.delimiter ?? ',');
      builder.add(cells, line);
      if (builder.size >= limit) throw new StopReading();
    },
    opts.delimiter,
  );
  const stream = createReadStream(path, { highWaterMark: opts.chunkSize ?? 1 << 20 });
  const utf8 = new Utf8StreamDecoder(path);
  try {
    for await (const chunk of stream) parser.push(utf8.push(chunk as Buffer));
    parser.push(utf8.end());
    parser.end();
  } catch (e) {
    if (e instanceof StopReading) stream.destroy();
    else throw fileError(path, e);
  }
  return (builder ?? new TableBuilder(path)).finish();
}

function fileError(path: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') {
    return new SwitchyardError('E_FILE_NOT_FOUND', `${path}: no such file`, `check the path (relative paths start at ${process.cwd()})`);
  }
  if (code === 'EISDIR') {
    return new SwitchyardError('E_FILE_NOT_FOUND', `${path}: is a directory, not a file`, 'pass the path of a .csv or .tsv file');
  }
  if (code === 'EACCES') {
    return new SwitchyardError('E_FILE_READ', `${path}: permission denied`, 'check the file permissions');
  }
  return e;
}
