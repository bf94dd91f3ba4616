/**
 * JSON Lines (one JSON object per line) into a {@link Table}: columns are the union of keys in first-seen
 * order, strings stay as they are, numbers and booleans become their text, `null` and absent keys become
 * empty (missing) cells, nested values become their JSON text. Errors name `file:line:column`.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { SwitchyardError } from '../../util/errors.ts';
import type { Table } from '../csv.ts';
import { checkTextFile } from './format.ts';

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
 * Parses one line of JSONL into a record, or throws `E_JSONL_PARSE` naming `file:line:column`.
 *
 * @example
 * parseJsonLine('{"a": 1}', 'x.jsonl', 3); // { a: 1 }
 */
export function parseJsonLine(text: string, file: string, line: number): Record<string, unknown> {
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
 * (no records), `E_BINARY` and `E_JSONL_PARSE` (`file:line:column`).
 *
 * @example
 * const t = await readJsonl('train.jsonl');
 * t.columns; // ['text', 'label']
 */
export async function readJsonl(path: string, opts: { limit?: number } = {}): Promise<Table> {
  checkTextFile(path);
  const limit = opts.limit ?? Infinity;
  const records: Record<string, unknown>[] = [];
  const lines: number[] = [];
  const columns = new Map<string, number>();
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const raw of rl) {
    line++;
    const text = line === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    if (text.trim() === '') continue;
    const rec = parseJsonLine(text, path, line);
    for (const k of Object.keys(rec)) if (!columns.has(k)) columns.set(k, columns.size);
    records.push(rec);
    lines.push(line);
    if (records.length >= limit) break;
  }
  rl.close();
  if (records.length === 0) throw new SwitchyardError('E_CSV_EMPTY', `${path}: the file has no JSON records`, 'check the export that wrote the file');
  const names = [...columns.keys()];
  const rows = records.map((r) => names.map((k) => cell(r[k])));
  return { file: path, columns: names, rows, lines };
}
