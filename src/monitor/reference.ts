/**
 * The training reference that live traffic is compared against: the reference file's columns typed by the
 * served model's input schema (number → numeric; category and boolean → categorical) or, for columns the
 * model does not take, by schema inference (text columns get embedding drift; identifiers are skipped), plus
 * the model's own predictions on the reference rows (for prediction drift) when a model is at hand.
 */
import type { Table } from '../data/csv.ts';
import { readTable } from '../data/readers/index.ts';
import { inferSchema } from '../data/schema.ts';
import { isMissing, parseBoolean, parseNumber } from '../data/values.ts';
import type { ServedModel } from '../serve/model-runner.ts';
import type { InputField } from '../serve/schema.ts';
import type { ColumnType } from './drift.ts';

/**
 * One reference column.
 *
 * @example
 * const c: ReferenceColumn = { name: 'age', type: 'numeric', boolean: false, values: [41, 37] };
 */
export interface ReferenceColumn {
  name: string;
  type: ColumnType;
  /** A boolean column (values normalised to 'true' / 'false'). */
  boolean: boolean;
  values: (number | string)[];
}

/**
 * A loaded reference.
 *
 * @example
 * const ref = await loadReference('train.csv', { fields: model.schema?.fields, target: 'label' });
 * ref.columns.map((c) => `${c.name}:${c.type}`);
 */
export interface Reference {
  source: string;
  rows: number;
  columns: ReferenceColumn[];
  target?: string;
  /** The model's predicted labels (or values) on the reference rows, or the target column when no model ran. */
  predictions?: { from: 'model' | 'target'; values: (string | number)[] };
}

/**
 * A live (JSON) or reference (text) value as the drift tests see it: a finite number for numeric columns,
 * 'true'/'false' for booleans, trimmed text otherwise; `null` for missing.
 *
 * @example
 * normaliseValue({ type: 'categorical', boolean: true }, 1); // 'true'
 */
export function normaliseValue(col: Pick<ReferenceColumn, 'type' | 'boolean'>, v: unknown): number | string | null {
  if (v === null || v === undefined) return null;
  if (col.type === 'numeric') {
    const n = typeof v === 'number' ? v : typeof v === 'string' && !isMissing(v) ? parseNumber(v) : NaN;
    return Number.isFinite(n) ? n : null;
  }
  if (col.boolean) {
    const b = typeof v === 'boolean' ? Number(v) : parseBoolean(String(v));
    return b === 1 ? 'true' : b === 0 ? 'false' : null;
  }
  const s = String(v).trim();
  return typeof v === 'string' && isMissing(s) ? null : s;
}

/**
 * Types and extracts the reference columns of `table`.
 *
 * @example
 * const ref = referenceFromTable(await readTable('train.csv'), { target: 'label' });
 */
export function referenceFromTable(table: Table, o: { fields?: readonly InputField[]; target?: string } = {}): Reference {
  const schema = inferSchema(table);
  const byField = new Map((o.fields ?? []).map((f) => [f.name, f]));
  const columns: ReferenceColumn[] = [];
  for (const c of schema.columns) {
    if (c.name === o.target) continue;
    const f = byField.get(c.name);
    // An image field's cells are file names here and base64 files in requests: no distribution to compare.
    if (f?.type === 'image') continue;
    let type: ColumnType | null = null;
    let boolean = false;
    if (f) {
      type = f.type === 'number' ? 'numeric' : (f.type as string) === 'text' ? 'text' : 'categorical';
      boolean = f.type === 'boolean';
    } else if (c.kind === 'text') type = 'text';
    else if (!o.fields?.length && (c.kind === 'numeric' || c.kind === 'categorical' || c.kind === 'boolean')) {
      type = c.kind === 'numeric' ? 'numeric' : 'categorical';
      boolean = c.kind === 'boolean';
    }
    if (!type) continue;
    const col: ReferenceColumn = { name: c.name, type, boolean, values: [] };
    for (const row of table.rows) {
      const v = normaliseValue(col, row[c.index]);
      if (v !== null) col.values.push(v);
    }
    columns.push(col);
  }
  const ti = o.target ? table.columns.indexOf(o.target) : -1;
  const predictions = ti >= 0 ? { from: 'target' as const, values: table.rows.map((r) => r[ti].trim()).filter((v) => !isMissing(v)) } : undefined;
  return { source: table.file, rows: table.rows.length, columns, ...(o.target ? { target: o.target } : {}), ...(predictions ? { predictions } : {}) };
}

/**
 * Reads a reference file (any format `readTable` reads) and types it.
 *
 * @example
 * const ref = await loadReference('data/train.parquet', { fields: model.schema?.fields, target: 'label' });
 */
export async function loadReference(path: string, o: { fields?: readonly InputField[]; target?: string; model?: ServedModel } = {}): Promise<Reference> {
  const table = await readTable(path);
  const ref = referenceFromTable(table, o);
  if (o.model) {
    const values = await predictTable(o.model, table);
    if (values) ref.predictions = { from: 'model', values };
  }
  return ref;
}

/**
 * The model's predictions on a table's rows (at most `limit`), as JSON rows of its schema fields; `null`
 * when the model has no object schema or rejects the rows.
 *
 * @example
 * const labels = await predictTable(model, table);
 */
export async function predictTable(model: ServedModel, table: Table, limit = 5000): Promise<(string | number)[] | null> {
  const fields = model.schema?.kind === 'object' ? model.schema.fields : null;
  if (!fields?.length || model.task === 'generation') return null;
  const idx = fields.map((f) => table.columns.indexOf(f.name));
  if (idx.some((i) => i < 0)) return null;
  const cols = fields.map((f) => ({ type: (f.type === 'number' ? 'numeric' : 'categorical') as ColumnType, boolean: f.type === 'boolean' }));
  const rows = table.rows.slice(0, limit).map((r) => Object.fromEntries(fields.map((f, k) => {
    const v = normaliseValue(cols[k], r[idx[k]]);
    return [f.name, cols[k].boolean && v !== null ? v === 'true' : v];
  })));
  const out: (string | number)[] = [];
  try {
    for (let s = 0; s < rows.length; s += 256) out.push(...(await model.predict({ rows: rows.slice(s, s + 256) })).predictions);
  } catch {
    return null;
  }
  return out;
}
