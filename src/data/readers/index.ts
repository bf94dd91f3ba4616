/**
 * The one loading path: {@link readTable} turns CSV, TSV, JSONL, Parquet, a folder of text files, a folder of
 * images or a built-in image dataset into a {@link Table}, for training, prediction, audit and evaluation alike.
 */
import { existsSync } from 'node:fs';
import { SwitchyardError } from '../../util/errors.ts';
import { readCsv, type Table } from '../csv.ts';
import { parseBuiltinImageName, readBuiltinImages } from '../images/builtin.ts';
import { isImageFolder, readImageFolder } from '../images/folder.ts';
import type { MAX_IMAGE_PIXELS } from '../images/image.ts';
import { DuckSession } from './duckdb.ts';
import { checkTextFile, detectFormat, type TableFormat } from './format.ts';
import { readJsonl } from './jsonl.ts';
import { readTextFolder } from './text-folder.ts';

export { DuckSession, sqlIdent, sqlString, type DuckOptions, type LoadedTable } from './duckdb.ts';
export { checkTextFile, detectFormat, readHead, type TableFormat } from './format.ts';
export { checkJsonDepth, MAX_JSON_DEPTH, parseJsonLine, readJsonl, textLines } from './jsonl.ts';
export { listTextFiles, readTextFolder } from './text-folder.ts';

/**
 * Options for {@link readTable}.
 *
 * @example
 * await readTable('data.txt', { format: 'tsv', limit: 10 });
 */
export interface ReadTableOptions {
  /** Force a format instead of going by the extension. */
  format?: TableFormat;
  /** CSV delimiter (auto-detected when omitted). */
  delimiter?: string;
  /** Stop after this many data rows. */
  limit?: number;
  /** A folder of images: refuse an image of more pixels than this (default {@link MAX_IMAGE_PIXELS}). */
  maxImagePixels?: number;
}

/**
 * Throws `E_FILE_NOT_FOUND` (naming the flag) unless `path` exists or names a built-in image dataset (`mnist`,
 * `fashion-mnist`, each also with `:train` or `:test`).
 *
 * @param path the value of the flag
 * @param flag the flag, for the message
 * @example
 * requireInput(a.data, '--data'); // fine for 'mnist' and for an existing file
 */
export function requireInput(path: string, flag: string): void {
  if (parseBuiltinImageName(path) || existsSync(path)) return;
  throw new SwitchyardError('E_FILE_NOT_FOUND', `${path}: no such file (${flag})`, 'check the path');
}

/**
 * Reads any supported input into a {@link Table}. CSV/TSV go through the streaming RFC 4180 parser (exact
 * `file:line:column` errors), JSONL through a line reader, Parquet through DuckDB, a directory becomes rows of
 * `path, text`, or, when it holds images, an image table (`image` and `label` from the sub-folders; see
 * readImageFolder). `mnist`, `fashion-mnist` (and `:train`/`:test`) name the built-in image datasets (a folder of
 * that name is `./mnist`). Missing, empty and binary files throw `E_FILE_NOT_FOUND`, `E_CSV_EMPTY`, `E_BINARY`.
 *
 * @example
 * const t = await readTable('train.parquet');
 * t.columns; // ['age', 'income', 'label']
 * (await readTable('mnist:test')).rows.length; // 2000
 */
export async function readTable(path: string, opts: ReadTableOptions = {}): Promise<Table> {
  const builtin = opts.format === undefined ? parseBuiltinImageName(path) : null;
  if (builtin) return readBuiltinImages(builtin.name, builtin.split, opts);
  const format = opts.format ?? detectFormat(path);
  if (format === 'text' && opts.format === undefined && isImageFolder(path)) {
    return readImageFolder(path, { limit: opts.limit, maxPixels: opts.maxImagePixels });
  }
  switch (format) {
    case 'text':
      return readTextFolder(path, opts);
    case 'jsonl':
      return readJsonl(path, opts);
    case 'parquet': {
      const db = await DuckSession.open({ threads: 1 });
      try {
        const t = await db.load(path, 'parquet_input', { format });
        const limit = opts.limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(opts.limit))}`;
        return await db.toTable(`SELECT * FROM ${t.table} ORDER BY rowid${limit}`, path);
      } finally {
        db.close();
      }
    }
    default:
      checkTextFile(path);
      return readCsv(path, { delimiter: opts.delimiter ?? (format === 'tsv' ? '\t' : undefined), limit: opts.limit });
  }
}
