/**
 * Per-column feature transforms of the tabular encoder: fitting one from training data, its output
 * names and width, and writing its values into a row-major feature matrix.
 */
import { SwitchyardError } from '../util/errors.ts';
import type { Table } from './csv.ts';
import type { ColumnInfo, ColumnRole } from './schema.ts';
import { checkTextFeature, fitTextFeature, makeTextWriter, type TextFeature, type TextFeatureOptions, textFeatureNames } from './text-features.ts';
import { isMissing, parseBoolean, parseNumber } from './values.ts';
import {
  checkImageFeature, fitImageFeature, imageFeatureNames, type ImageFeature, makeImageWriter,
} from './images/feature.ts';

/**
 * Category name for values outside the kept categories (rare, or unseen in training).
 *
 * @example
 * encoder.featureNames.includes(`region=${OTHER}`); // true
 */
export const OTHER = '__other__';
/**
 * Category name for missing values of a categorical column.
 *
 * @example
 * encoder.featureNames.includes(`region=${MISSING}`); // when training had missing regions
 */
export const MISSING = '__missing__';

/**
 * A standardised numeric column; missing → 0, plus a 0/1 `name__missing` feature when `missingIndicator`.
 *
 * @example
 * const f: NumericFeature = { kind: 'numeric', column: 'age', mean: 41, std: 12, missingIndicator: true };
 */
export interface NumericFeature {
  kind: 'numeric';
  column: string;
  mean: number;
  std: number;
  missingIndicator: boolean;
}

/**
 * A one-hot categorical column: `categories`, then `__other__`, then `__missing__` when `missingBucket`.
 *
 * @example
 * const f: CategoricalFeature = { kind: 'categorical', column: 'region', categories: ['north', 'south'], missingBucket: false };
 */
export interface CategoricalFeature {
  kind: 'categorical';
  column: string;
  categories: string[];
  missingBucket: boolean;
}

/**
 * A 0/1 boolean column; missing → 0, plus a `name__missing` feature when `missingIndicator`.
 *
 * @example
 * const f: BooleanFeature = { kind: 'boolean', column: 'has_card', missingIndicator: false };
 */
export interface BooleanFeature {
  kind: 'boolean';
  column: string;
  missingIndicator: boolean;
}

/**
 * One fitted input-column transform (JSON-serialisable).
 *
 * @example
 * for (const f of encoder.specs) if (f.kind === 'numeric') console.log(f.column, f.mean, f.std);
 */
export type FeatureSpec = NumericFeature | CategoricalFeature | BooleanFeature | TextFeature | ImageFeature;

/**
 * A column the encoder does not use, and why.
 *
 * @example
 * encoder.dropped; // [{ column: 'customer_id', kind: 'identifier', reason: 'identifier column (...)' }]
 */
export interface DroppedColumn {
  column: string;
  kind: ColumnRole;
  reason: string;
}

/**
 * Options for fitting categorical features.
 *
 * @example
 * fitTabularEncoder(table, schema, 'label', 'auto', { maxCategories: 20, minCount: 5 });
 */
export interface CategoricalOptions {
  /** Keep at most this many most frequent categories (default 50); the rest map to `__other__`. */
  maxCategories?: number;
  /** Keep only categories seen at least this many times (default 1). */
  minCount?: number;
}

/**
 * Options for fitting features: categorical limits and text hashing.
 *
 * @example
 * const o: FeatureOptions = { maxCategories: 20, textBuckets: 2048 };
 */
export type FeatureOptions = CategoricalOptions & TextFeatureOptions;

/**
 * Fits the transform of one numeric, categorical, boolean, text or image column on training rows.
 *
 * @example
 * const f = fitFeature(table, schema.columns[0]); // { kind: 'numeric', column: 'age', mean: 41.2, std: 11.9, ... }
 */
export function fitFeature(table: Table, col: ColumnInfo, opts: FeatureOptions = {}): FeatureSpec {
  const rows = table.rows;
  const j = col.index;
  if (col.kind === 'text') return fitTextFeature(table, col, opts);
  if (col.kind === 'image') return fitImageFeature(table, col);
  if (col.kind === 'numeric') {
    let n = 0;
    let sum = 0;
    let missing = 0;
    for (let r = 0; r < rows.length; r++) {
      const cell = rows[r][j];
      if (isMissing(cell)) {
        missing++;
        continue;
      }
      const v = numberOrThrow(table.file, table.lines[r], col.name, j, cell);
      sum += v;
      n++;
    }
    const mean = n > 0 ? sum / n : 0;
    let ss = 0;
    for (let r = 0; r < rows.length; r++) {
      const cell = rows[r][j];
      if (!isMissing(cell)) ss += (parseNumber(cell) - mean) ** 2;
    }
    const std = n > 0 ? Math.sqrt(ss / n) : 0;
    return { kind: 'numeric', column: col.name, mean, std: std > 1e-12 ? std : 1, missingIndicator: missing > 0 };
  }
  if (col.kind === 'boolean') {
    let missing = 0;
    for (let r = 0; r < rows.length; r++) {
      const cell = rows[r][j];
      if (isMissing(cell)) missing++;
      else booleanOrThrow(table.file, table.lines[r], col.name, j, cell);
    }
    return { kind: 'boolean', column: col.name, missingIndicator: missing > 0 };
  }
  if (col.kind === 'categorical') {
    const counts = new Map<string, number>();
    let missing = 0;
    for (let r = 0; r < rows.length; r++) {
      const cell = rows[r][j];
      if (isMissing(cell)) {
        missing++;
        continue;
      }
      const v = cell.trim();
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const minCount = opts.minCount ?? 1;
    const categories = [...counts.entries()]
      .filter(([, c]) => c >= minCount)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, opts.maxCategories ?? 50)
      .map(([v]) => v);
    return { kind: 'categorical', column: col.name, categories, missingBucket: missing > 0 };
  }
  throw new SwitchyardError('E_INTERNAL', `column '${col.name}': cannot make a feature of kind '${col.kind}'`, '', 1);
}

/**
 * Output feature names of a transform: `age`, `age__missing`, `color=red`, `color=__other__`, ...
 *
 * @example
 * featureNames({ kind: 'categorical', column: 'c', categories: ['a'], missingBucket: false }); // ['c=a', 'c=__other__']
 */
export function featureNames(spec: FeatureSpec): string[] {
  if (spec.kind === 'text') return textFeatureNames(spec);
  if (spec.kind === 'image') return imageFeatureNames(spec);
  if (spec.kind === 'categorical') {
    const names = [...spec.categories, OTHER].map((v) => `${spec.column}=${v}`);
    if (spec.missingBucket) names.push(`${spec.column}=${MISSING}`);
    return names;
  }
  return spec.missingIndicator ? [spec.column, `${spec.column}__missing`] : [spec.column];
}

/**
 * Writes the features of `spec` for every row of `table` (column `j`) into the row-major matrix `x`
 * (`stride` features per row) starting at feature `offset`. Throws `E_CSV_VALUE` for a non-number in a
 * numeric column or a non-boolean in a boolean column.
 *
 * @example
 * const enc = makeFeatureWriter(spec);
 * enc(table, 3, x, 0, 12);
 */
export function makeFeatureWriter(spec: FeatureSpec): (table: Table, j: number, x: Float32Array, offset: number, stride: number) => void {
  if (spec.kind === 'text') return makeTextWriter(spec);
  if (spec.kind === 'image') return makeImageWriter(spec);
  if (spec.kind === 'numeric') {
    const { mean, std, missingIndicator } = spec;
    return (table, j, x, offset, stride) => {
      const rows = table.rows;
      for (let r = 0, o = offset; r < rows.length; r++, o += stride) {
        const cell = rows[r][j];
        if (isMissing(cell)) {
          x[o] = 0;
          if (missingIndicator) x[o + 1] = 1;
        } else {
          x[o] = (numberOrThrow(table.file, table.lines[r], spec.column, j, cell) - mean) / std;
          if (missingIndicator) x[o + 1] = 0;
        }
      }
    };
  }
  if (spec.kind === 'boolean') {
    const { missingIndicator } = spec;
    return (table, j, x, offset, stride) => {
      const rows = table.rows;
      for (let r = 0, o = offset; r < rows.length; r++, o += stride) {
        const cell = rows[r][j];
        const miss = isMissing(cell);
        x[o] = miss ? 0 : booleanOrThrow(table.file, table.lines[r], spec.column, j, cell);
        if (missingIndicator) x[o + 1] = miss ? 1 : 0;
      }
    };
  }
  const lookup = new Map(spec.categories.map((v, i) => [v, i]));
  const other = spec.categories.length;
  const width = other + 1 + (spec.missingBucket ? 1 : 0);
  const missingSlot = spec.missingBucket ? other + 1 : other;
  return (table, j, x, offset, stride) => {
    const rows = table.rows;
    for (let r = 0, o = offset; r < rows.length; r++, o += stride) {
      x.fill(0, o, o + width);
      const cell = rows[r][j];
      x[o + (isMissing(cell) ? missingSlot : (lookup.get(cell.trim()) ?? other))] = 1;
    }
  };
}

/** Parses a numeric cell or throws `E_CSV_VALUE` at `file:line:field`. */
function numberOrThrow(file: string, line: number, column: string, j: number, cell: string): number {
  const v = parseNumber(cell);
  if (Number.isNaN(v)) {
    throw new SwitchyardError(
      'E_CSV_VALUE',
      `${file}:${line}:${j + 1}: column '${column}': '${cell}' is not a number`,
      `'${column}' is numeric: fix the value, or leave the cell empty (or NA) to mark it missing`,
    );
  }
  return v;
}

function booleanOrThrow(file: string, line: number, column: string, j: number, cell: string): 0 | 1 {
  const b = parseBoolean(cell);
  if (b < 0) {
    throw new SwitchyardError(
      'E_CSV_VALUE',
      `${file}:${line}:${j + 1}: column '${column}': '${cell}' is not a boolean (true/false, yes/no, 1/0)`,
      `'${column}' is boolean: fix the value, or leave the cell empty to mark it missing`,
    );
  }
  return b as 0 | 1;
}

/**
 * Checks that a parsed JSON value is a valid {@link FeatureSpec}; throws `E_ENCODER_FORMAT` otherwise.
 *
 * @example
 * checkFeatureSpec({ kind: 'boolean', column: 'member', missingIndicator: false }, 0);
 */
export function checkFeatureSpec(f: unknown, i: number): FeatureSpec {
  const bad = (what: string): never => {
    throw new SwitchyardError('E_ENCODER_FORMAT', `tabular encoder: features[${i}]: ${what}`, 'the encoder JSON is damaged or from another version; refit it');
  };
  if (typeof f !== 'object' || f === null) return bad('not an object');
  const o = f as Record<string, unknown>;
  if (typeof o.column !== 'string') return bad('missing column name');
  if (o.kind === 'numeric') {
    if (typeof o.mean !== 'number' || typeof o.std !== 'number' || !(o.std > 0)) return bad('mean/std must be numbers, std > 0');
    if (typeof o.missingIndicator !== 'boolean') return bad('missingIndicator must be a boolean');
  } else if (o.kind === 'boolean') {
    if (typeof o.missingIndicator !== 'boolean') return bad('missingIndicator must be a boolean');
  } else if (o.kind === 'categorical') {
    if (!Array.isArray(o.categories) || !o.categories.every((c) => typeof c === 'string')) return bad('categories must be strings');
    if (typeof o.missingBucket !== 'boolean') return bad('missingBucket must be a boolean');
  } else if (o.kind === 'text') {
    checkTextFeature(o, bad);
  } else if (o.kind === 'image') {
    checkImageFeature(o, bad);
  } else {
    return bad(`unknown kind '${String(o.kind)}'`);
  }
  return o as unknown as FeatureSpec;
}
