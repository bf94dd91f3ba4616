/**
 * The request schema of a served model: which fields a JSON row must carry and of which type, derived from
 * the model (a Switchyard tabular encoder, or a plain `[N, F]` float input). Rows are checked here, at the
 * edge, so the encoder and ONNX Runtime only ever see well-formed data; a bad row is a 400 that names the
 * row and the field.
 */
import type { Table } from '../data/csv.ts';
import type { TabularEncoder } from '../data/tabular.ts';
import { decodeImage, type Image, MAX_IMAGE_PIXELS } from '../data/images/image.ts';
import { didYouMean, listNames } from '../data/values.ts';
import { SwitchyardError } from '../util/errors.ts';

/**
 * One input field of a row.
 *
 * @example
 * const f: InputField = { name: 'age', type: 'number' };
 */
export interface InputField {
  name: string;
  /**
   * `number`: a JSON number; `category`: a string (or number, taken as its text); `boolean`: true/false (or 0/1);
   * `text`: a string of free text; `image`: a PNG or JPEG file as a base64 string (or a `data:image/...;base64,` URL).
   */
  type: 'number' | 'category' | 'boolean' | 'text' | 'image';
  /** Categories seen in training (others map to the encoder's `__other__` bucket). */
  categories?: string[];
  /** Numbers: the encoder's standardisation; `(v - mean) / std` must fit a 32-bit float. */
  standardise?: { mean: number; std: number };
}

/** The largest finite 32-bit float: model inputs are float32, so anything larger would become Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * What to do with a field the model does not know. Columns the model was trained without on purpose
 * (identifiers, text, the target) are always accepted and ignored.
 *
 * @example
 * const policy: UnknownFieldPolicy = 'reject';
 */
export type UnknownFieldPolicy = 'reject' | 'ignore';

/**
 * The input schema of a served model.
 *
 * @example
 * const s = schemaFromEncoder(enc, 'reject');
 * s.fields.map((f) => f.name); // ['age', 'region', 'member']
 */
export interface InputSchema {
  /** `object`: rows are JSON objects keyed by field name; `vector`: rows are arrays of `width` numbers (objects keyed by `fields` also accepted when names are known). */
  kind: 'object' | 'vector';
  fields: InputField[];
  /** Names accepted and ignored (columns the model dropped in training, its target). */
  ignored: string[];
  unknownFields: UnknownFieldPolicy;
  /** Encoded features per row (the model's input width). */
  width: number;
  /** Pixels (width x height) of one image field at most, checked from the file header before decoding. */
  maxImagePixels?: number;
}

/**
 * The schema of a Switchyard tabular model: one field per encoder input column (an image column takes PNG or
 * JPEG files as base64 strings, each of at most `maxImagePixels` pixels, default 4096 x 4096).
 *
 * @example
 * const schema = schemaFromEncoder(TabularEncoder.fromJSON(cfg.encoder));
 */
export function schemaFromEncoder(
  enc: TabularEncoder, unknownFields: UnknownFieldPolicy = 'reject', maxImagePixels = MAX_IMAGE_PIXELS,
): InputSchema {
  const fields: InputField[] = enc.specs.map((s) =>
    s.kind === 'numeric'
      ? { name: s.column, type: 'number', standardise: { mean: s.mean, std: s.std } }
      : s.kind === 'boolean' || s.kind === 'text' || s.kind === 'image'
        ? { name: s.column, type: s.kind }
        : { name: s.column, type: 'category', categories: [...(s as { categories: string[] }).categories] },
  );
  const ignored = [...enc.dropped.map((d) => d.column), enc.target.column];
  return { kind: 'object', fields, ignored, unknownFields, width: enc.numFeatures, maxImagePixels };
}

/**
 * The schema of a plain ONNX model with one float `[N, width]` input; `names` (e.g. from model metadata)
 * also allow object rows.
 *
 * @example
 * const schema = vectorSchema(4, ['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
 */
export function vectorSchema(width: number, names?: readonly string[], unknownFields: UnknownFieldPolicy = 'reject'): InputSchema {
  const fields: InputField[] = (names ?? []).map((name) => ({ name, type: 'number' }));
  return { kind: 'vector', fields, ignored: [], unknownFields, width };
}

function badRow(message: string, hint: string): SwitchyardError {
  return new SwitchyardError('E_BAD_ROW', message, hint);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** The cell text of one JSON value, checked against its field (`''` = missing). */
function cellOf(v: unknown, f: InputField, at: string): string {
  if (v === null) return '';
  if (f.type === 'number') {
    if (typeof v === 'number' && Number.isFinite(v)) return checkFloat32(v, f, at), String(v);
    throw badRow(`${at}: expected a number, got ${describe(v)}`, `'${f.name}' is numeric: send a JSON number, or null for a missing value`);
  }
  if (f.type === 'boolean') {
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (v === 0 || v === 1) return String(v);
    throw badRow(`${at}: expected true or false, got ${describe(v)}`, `'${f.name}' is boolean: send true/false (or 0/1), or null for a missing value`);
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (f.type === 'text') throw badRow(`${at}: expected text (a string), got ${describe(v)}`, `'${f.name}' is a text field: send a string, or null for a missing value`);
  const known = f.categories?.length ? `; known values: ${listNames(f.categories)}` : '';
  throw badRow(`${at}: expected a category (string), got ${describe(v)}`, `'${f.name}' is categorical: send a string${known}, or null for a missing value`);
}

/** Throws `E_BAD_ROW` when `v` (standardised, for an encoder's field) overflows a 32-bit float. */
function checkFloat32(v: number, f: InputField, at: string): void {
  const encoded = f.standardise ? (v - f.standardise.mean) / f.standardise.std : v;
  if (Math.abs(encoded) <= FLOAT32_MAX) return;
  const bound = (f.standardise ? FLOAT32_MAX * f.standardise.std : FLOAT32_MAX).toPrecision(3);
  const what = `${at}: ${v} is out of range: the model computes in 32-bit floats, where it would be infinite`;
  throw badRow(what, `send a value of magnitude below ${f.standardise ? 'about ' : ''}${bound}`);
}

function checkRowsArray(body: unknown): unknown[] {
  const rows = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as { rows?: unknown }).rows : undefined;
  if (!Array.isArray(rows)) throw badRow(`the request body must be a JSON object with a "rows" array, got ${describe(rows === undefined ? body : rows)}`, 'send { "rows": [ { ...field: value } ] }');
  if (rows.length === 0) throw badRow('"rows" is empty', 'send at least one row');
  return rows;
}

/**
 * Checks a predict request body against the schema and returns the rows as a {@link Table} of cell
 * strings (object schemas, ready for the tabular encoder) or a row-major feature matrix (vector schemas).
 * Throws `E_BAD_ROW` naming the row and field for a wrong type, a missing or an unknown field.
 *
 * @example
 * const { table } = checkRows(schema, { rows: [{ age: 41, region: 'north', member: true }] });
 */
export function checkRows(schema: InputSchema, body: unknown): { rows: number; table?: Table; x?: Float32Array } {
  const rows = checkRowsArray(body);
  if (schema.kind === 'vector' && (schema.fields.length === 0 || Array.isArray(rows[0]))) return { rows: rows.length, x: vectorRows(schema, rows) };
  const names = schema.fields.map((f) => f.name);
  const known = new Set([...names, ...schema.ignored]);
  const cells: string[][] = new Array(rows.length);
  const images: Image[] = [];
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw badRow(`rows[${r}]: expected an object of fields, got ${describe(row)}`, `fields are: ${listNames(names)}`);
    }
    const o = row as Record<string, unknown>;
    const out: string[] = new Array(schema.fields.length);
    for (let k = 0; k < schema.fields.length; k++) {
      const f = schema.fields[k];
      const v = o[f.name];
      if (v === undefined) throw badRow(`rows[${r}]: field '${f.name}' is missing`, `send every field (${listNames(names)}); use null for a missing value`);
      if (f.type === 'image') {
        images.push(imageOf(v, `rows[${r}].${f.name}`, schema.maxImagePixels));
        out[k] = `rows[${r}]`;
      } else out[k] = cellOf(v, f, `rows[${r}].${f.name}`);
    }
    if (schema.unknownFields === 'reject') {
      for (const key of Object.keys(o)) {
        if (known.has(key)) continue;
        const guess = didYouMean(key, names);
        throw badRow(`rows[${r}]: unknown field '${key}'`, guess ? `did you mean '${guess}'?` : `fields are: ${listNames(names)}`);
      }
    }
    cells[r] = out;
  }
  if (schema.kind === 'vector') {
    const x = new Float32Array(rows.length * schema.width);
    cells.forEach((c, r) =>
      c.forEach((v, j) => {
        if (v === '') throw badRow(`rows[${r}].${names[j]}: expected a number, got null`, 'this model has no missing-value handling: send a number');
        x[r * schema.width + j] = Number(v);
      }),
    );
    return { rows: rows.length, x };
  }
  const table: Table = { file: 'request', columns: names, rows: cells, lines: cells.map((_, r) => r) };
  return { rows: rows.length, table: images.length ? Object.assign(table, { images }) : table };
}

/** Decodes an image field: a base64 string (or data URL) of a PNG or JPEG file, at most `maxPixels` pixels. */
function imageOf(v: unknown, at: string, maxPixels = MAX_IMAGE_PIXELS): Image {
  const hint = 'send the PNG or JPEG file as a base64 string (a data:image/png;base64,… URL also works)';
  if (typeof v !== 'string') throw badRow(`${at}: expected an image (a base64 string), got ${describe(v)}`, hint);
  const b64 = v.startsWith('data:') ? v.slice(v.indexOf(',') + 1) : v;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1) throw badRow(`${at}: not valid base64`, hint);
  return decodeImage(Buffer.from(b64, 'base64'), at, { maxPixels });
}

function vectorRows(schema: InputSchema, rows: unknown[]): Float32Array {
  const w = schema.width;
  const x = new Float32Array(rows.length * w);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (!Array.isArray(row)) throw badRow(`rows[${r}]: expected an array of ${w} numbers, got ${describe(row)}`, `each row is [x0, …, x${w - 1}]`);
    if (row.length !== w) throw badRow(`rows[${r}]: expected ${w} numbers, got ${row.length}`, `the model takes ${w} features per row`);
    for (let j = 0; j < w; j++) {
      const v = row[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw badRow(`rows[${r}][${j}]: expected a number, got ${describe(v)}`, 'every feature is a finite JSON number');
      checkFloat32(v, { name: String(j), type: 'number' }, `rows[${r}][${j}]`);
      x[r * w + j] = v;
    }
  }
  return x;
}

/** An image field in the OpenAPI document: a PNG or JPEG file, base64. */
const IMAGE_JSON_SCHEMA = {
  type: 'string', contentEncoding: 'base64', contentMediaType: 'image/png',
  description: 'a PNG or JPEG file, base64 (or a data:image/...;base64, URL)',
};

/**
 * The JSON Schema (OpenAPI 3.1 dialect) of one row, for the OpenAPI document.
 *
 * @example
 * rowJsonSchema(schema); // { type: 'object', required: ['age', ...], properties: { age: { type: ['number', 'null'] }, ... } }
 */
export function rowJsonSchema(schema: InputSchema): Record<string, unknown> {
  const vector = { type: 'array', items: { type: 'number' }, minItems: schema.width, maxItems: schema.width };
  if (schema.kind === 'vector' && schema.fields.length === 0) return vector;
  const properties: Record<string, unknown> = {};
  for (const f of schema.fields) {
    if (f.type === 'number') properties[f.name] = { type: ['number', 'null'] };
    else if (f.type === 'boolean') properties[f.name] = { type: ['boolean', 'null'] };
    else if (f.type === 'image') properties[f.name] = IMAGE_JSON_SCHEMA;
    else properties[f.name] = { type: ['string', 'number', 'null'], ...(f.categories?.length ? { examples: f.categories.slice(0, 20) } : {}) };
  }
  for (const name of schema.ignored) properties[name] = { description: 'accepted and ignored (not a model input)' };
  const obj = { type: 'object', required: schema.fields.map((f) => f.name), properties, additionalProperties: schema.unknownFields === 'ignore' };
  return schema.kind === 'vector' ? { oneOf: [vector, obj] } : obj;
}
