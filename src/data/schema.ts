/**
 * Column kind inference for a parsed {@link Table}: numeric, categorical, boolean, free text or identifier,
 * with missing-value counts, user overrides, and `--target` resolution.
 */
import { SwitchyardError } from '../util/errors.ts';
import type { Table } from './csv.ts';
import { IMAGE_COLUMN, isImageTable } from './images/folder.ts';
import { didYouMean, isMissing, listNames, parseBoolean, parseNumber } from './values.ts';

/**
 * What a column holds. `identifier` columns are not used as model features; `text` columns become hashed
 * TF-IDF features (src/data/text-features.ts); `image` is the image column of a folder of images or a built-in
 * image dataset (src/data/images/), never inferred for a table read from text.
 *
 * @example
 * const k: ColumnKind = 'categorical';
 */
export type ColumnKind = 'numeric' | 'categorical' | 'boolean' | 'text' | 'identifier' | 'image';

/**
 * A column kind, or `ignore` to leave the column out entirely.
 *
 * @example
 * inferSchema(table, { notes: 'ignore' satisfies ColumnRole });
 */
export type ColumnRole = ColumnKind | 'ignore';

/**
 * Inferred facts about one column.
 *
 * @example
 * schema.columns[1]; // { name: 'age', index: 1, kind: 'numeric', source: 'inferred', missing: 3, distinct: 60, reason: '...' }
 */
export interface ColumnInfo {
  /** Header name. */
  name: string;
  /** 0-based field index in the table. */
  index: number;
  /** The kind used downstream. */
  kind: ColumnRole;
  /** Whether `kind` came from inference or from an override. */
  source: 'inferred' | 'override';
  /** Number of missing cells (empty, NA, N/A, null, NaN, ?, -). */
  missing: number;
  /** Number of distinct non-missing values (trimmed), counted up to {@link DISTINCT_CAP}. */
  distinct: number;
  /** One line explaining the kind, for reports (e.g. `all 2940 non-missing values are numbers`). */
  reason: string;
}

/**
 * The schema of a table: one {@link ColumnInfo} per column, in table order.
 *
 * @example
 * const { file, rows, columns } = inferSchema(table);
 */
export interface Schema {
  /** Source file (for error messages). */
  file: string;
  /** Number of data rows the schema was inferred from. */
  rows: number;
  /** Per-column facts. */
  columns: ColumnInfo[];
}

const KINDS: readonly ColumnRole[] = ['numeric', 'categorical', 'boolean', 'text', 'identifier', 'ignore'];

/**
 * Share of non-missing numeric cells at or above which stray non-numbers are reported as errors.
 *
 * @example
 * // 999 numbers and one 'abc' (99.9% >= 95%): inferSchema throws E_CSV_VALUE at the 'abc' cell
 */
export const NUMERIC_GARBAGE_THRESHOLD = 0.95;

/**
 * Distinct values are counted exactly up to this many per column; beyond it, only the first rows are checked.
 *
 * @example
 * schema.columns[0].distinct <= DISTINCT_CAP; // true
 */
export const DISTINCT_CAP = 65536;

const ID_WORDS = new Set(['id', 'uuid', 'guid', 'key', 'index', 'idx']);

/**
 * True for names like `id`, `customer_id`, `rowIndex`, `UUID`: one of the name's words says identifier.
 *
 * @example
 * looksLikeIdName('customerId'); // true
 */
export function looksLikeIdName(name: string): boolean {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/);
  return words.some((w) => ID_WORDS.has(w));
}

interface Stats {
  missing: number;
  nonMissing: number;
  numeric: number;
  integer: number;
  boolean: number;
  firstNonNumeric: number;
  firstNonBoolean: number;
  min: number;
  max: number;
  totalLength: number;
  withSpace: number;
  values: Set<string>;
  /** Distinct values stopped being tracked at DISTINCT_CAP. */
  capped: boolean;
  /** Every non-missing value seen while tracking was distinct. */
  allDistinct: boolean;
}

function columnStats(table: Table, j: number): Stats {
  const st: Stats = {
    missing: 0, nonMissing: 0, numeric: 0, integer: 0, boolean: 0, firstNonNumeric: -1, firstNonBoolean: -1,
    min: Infinity, max: -Infinity, totalLength: 0, withSpace: 0, values: new Set(),
    capped: false, allDistinct: true,
  };
  const rows = table.rows;
  for (let r = 0; r < rows.length; r++) {
    const raw = rows[r][j];
    if (isMissing(raw)) {
      st.missing++;
      continue;
    }
    const cell = raw.trim();
    st.nonMissing++;
    if (!st.capped) {
      const before = st.values.size;
      st.values.add(cell);
      if (st.values.size === before) st.allDistinct = false;
      else if (st.values.size >= DISTINCT_CAP) st.capped = true;
    }
    st.totalLength += cell.length;
    if (cell.includes(' ')) st.withSpace++;
    const v = parseNumber(cell);
    if (Number.isNaN(v)) {
      if (st.firstNonNumeric < 0) st.firstNonNumeric = r;
    } else {
      st.numeric++;
      if (Number.isInteger(v)) st.integer++;
      if (v < st.min) st.min = v;
      if (v > st.max) st.max = v;
    }
    if (parseBoolean(cell) >= 0) st.boolean++;
    else if (st.firstNonBoolean < 0) st.firstNonBoolean = r;
  }
  return st;
}

function badCell(table: Table, name: string, j: number, r: number, what: string, hint: string): SwitchyardError {
  return new SwitchyardError(
    'E_CSV_VALUE',
    `${table.file}:${table.lines[r]}:${j + 1}: column '${name}': '${table.rows[r][j]}' is not ${what}`,
    hint,
  );
}

function inferKind(name: string, st: Stats): { kind: ColumnRole; reason: string } {
  const n = st.nonMissing;
  const distinct = st.values.size;
  const unique = st.allDistinct && n >= 2; // a distinct value in every row (or every row of the first DISTINCT_CAP)
  const many = st.capped ? `${DISTINCT_CAP}+` : String(distinct);
  if (n === 0) return { kind: 'ignore', reason: 'every value is missing' };
  if (st.boolean === n) return { kind: 'boolean', reason: `values are ${[...st.values].sort().join('/')}` };
  const numericOnly = st.numeric === n;
  if (numericOnly) {
    const consecutive = st.max - st.min + 1 <= 2 * n;
    if (unique && st.missing === 0 && st.integer === n && (looksLikeIdName(name) || (n >= 20 && consecutive))) {
      return { kind: 'identifier', reason: `a distinct integer in every row (${st.min}..${st.max})` };
    }
    return { kind: 'numeric', reason: `all ${n} non-missing values are numbers` };
  }
  const avgLength = st.totalLength / n;
  if (n >= 20 && unique) {
    if (st.withSpace > n / 2 && avgLength > 20) return { kind: 'text', reason: `free text, avg ${avgLength.toFixed(0)} chars, all distinct` };
    return { kind: 'identifier', reason: `a distinct value in every row` };
  }
  if (st.withSpace > n / 2 && (st.capped || distinct > n / 2) && avgLength > 20) {
    return { kind: 'text', reason: `free text, avg ${avgLength.toFixed(0)} chars, ${many} distinct` };
  }
  return { kind: 'categorical', reason: `${many} distinct values` };
}

/**
 * Infers the kind of every column and counts missing values. `overrides` fixes the kind of named columns
 * (`'ignore'` drops one). A column whose non-missing cells are at least 95% numbers but not all is an
 * error (`E_CSV_VALUE` naming `file:line:field` of the first non-number) rather than silently categorical;
 * so is a non-number in a column overridden to `numeric`, or a non-boolean in one overridden to `boolean`.
 * Unknown override names throw `E_CSV_COLUMN`.
 *
 * @example
 * const schema = inferSchema(table, { zip: 'categorical', notes: 'ignore' });
 * schema.columns.map((c) => `${c.name}:${c.kind}`); // ['age:numeric', 'zip:categorical', ...]
 */
export function inferSchema(table: Table, overrides: Record<string, ColumnRole> = {}): Schema {
  for (const [name, kind] of Object.entries(overrides)) {
    if (!table.columns.includes(name)) {
      const guess = didYouMean(name, table.columns);
      throw new SwitchyardError(
        'E_CSV_COLUMN',
        `${table.file}: override for '${name}', but there is no such column; columns are: ${listNames(table.columns)}`,
        guess ? `did you mean '${guess}'?` : 'use one of the column names from the header row',
      );
    }
    if (!KINDS.includes(kind)) {
      throw new SwitchyardError('E_SCHEMA_KIND', `${table.file}: column '${name}': unknown kind '${kind}'`, `use one of: ${KINDS.join(', ')}`);
    }
  }
  const columns = table.columns.map((name, j): ColumnInfo => {
    const st = columnStats(table, j);
    const base = { name, index: j, missing: st.missing, distinct: st.values.size };
    const forced = overrides[name];
    if (forced !== undefined) {
      if (forced === 'numeric' && st.firstNonNumeric >= 0) {
        throw badCell(table, name, j, st.firstNonNumeric, 'a number', `column '${name}' is marked numeric: fix the value, or leave the cell empty (or NA) to mark it missing`);
      }
      if (forced === 'boolean' && st.firstNonBoolean >= 0) {
        throw badCell(table, name, j, st.firstNonBoolean, 'a boolean (true/false, yes/no, 1/0)', `column '${name}' is marked boolean: fix the value, or mark the column categorical`);
      }
      return { ...base, kind: forced, source: 'override', reason: 'set by override' };
    }
    if (isImageTable(table) && name === IMAGE_COLUMN) {
      return { ...base, kind: 'image', source: 'inferred', reason: `${table.images.length} decoded images` };
    }
    if (st.numeric < st.nonMissing && st.numeric >= NUMERIC_GARBAGE_THRESHOLD * st.nonMissing) {
      const bad = st.nonMissing - st.numeric;
      throw badCell(
        table, name, j, st.firstNonNumeric,
        `a number (${st.numeric} of ${st.nonMissing} values in this column are numbers, ${bad} are not)`,
        `fix the value (or leave it empty / NA to mark it missing), or mark '${name}' categorical with a schema override`,
      );
    }
    return { ...base, ...inferKind(name, st), source: 'inferred' };
  });
  return { file: table.file, rows: table.rows.length, columns };
}

/**
 * Finds the target column by exact name. Throws `E_TARGET_MISSING` listing the columns, with a
 * did-you-mean hint for a near miss (case or small edit distance).
 *
 * @example
 * resolveTarget(schema, 'label');  // the ColumnInfo of 'label'
 * resolveTarget(schema, 'lable');  // throws: "train.csv: no column named 'lable'; columns are: a, b, label"
 */
export function resolveTarget(schema: Schema, name: string): ColumnInfo {
  const col = schema.columns.find((c) => c.name === name);
  if (col) return col;
  const names = schema.columns.map((c) => c.name);
  const guess = didYouMean(name, names);
  throw new SwitchyardError(
    'E_TARGET_MISSING',
    `${schema.file}: no column named '${name}'; columns are: ${listNames(names)}`,
    guess ? `did you mean '${guess}'? (--target ${guess})` : 'pass --target with one of the column names',
  );
}
