/**
 * A folder of text files as a {@link Table} with columns `path` (relative to the folder, `/`-separated)
 * and `text`: one row per file, recursively, in sorted path order; hidden files and folders are skipped.
 */
import { decodeUtf8 } from '../text/bytes.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { SwitchyardError } from '../../util/errors.ts';
import type { Table } from '../csv.ts';

/**
 * Lists the text files under `dir` (recursive, sorted, no hidden entries) as absolute-ish paths.
 *
 * @example
 * listTextFiles('corpus/'); // ['corpus/a.txt', 'corpus/sub/b.txt']
 */
export function listTextFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Reads every file under `dir` as UTF-8 text. Throws `E_CSV_EMPTY` when there is none and `E_BINARY`
 * (naming the file, line and column) for a file with NUL bytes.
 *
 * @example
 * const t = await readTextFolder('emails/');
 * t.columns; // ['path', 'text']
 */
export async function readTextFolder(dir: string, opts: { limit?: number } = {}): Promise<Table> {
  const files = listTextFiles(dir).slice(0, opts.limit ?? Infinity);
  if (files.length === 0) throw new SwitchyardError('E_CSV_EMPTY', `${dir}: the folder has no files`, 'pass a folder that holds .txt (or other text) files');
  const rows = files.map((f) => {
    const text = decodeUtf8(f, readFileSync(f));
    const nul = text.indexOf('\0');
    if (nul >= 0) {
      const before = text.slice(0, nul);
      const line = before.split('\n').length;
      throw new SwitchyardError('E_BINARY', `${f}:${line}:${nul - before.lastIndexOf('\n')}: binary data (a NUL byte), not a text file`, `remove the file from ${dir} or convert it to UTF-8 text`);
    }
    return [relative(dir, f).split(sep).join('/'), text];
  });
  return { file: dir, columns: ['path', 'text'], rows, lines: rows.map(() => 1) };
}
