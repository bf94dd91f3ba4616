/**
 * Semantic column kinds from SQL aggregates: numeric, categorical, boolean, datetime, free text or
 * identifier — the rules of `src/data/schema.ts` (which training uses) plus dates and a 95% majority rule, so a
 * column with a few stray values keeps its kind and the strays are reported as invalid. User overrides win.
 */
import { SwitchyardError } from '../util/errors.ts';
import { didYouMean, listNames } from '../data/values.ts';
import type { ColumnProfile } from './types.ts';
import { looksLikeIdName } from '../data/schema.ts';

/**
 * A semantic kind, or `ignore` to leave a column out of the audit.
 *
 * @example
 * const k: SemanticKind = 'datetime';
 */
export type SemanticKind = ColumnProfile['kind'] | 'ignore';

/** Share of non-missing values that must fit a kind for it to be inferred despite strays. */
export const MAJORITY = 0.95;

const KINDS: readonly SemanticKind[] = ['numeric', 'categorical', 'boolean', 'datetime', 'text', 'identifier', 'ignore'];

/**
 * Per-column counts the inference reads (all over non-missing cells except `missing`).
 *
 * @example
 * const s: ColumnCounts = { rows: 10, missing: 0, distinct: 10, numeric: 10, integer: 10, boolean: 0, datetime: 0, withSpace: 0, totalLength: 20, min: 1, max: 10 };
 */
export interface ColumnCounts {
  rows: number;
  missing: number;
  distinct: number;
  numeric: number;
  integer: number;
  boolean: number;
  datetime: number;
  withSpace: number;
  totalLength: number;
  min: number;
  max: number;
}

/**
 * The kind of a column from its counts, with a one-line reason.
 *
 * @example
 * inferKind('age', { rows: 100, missing: 0, distinct: 50, numeric: 100, integer: 100, boolean: 0, datetime: 0, withSpace: 0, totalLength: 200, min: 18, max: 90 }).kind; // 'numeric'
 */
export function inferKind(name: string, s: ColumnCounts): { kind: ColumnProfile['kind']; reason: string } {
  const n = s.rows - s.missing;
  if (n === 0) return { kind: 'categorical', reason: 'every value is missing' };
  const unique = s.distinct === n && n >= 2;
  if (s.boolean >= MAJORITY * n && s.distinct <= 2 + (n - s.boolean)) return { kind: 'boolean', reason: `${s.boolean} of ${n} values are boolean words` };
  if (s.numeric >= MAJORITY * n) {
    const consecutive = s.max - s.min + 1 <= 2 * n;
    if (unique && s.missing === 0 && s.integer === n && (looksLikeIdName(name) || (n >= 20 && consecutive))) {
      return { kind: 'identifier', reason: `a distinct integer in every row (${s.min}..${s.max})` };
    }
    return { kind: 'numeric', reason: `${s.numeric} of ${n} values are numbers` };
  }
  if (s.datetime >= MAJORITY * n) return { kind: 'datetime', reason: `${s.datetime} of ${n} values are dates` };
  const avgLength = s.totalLength / n;
  const spaced = s.withSpace > n / 2 && avgLength > 20;
  if (unique && n >= 20) return spaced ? { kind: 'text', reason: `free text, avg ${avgLength.toFixed(0)} chars` } : { kind: 'identifier', reason: 'a distinct value in every row' };
  if (spaced && s.distinct > n / 2) return { kind: 'text', reason: `free text, avg ${avgLength.toFixed(0)} chars` };
  return { kind: 'categorical', reason: `${s.distinct} distinct values` };
}

/**
 * Parses `name=kind` overrides (`--columns a=categorical,b=ignore`) and checks the names exist.
 * Throws `E_USAGE` for a malformed entry and `E_CSV_COLUMN` (with did-you-mean) for an unknown column.
 *
 * @example
 * parseKindOverrides(['zip=categorical'], ['zip', 'age'], 'train.csv'); // { zip: 'categorical' }
 */
export function parseKindOverrides(entries: readonly string[] | Record<string, string>, columns: readonly string[], file: string): Record<string, SemanticKind> {
  const pairs: string[][] = Array.isArray(entries) ? entries.map((e) => e.split('=')) : Object.entries(entries);
  const out: Record<string, SemanticKind> = {};
  for (const [name, kind] of pairs) {
    if (!name || !kind || !KINDS.includes(kind as SemanticKind)) {
      throw new SwitchyardError('E_USAGE', `--columns entry '${name}=${kind ?? ''}' is not name=kind`, `kinds: ${KINDS.join(', ')}`);
    }
    if (!columns.includes(name)) {
      const guess = didYouMean(name, columns);
      throw new SwitchyardError('E_CSV_COLUMN', `${file}: --columns names '${name}', but there is no such column; columns are: ${listNames(columns)}`, guess ? `did you mean '${guess}'?` : 'use a column name from the header row');
    }
    out[name] = kind as SemanticKind;
  }
  return out;
}
