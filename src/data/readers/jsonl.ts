/**
 * JSON Lines (one JSON object per line) into a {@link Table}: columns are the union of keys in first-seen
 * order, strings stay as they are, numbers and booleans become their text, `null` and absent keys become
 * empty (missing) cells, nested values become their JSON text. Errors name `file:line:column`.
 */
import { createReadStream } from 'node:fs';
import { SwitchyardError } from '../../util/errors.ts';
import type { Table } from '../csv.ts';
import { Utf8StreamDecoder } from '../text/bytes.ts';
import { checkTextFile } from './format.ts';

/**
 * Deepest nesting of arrays and objects a JSONL record may have (default of `maxDepth`). Deeper records are
 * refused before parsing: they crash native JSON readers (DuckDB) and overflow the stack of recursive ones.
 */
export const MAX_JSON_DEPTH = 100;

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Column (1-based) of a `JSON.parse` failure, from the position in its message when it gives one. */
function errorColumn(message: string, text: string): number {
  const m = /position (\d+)/.exec(message);
  return m ? Number(m[1]) + 1 : text.length + 1;
}

/**
 * Throws `E_JSONL_DEPTH` naming `file:line:column` when `text` nests arrays/objects deeper than `maxDepth`
 * (brackets inside strings do not count). Linear in the text, no recursion.
 *
 * @param text one JSON text
 * @param file the file it came from, for the message
 * @param line its line number, for the message
 * @param maxDepth the deepest nesting allowed
 * @example
 * checkJsonDepth('[[[1]]]', 'x.jsonl', 1, 2); // throws: x.jsonl:1:3: JSON nested deeper than 2 levels
 */
export function checkJsonDepth(text: string, file: string, line: number, maxDepth = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) {
        throw new SwitchyardError('E_JSONL_DEPTH', `${file}:${line}:${i + 1}: JSON nested deeper than ${maxDepth} levels`, `flatten the record (the limit is ${maxDepth} nested arrays/objects)`);
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

/**
 * The lines of a text file as `[line number, text]` (1-based; `\r\n` and `\n` end a line; a byte order mark
 * is dropped), decoded as strict UTF-8: bytes that are not UTF-8 throw `E_TEXT_ENCODING` naming `file:line`.
 *
 * @param path the file
 * @example
 * for await (const [line, text] of textLines('train.jsonl')) console.log(line, text.length);
 */
export async function* textLines(path: string): AsyncGenerator<[number, string]> {
  const utf8 = new Utf8StreamDecoder(path);
  let pending = '';
  let line = 0;
  const cut = (s: string) => (s.endsWith('\r') ? s.slice(0, -1) : s);
  for await (const chunk of createReadStream(path)) {
    pending += utf8.push(chunk as Buffer);
    let start = 0;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n', start)) {
      yield [++line, cut(pending.slice(start, nl))];
      start = nl + 1;
    }
    pending = pending.slice(start);
  }
  pending += utf8.end();
  if (pending !== '') yield [++line, cut(pending)];
}

/**
 * Parses one line of JSONL into a record, or throws `E_JSONL_PARSE` naming `file:line:column` (and
 * `E_JSONL_DEPTH` for nesting deeper than `maxDepth`, checked before parsing).
 *
 * @example
 * parseJsonLine('{"a": 1}', 'x.jsonl', 3); // { a: 1 }
 */
export function parseJsonLine(text: string, file: string, line: number, maxDepth = MAX_JSON_DEPTH): Record<string, unknown> {
  checkJsonDepth(text, file, line, maxDepth);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    throw new SwitchyardError(
      'E_JSONL_PARSE',
      `${file}:${line}:${errorColumn(msg, text)}: invalid JSON (${msg.split('\n')[0]})`,
      'each line must be one complete JSON object, e.g. {"text": "...", "label": "spam"}',
    );
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new SwitchyardError('E_JSONL_PARSE', `${file}:${line}:1: expected a JSON object, found ${Array.isArray(v) ? 'an array' : JSON.stringify(v)}`, 'each line must be one JSON object with the same keys, e.g. {"text": "...", "label": "spam"}');
  }
  return v as Record<string, unknown>;
}

/**
 * Reads a JSONL file into a {@link Table} (blank lines skipped). Throws `E_FILE_NOT_FOUND`, `E_CSV_EMPTY`
 * (no records), `E_BINARY`, `E_TEXT_ENCODING` (`file:line`), `E_JSONL_DEPTH` (records nested deeper than
 * `maxDepth`, default {@link MAX_JSON_DEPTH}) and `E_JSONL_PARSE` (`file:line:column`).
 *
 * @example
 * const t = await readJsonl('train.jsonl');
 * t.columns; // ['text', 'label']
 */
export async function readJsonl(path: string, opts: { limit?: number; maxDepth?: number } = {}): Promise<Table> {
  checkTextFile(path);
  const limit = opts.limit ?? Infinity;
  const records: Record<string, unknown>[] = [];
  const lines: number[] = [];
  const columns = new Map<string, number>();
  for await (const [line, text] of textLines(path)) {
    if (text.trim() === '') continue;
    const rec = parseJsonLine(text, path, line, opts.maxDepth);
    for (const k of Object.keys(rec)) if (!columns.has(k)) columns.set(k, columns.size);
    records.push(rec);
    lines.push(line);
    if (records.length >= limit) break;
  }
  if (records.length === 0) throw new SwitchyardError('E_CSV_EMPTY', `${path}: the file has no JSON records`, 'check the export that wrote the file');
  const names = [...columns.keys()];
  const rows = records.map((r) => names.map((k) => cell(r[k])));
  return { file: path, columns: names, rows, lines };
}
