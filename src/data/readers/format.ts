/**
 * What kind of input a path is (CSV, TSV, JSONL, Parquet or a folder of text files), and the checks every
 * reader runs first: the path exists, is not empty, and is not binary data (NUL bytes) posing as text.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { SwitchyardError } from '../../util/errors.ts';

/**
 * Input formats {@link detectFormat} recognises.
 *
 * @example
 * const f: TableFormat = 'jsonl';
 */
export type TableFormat = 'csv' | 'tsv' | 'jsonl' | 'parquet' | 'text';

const EXTENSIONS: Record<string, TableFormat> = {
  '.csv': 'csv', '.tsv': 'tsv', '.tab': 'tsv', '.txt': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl', '.json': 'jsonl', '.parquet': 'parquet', '.pq': 'parquet',
};

const SNIFF_BYTES = 65536;

/**
 * The format of `path`: a directory is a folder of text files, otherwise the file extension decides
 * (`.csv` `.tsv` `.jsonl`/`.ndjson` `.parquet`; unknown extensions are read as CSV with delimiter detection).
 * Throws `E_FILE_NOT_FOUND` for a missing path.
 *
 * @example
 * detectFormat('data/train.parquet'); // 'parquet'
 */
export function detectFormat(path: string): TableFormat {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new SwitchyardError('E_FILE_NOT_FOUND', `${path}: no such file`, `check the path (relative paths start at ${process.cwd()})`);
  }
  if (isDir) return 'text';
  return EXTENSIONS[extname(path).toLowerCase()] ?? 'csv';
}

/**
 * Rejects a file a text reader cannot use: missing (`E_FILE_NOT_FOUND`), empty (`E_CSV_EMPTY`) or binary
 * (`E_BINARY`: a NUL byte in the first 64 KiB, reported with its line and column).
 *
 * @example
 * checkTextFile('train.csv'); // throws on 'train.csv:3:7: binary data (a NUL byte) ...'
 */
export function checkTextFile(path: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new SwitchyardError('E_FILE_NOT_FOUND', `${path}: no such file`, `check the path (relative paths start at ${process.cwd()})`);
  }
  if (size === 0) throw new SwitchyardError('E_CSV_EMPTY', `${path}: the file is empty`, 'check the path, or the export that wrote the file');
  const buf = readHeadBytes(path, SNIFF_BYTES);
  const nul = buf.indexOf(0);
  if (nul < 0) return;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < nul; i++) {
    if (buf[i] === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  throw new SwitchyardError(
    'E_BINARY',
    `${path}:${line}:${nul - lineStart + 1}: binary data (a NUL byte), not a text file`,
    'pass a CSV, TSV or JSONL text file (Parquet files need the .parquet extension); a UTF-16 export must be re-saved as UTF-8',
  );
}

function readHeadBytes(path: string, bytes: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * The first `bytes` bytes of a file as UTF-8 text (for delimiter detection and sniffing).
 *
 * @example
 * detectDelimiter(readHead('train.csv'));
 */
export function readHead(path: string, bytes = SNIFF_BYTES): string {
  return readHeadBytes(path, bytes).toString('utf8');
}
