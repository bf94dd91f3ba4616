/**
 * SQL spellings of the cell rules in `src/data/values.ts` (what is missing, a number, a boolean), so DuckDB
 * classifies cells exactly as training does; a test checks both agree token by token. Audit tables are stored
 * normalised: cells trimmed, missing cells NULL, plus a twin table of finite DOUBLEs (NULL for non-numbers).
 */
import { sqlIdent, sqlString } from '../data/readers/index.ts';

/** Lower-cased, trimmed spellings `isMissing` treats as missing (besides SQL NULL). */
export const MISSING_TOKENS = ['', 'na', 'n/a', 'null', 'nan', '?', '-'] as const;
/** Lower-cased, trimmed spellings `parseBoolean` accepts. */
export const BOOLEAN_TOKENS = ['true', 'yes', 'y', 't', '1', 'false', 'no', 'n', 'f', '0'] as const;

const list = (xs: readonly string[]): string => xs.map(sqlString).join(', ');

/**
 * SQL for a raw cell normalised: NULL when `isMissing` would say missing, else the trimmed text.
 *
 * @example
 * normalizeSql('age'); // CASE WHEN length("age") > 6 THEN trim("age") WHEN ... THEN NULL ELSE trim("age") END
 */
export function normalizeSql(name: string): string {
  const c = sqlIdent(name);
  // Longer cells are never missing (as in isMissing); testing the length first spares most cells the lower().
  return `(CASE WHEN length(${c}) > 6 THEN trim(${c}) WHEN lower(trim(${c})) IN (${list(MISSING_TOKENS)}) THEN NULL ELSE trim(${c}) END)`;
}

/**
 * SQL for a normalised cell as a DOUBLE that `parseNumber` would accept (non-finite and non-decimal
 * spellings excluded; DuckDB already rejects `0x..`), NULL otherwise. Used once per split to build the
 * numeric twin table.
 *
 * @example
 * numberSql('age'); // TRY_CAST(CASE WHEN contains("age", '_') THEN NULL ELSE "age" END AS DOUBLE)
 */
export function numberSql(name: string): string {
  const c = sqlIdent(name);
  return `TRY_CAST(CASE WHEN contains(${c}, '_') THEN NULL ELSE ${c} END AS DOUBLE)`;
}

/**
 * SQL that is true when a normalised cell is a boolean word (`true/false, yes/no, y/n, t/f, 1/0`).
 *
 * @example
 * booleanSql('smoker');
 */
export function booleanSql(name: string): string {
  const c = sqlIdent(name);
  return `(length(${c}) <= 5 AND lower(${c}) IN (${list(BOOLEAN_TOKENS)}))`;
}

/**
 * SQL that is true when a normalised cell parses as a date or timestamp.
 *
 * @example
 * datetimeSql('created_at');
 */
export function datetimeSql(name: string): string {
  const c = sqlIdent(name);
  return `(left(${c}, 1) BETWEEN '0' AND '9' AND TRY_CAST(${c} AS TIMESTAMP) IS NOT NULL)`;
}

/**
 * Converts a DuckDB result value (number, bigint, null) to a JS number (`NaN` for null).
 *
 * @example
 * num(3n); // 3
 */
export function num(v: unknown): number {
  if (v === null || v === undefined) return NaN;
  return Number(v);
}
