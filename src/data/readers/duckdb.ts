/**
 * DuckDB as the tabular engine: one in-process database per audit with a memory limit and a spill
 * directory, into which each input file is loaded as a table of text (VARCHAR) cells in file order
 * (`rowid` = 0-based data row). Aggregates then run in SQL without the rows ever becoming JS arrays, so files
 * larger than memory can be profiled. Malformed input is re-read by the JS readers, whose errors name the
 * exact `file:line:column`.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { SwitchyardError } from '../../util/errors.ts';
import { importOptional } from '../../util/optional.ts';
import { detectDelimiter, readCsv, type Table } from '../csv.ts';
import { checkTextFile, detectFormat, readHead, type TableFormat } from './format.ts';
import { checkJsonDepth, readJsonl, textLines } from './jsonl.ts';
import { readTextFolder } from './text-folder.ts';

/**
 * Quotes a SQL identifier.
 *
 * @example
 * sqlIdent('my "col"'); // '"my ""col"""'
 */
export function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Quotes a SQL string literal.
 *
 * @example
 * sqlString("it's"); // "'it''s'"
 */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * Engine settings; larger-than-memory inputs spill to `tempDirectory`.
 *
 * @example
 * await DuckSession.open({ memoryLimit: '4GB', threads: 2 });
 */
export interface DuckOptions {
  /** DuckDB `memory_limit` (default `2GB`). */
  memoryLimit?: string;
  /** Where DuckDB spills (default: a fresh `<os tmp>/switchyard-duckdb-*` folder, removed on close). */
  tempDirectory?: string;
  /** Worker threads (default: all cores). */
  threads?: number;
}

/**
 * A loaded input: the DuckDB table name, its format, row count and column names (all VARCHAR).
 *
 * @example
 * const s: LoadedTable = { table: 'split_train', file: 'train.csv', format: 'csv', rows: 100, columns: ['a'] };
 */
export interface LoadedTable {
  table: string;
  file: string;
  format: TableFormat;
  rows: number;
  columns: string[];
}

/** First line of a DuckDB error message, without its SQL excerpt. */
function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

/** A size DuckDB accepts as `memory_limit`: a positive number and a unit, e.g. `2GB`, `512 MiB`. */
const MEMORY_LIMIT = /^\s*(\d+(\.\d*)?|\.\d+)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$/i;

/**
 * Throws `E_USAGE` unless `text` is a size with a unit that DuckDB accepts as its memory limit (`--memory-limit`).
 *
 * @param text the limit as the user gave it
 * @example
 * checkMemoryLimit('4GB');  // ok
 * checkMemoryLimit('lots'); // throws E_USAGE
 */
export function checkMemoryLimit(text: string): void {
  const m = MEMORY_LIMIT.exec(text);
  if (m && Number(m[1]) > 0) return;
  throw new SwitchyardError('E_USAGE', `--memory-limit '${text}' is not a size`, 'give a number and a unit, e.g. --memory-limit 2GB or --memory-limit 512MiB');
}

/**
 * One DuckDB database and connection.
 *
 * @example
 * const db = await DuckSession.open();
 * const t = await db.load('train.csv', 'split_train');
 * const [{ n }] = await db.all(`SELECT count(*) AS n FROM ${t.table}`);
 * db.close();
 */
export class DuckSession {
  private constructor(
    private readonly instance: DuckDBInstance,
    // Private, so the public declarations name no type of DuckDB (an optional package).
    private readonly connection: DuckDBConnection,
    /** A spill directory this session created (removed on close). */
    private readonly ownTemp: string | null,
  ) {}

  /** Starts an in-memory database with the given limits. */
  static async open(opts: DuckOptions = {}): Promise<DuckSession> {
    if (opts.memoryLimit !== undefined) checkMemoryLimit(opts.memoryLimit);
    const temp = opts.tempDirectory ?? mkdtempSync(join(tmpdir(), 'switchyard-duckdb-'));
    mkdirSync(temp, { recursive: true });
    const { DuckDBInstance } = await importOptional<typeof import('@duckdb/node-api')>('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:', {
      memory_limit: opts.memoryLimit ?? '2GB',
      temp_directory: temp,
      threads: String(opts.threads ?? availableParallelism()),
      preserve_insertion_order: 'true',
    });
    return new DuckSession(instance, await instance.connect(), opts.tempDirectory ? null : temp);
  }

  /**
   * Runs SQL and returns its rows as plain JS objects (BIGINT as `bigint`).
   *
   * @example
   * await db.all('SELECT 42 AS x'); // [{ x: 42 }]
   */
  async all(sql: string): Promise<Record<string, unknown>[]> {
    const r = await this.connection.runAndReadAll(sql);
    return r.getRowObjectsJS() as Record<string, unknown>[];
  }

  /**
   * Runs SQL and returns its first column as an array.
   *
   * @example
   * await db.column('SELECT range FROM range(3)'); // [0n, 1n, 2n]
   */
  async column(sql: string): Promise<unknown[]> {
    const r = await this.connection.runAndReadAll(sql);
    return (r.getColumnsJS()[0] ?? []) as unknown[];
  }

  /** Runs SQL for its effect. */
  async run(sql: string): Promise<void> {
    await this.connection.run(sql);
  }

  /**
   * Loads a file (or a folder of text files) into table `name`: every column VARCHAR, rows in file order
   * (`rowid` = 0-based data row). `project` maps the source column names to the SELECT list that is stored
   * (default `*`), so a caller can normalise cells in the same pass. Bad input throws the reader's `SwitchyardError` (`file:line:column` where known).
   *
   * @example
   * const t = await db.load('train.jsonl', 'split_train');
   */
  async load(path: string, name: string, opts: { format?: TableFormat; project?: (columns: string[]) => string } = {}): Promise<LoadedTable> {
    const format = opts.format ?? detectFormat(path);
    const table = sqlIdent(name);
    const view = sqlIdent(`${name}__source`);
    const project = opts.project ?? (() => '*');
    const describe = async (): Promise<string[]> => (await this.all(`DESCRIBE ${view}`)).map((r) => String(r.column_name));
    if (format === 'text') {
      await this.loadRows(await readTextFolder(path), `${name}__source`);
      await this.run(`CREATE OR REPLACE TABLE ${table} AS SELECT ${project(await describe())} FROM ${view}`);
      await this.run(`DROP TABLE ${view}`);
    } else {
      if (format !== 'parquet') checkTextFile(path);
      // DuckDB's JSON reader recurses per nesting level (a record 20,000 deep crashes the process): check first.
      if (format === 'jsonl') for await (const [line, text] of textLines(path)) checkJsonDepth(text, path, line);
      const source =
        format === 'parquet' ? `SELECT COLUMNS(*)::VARCHAR FROM read_parquet(${sqlString(path)})`
        : format === 'jsonl' ? `SELECT COLUMNS(*)::VARCHAR FROM read_json(${sqlString(path)}, format='newline_delimited', records=true, sample_size=-1)`
        : await csvSource(path, format);
      try {
        await this.run(`CREATE OR REPLACE VIEW ${view} AS ${source}`);
        await this.run(`CREATE OR REPLACE TABLE ${table} AS SELECT ${project(await describe())} FROM ${view}`);
        await this.run(`DROP VIEW ${view}`);
      } catch (e) {
        if (format === 'parquet') throw new SwitchyardError('E_PARQUET', `${path}: not a readable Parquet file (${firstLine(e)})`, 'check that the file is complete Parquet, or export it again');
        // The JS readers know the exact line and column; they throw when the file really is malformed.
        if (format === 'jsonl') await readJsonl(path);
        else await readCsv(path, format === 'tsv' ? { delimiter: '\t' } : {});
        throw new SwitchyardError('E_CSV_PARSE', `${path}: ${firstLine(e)}`, 'check the file structure (delimiter, quoting, encoding)');
      }
    }
    const [{ n }] = await this.all(`SELECT count(*) AS n FROM ${table}`);
    const columns = (await this.all(`DESCRIBE ${table}`)).map((r) => String(r.column_name));
    if (Number(n) === 0) throw new SwitchyardError('E_CSV_EMPTY', `${path}: the file has no data rows`, 'check the export that wrote the file');
    return { table, file: path, format, rows: Number(n), columns };
  }

  /**
   * Loads an in-memory {@link Table} into table `name` (VARCHAR columns, empty cells as NULL).
   *
   * @example
   * await db.loadRows({ file: 'x', columns: ['a'], rows: [['1']], lines: [2] }, 'split_x');
   */
  async loadRows(t: Table, name: string): Promise<void> {
    await this.run(`CREATE OR REPLACE TABLE ${sqlIdent(name)} (${t.columns.map((c) => `${sqlIdent(c)} VARCHAR`).join(', ')})`);
    const app = await this.connection.createAppender(name);
    for (const row of t.rows) {
      for (const v of row) {
        if (v === '') app.appendNull();
        else app.appendVarchar(v);
      }
      app.endRow();
    }
    app.closeSync();
  }

  /**
   * Reads a whole table (or query) back as a {@link Table} of strings (NULL as empty).
   *
   * @example
   * const t = await db.toTable('SELECT * FROM split_train', 'train.parquet');
   */
  async toTable(sql: string, file: string): Promise<Table> {
    const r = await this.connection.runAndReadAll(sql);
    const columns = r.columnNames();
    const rows = (r.getRowsJS() as unknown[][]).map((row) => row.map((v) => (v === null || v === undefined ? '' : String(v))));
    return { file, columns, rows, lines: rows.map((_, i) => i + 1) };
  }

  /** Closes the connection and the database (and removes the spill directory it created). */
  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
    if (this.ownTemp) rmSync(this.ownTemp, { recursive: true, force: true });
  }
}

/** A `read_csv` over `path` with the header, names and delimiter the JS reader would use, every column VARCHAR. */
async function csvSource(path: string, format: TableFormat): Promise<string> {
  const head = await readCsv(path, { limit: 1, ...(format === 'tsv' ? { delimiter: '\t' } : {}) });
  const delim = format === 'tsv' ? '\t' : detectDelimiter(readHead(path));
  const cols = head.columns.map((c) => `${sqlString(c)}: 'VARCHAR'`).join(', ');
  return `SELECT * FROM read_csv(${sqlString(path)}, header=true, auto_detect=false, delim=${sqlString(delim)}, quote='"', escape='"', columns={${cols}}, strict_mode=true)`;
}
