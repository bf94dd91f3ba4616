/**
 * The fitted tabular encoder: turns a {@link Table} into a dense Float32 feature matrix (standardised
 * numerics with missing indicators, one-hot categoricals, 0/1 booleans, hashed TF-IDF text) and a target vector (class
 * indices, or a standardised regression target). Fitted once on training data, saved as JSON, and
 * applied unchanged at predict time.
 */
import { SwitchyardError } from '../util/errors.ts';
import type { Table } from './csv.ts';
import {
  checkFeatureSpec,
  type DroppedColumn,
  type FeatureOptions,
  type FeatureSpec,
  featureNames,
  fitFeature,
  makeFeatureWriter,
} from './features.ts';
import { type ColumnInfo, DISTINCT_CAP, resolveTarget, type Schema } from './schema.ts';
import { didYouMean, isMissing, listNames, parseNumber } from './values.ts';

/**
 * What the model predicts.
 *
 * @example
 * fitTabularEncoder(table, schema, 'price', 'regression' satisfies Task);
 */
export type Task = 'classification' | 'regression';

/**
 * The fitted target transform.
 *
 * @example
 * encoder.target; // { column: 'label', task: 'classification', classes: ['a', 'b'] }
 */
export type TargetSpec =
  | { column: string; task: 'classification'; classes: string[] }
  | { column: string; task: 'regression'; mean: number; std: number };

/**
 * The JSON form of a {@link TabularEncoder}.
 *
 * @example
 * writeFileSync('encoder.json', JSON.stringify(encoder.toJSON()));
 */
export interface TabularEncoderJSON {
  format: 'switchyard.tabular-encoder';
  version: 1;
  target: TargetSpec;
  features: FeatureSpec[];
  dropped: DroppedColumn[];
}

/**
 * An encoded table: `x` is row-major `rows × features`; `y` is present when the target column was.
 *
 * @example
 * const { x, rows, features, y } = encoder.encode(table); // x.length === rows * features
 */
export interface EncodedTable {
  x: Float32Array;
  rows: number;
  features: number;
  /** Class indices (classification) or standardised values (regression). */
  y?: Int32Array | Float32Array;
}

/**
 * Options for {@link TabularEncoder.encode}.
 *
 * @example
 * encoder.encode(table, { target: false }); // features only
 */
export interface EncodeOptions {
  /** Encode the target when the column is present (default true); false skips it. */
  target?: boolean;
}

/**
 * A distinct-value count above which a numeric target is treated as regression under `task: 'auto'`.
 *
 * @example
 * // a numeric target with 21+ distinct values is regression under task 'auto'
 */
export const REGRESSION_MIN_DISTINCT = 20;

const FORMAT = 'switchyard.tabular-encoder';

/**
 * A fitted, JSON-serialisable encoder from table rows to model inputs and targets.
 *
 * @example
 * const enc = fitTabularEncoder(train, inferSchema(train), 'label');
 * const { x, y, rows, features } = enc.encode(train);
 * const again = TabularEncoder.fromJSON(JSON.parse(JSON.stringify(enc)));
 * again.encode(test).x; // same transform as enc
 */
export class TabularEncoder {
  /** The target transform. */
  readonly target: TargetSpec;
  /** Input-column transforms, in output order. */
  readonly specs: readonly FeatureSpec[];
  /** Columns not used as inputs, with the reason. */
  readonly dropped: readonly DroppedColumn[];
  /** One name per output feature (`age`, `age__missing`, `color=red`, ...). */
  readonly featureNames: readonly string[];
  private readonly writers: ReturnType<typeof makeFeatureWriter>[];
  private readonly widths: number[];
  private readonly classIndex: Map<string, number>;

  constructor(target: TargetSpec, specs: FeatureSpec[], dropped: DroppedColumn[]) {
    this.target = target;
    this.specs = specs;
    this.dropped = dropped;
    const names = specs.map(featureNames);
    this.widths = names.map((n) => n.length);
    this.featureNames = names.flat();
    this.writers = specs.map(makeFeatureWriter);
    this.classIndex = new Map(target.task === 'classification' ? target.classes.map((c, i) => [c, i]) : []);
  }

  /** `classification` or `regression`. */
  get task(): Task {
    return this.target.task;
  }

  /** Class labels in index order (empty for regression). */
  get classes(): readonly string[] {
    return this.target.task === 'classification' ? this.target.classes : [];
  }

  /** Number of output features per row. */
  get numFeatures(): number {
    return this.featureNames.length;
  }

  /** Model output width: the number of classes, or 1 for regression. */
  get outputSize(): number {
    return this.target.task === 'classification' ? this.target.classes.length : 1;
  }

  /**
   * Encodes a table with the fitted transforms. Columns are matched by name (order and extra columns do not
   * matter); a missing input column throws `E_CSV_COLUMN`; a bad cell throws `E_CSV_VALUE` at `file:line:field`.
   * The target is encoded when its column is present.
   *
   * @example
   * const { x, y } = encoder.encode(await readCsv('test.csv'));
   */
  encode(table: Table, opts: EncodeOptions = {}): EncodedTable {
    const rows = table.rows.length;
    const features = this.numFeatures;
    const x = new Float32Array(rows * features);
    const index = new Map(table.columns.map((c, j) => [c, j]));
    let offset = 0;
    this.specs.forEach((spec, k) => {
      const j = index.get(spec.column);
      if (j === undefined) {
        const guess = didYouMean(spec.column, table.columns);
        throw new SwitchyardError(
          'E_CSV_COLUMN',
          `${table.file}: no column '${spec.column}', which the model was trained with; columns are: ${listNames(table.columns)}`,
          guess ? `did you mean '${guess}'? rename it to '${spec.column}'` : `add the column '${spec.column}' (cells may be empty for missing values)`,
        );
      }
      this.writers[k](table, j, x, offset, features);
      offset += this.widths[k];
    });
    const out: EncodedTable = { x, rows, features };
    const tj = index.get(this.target.column);
    if (tj !== undefined && opts.target !== false) out.y = this.encodeTarget(table, tj);
    return out;
  }

  private encodeTarget(table: Table, j: number): Int32Array | Float32Array {
    const { rows, lines, file } = table;
    const t = this.target;
    const y = t.task === 'classification' ? new Int32Array(rows.length) : new Float32Array(rows.length);
    for (let r = 0; r < rows.length; r++) {
      const cell = rows[r][j];
      if (isMissing(cell)) throw missingTarget(table, r, j, t.column);
      if (t.task === 'classification') {
        const k = this.classIndex.get(cell.trim());
        if (k === undefined) {
          throw new SwitchyardError(
            'E_CSV_VALUE',
            `${file}:${lines[r]}:${j + 1}: column '${t.column}': class '${cell}' was not seen in training`,
            `known classes: ${listNames(t.classes)}; fix the label or retrain with it`,
          );
        }
        y[r] = k;
      } else {
        const v = parseNumber(cell);
        if (Number.isNaN(v)) throw notNumber(table, r, j, t.column);
        y[r] = (v - t.mean) / t.std;
      }
    }
    return y;
  }

  /**
   * Undoes the target standardisation of a regression model's outputs.
   *
   * @example
   * enc.decodeTarget(predictions); // Float64Array in the original units
   */
  decodeTarget(y: ArrayLike<number>): Float64Array {
    if (this.target.task !== 'regression') {
      throw new SwitchyardError('E_TASK', `target '${this.target.column}' is a classification target`, 'use decodeLabels for class indices');
    }
    const { mean, std } = this.target;
    const out = new Float64Array(y.length);
    for (let i = 0; i < y.length; i++) out[i] = y[i] * std + mean;
    return out;
  }

  /**
   * Maps class indices back to their string labels.
   *
   * @example
   * enc.decodeLabels([0, 2]); // ['cat', 'fish']
   */
  decodeLabels(idx: ArrayLike<number>): string[] {
    const classes = this.classes;
    const out: string[] = new Array(idx.length);
    for (let i = 0; i < idx.length; i++) {
      const label = classes[idx[i]];
      if (label === undefined) throw new SwitchyardError('E_TASK', `class index ${idx[i]} out of range 0..${classes.length - 1}`, '');
      out[i] = label;
    }
    return out;
  }

  /**
   * The JSON form (also used by `JSON.stringify`).
   *
   * @example
   * const json = JSON.stringify(encoder); // calls toJSON
   */
  toJSON(): TabularEncoderJSON {
    return { format: FORMAT, version: 1, target: this.target, features: [...this.specs], dropped: [...this.dropped] };
  }

  /**
   * Rebuilds an encoder from {@link TabularEncoder.toJSON} output; throws `E_ENCODER_FORMAT` on anything else.
   *
   * @example
   * const enc = TabularEncoder.fromJSON(JSON.parse(fs.readFileSync('encoder.json', 'utf8')));
   */
  static fromJSON(json: unknown): TabularEncoder {
    const bad = (what: string): never => {
      throw new SwitchyardError('E_ENCODER_FORMAT', `tabular encoder: ${what}`, 'the encoder JSON is damaged or from another version; refit it');
    };
    if (typeof json !== 'object' || json === null) return bad('not an object');
    const o = json as Record<string, unknown>;
    if (o.format !== FORMAT) return bad(`format is '${String(o.format)}', expected '${FORMAT}'`);
    if (o.version !== 1) return bad(`unsupported version ${String(o.version)}`);
    const t = o.target as Record<string, unknown> | null;
    if (typeof t !== 'object' || t === null || typeof t.column !== 'string') return bad('missing target');
    if (t.task === 'classification') {
      if (!Array.isArray(t.classes) || !t.classes.every((c) => typeof c === 'string')) return bad('target classes must be strings');
    } else if (t.task === 'regression') {
      if (typeof t.mean !== 'number' || typeof t.std !== 'number' || !(t.std > 0)) return bad('target mean/std must be numbers, std > 0');
    } else return bad(`unknown task '${String(t.task)}'`);
    if (!Array.isArray(o.features)) return bad('features must be an array');
    if (!Array.isArray(o.dropped)) return bad('dropped must be an array');
    const specs = o.features.map(checkFeatureSpec);
    return new TabularEncoder(t as unknown as TargetSpec, specs, o.dropped as DroppedColumn[]);
  }
}

function missingTarget(table: Table, r: number, j: number, column: string): SwitchyardError {
  return new SwitchyardError(
    'E_CSV_VALUE',
    `${table.file}:${table.lines[r]}:${j + 1}: column '${column}': the target value is missing ('${table.rows[r][j]}')`,
    'fill in the target, or remove the row',
  );
}

function notNumber(table: Table, r: number, j: number, column: string): SwitchyardError {
  return new SwitchyardError(
    'E_CSV_VALUE',
    `${table.file}:${table.lines[r]}:${j + 1}: column '${column}': '${table.rows[r][j]}' is not a number`,
    `a regression target must be numeric: fix the value, or use --task classification`,
  );
}

function compareLabels(a: string, b: string): number {
  const x = parseNumber(a);
  const y = parseNumber(b);
  if (!Number.isNaN(x) && !Number.isNaN(y) && x !== y) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

function fitTarget(table: Table, col: ColumnInfo, task: Task | 'auto'): TargetSpec {
  const j = col.index;
  const { rows } = table;
  const values = new Set<string>();
  let allNumeric = true;
  for (let r = 0; r < rows.length; r++) {
    const cell = rows[r][j];
    if (isMissing(cell)) throw missingTarget(table, r, j, col.name);
    const v = cell.trim();
    if (values.size < DISTINCT_CAP) values.add(v);
    if (allNumeric && Number.isNaN(parseNumber(v))) {
      if (task === 'regression') throw notNumber(table, r, j, col.name);
      allNumeric = false;
    }
  }
  const resolved: Task = task !== 'auto' ? task : allNumeric && values.size > REGRESSION_MIN_DISTINCT ? 'regression' : 'classification';
  if (resolved === 'regression') {
    let sum = 0;
    for (const row of rows) sum += parseNumber(row[j]);
    const mean = sum / rows.length;
    let ss = 0;
    for (const row of rows) ss += (parseNumber(row[j]) - mean) ** 2;
    const std = Math.sqrt(ss / rows.length);
    return { column: col.name, task: 'regression', mean, std: std > 1e-12 ? std : 1 };
  }
  if ((col.kind === 'identifier' || col.kind === 'text') && task === 'auto') {
    throw new SwitchyardError(
      'E_TARGET_KIND',
      `${table.file}: target '${col.name}' looks like ${col.kind === 'text' ? 'free text' : 'an identifier'} (${col.distinct} distinct values in ${rows.length} rows), not a label`,
      'pick another --target, or pass the task explicitly if it really is a label',
    );
  }
  if (values.size >= DISTINCT_CAP) {
    throw new SwitchyardError(
      'E_TARGET_KIND',
      `${table.file}: target '${col.name}' has over ${DISTINCT_CAP} distinct values; too many classes for a classifier`,
      allNumeric ? 'use --task regression' : 'pick another --target',
    );
  }
  if (values.size < 2) {
    throw new SwitchyardError(
      'E_TARGET_KIND',
      `${table.file}: target '${col.name}' has a single value ('${[...values][0]}') in all ${rows.length} rows`,
      'a classifier needs at least two classes; check the --target column or the data export',
    );
  }
  return { column: col.name, task: 'classification', classes: [...values].sort(compareLabels) };
}

/**
 * Fits a {@link TabularEncoder} on training data. Numeric, categorical, boolean and free-text columns (hashed
 * TF-IDF n-grams, see text-features.ts; IDF on `opts.textFitRows` when given) become features; identifier and
 * ignored columns are recorded in `dropped`. `task: 'auto'` picks regression for a numeric
 * target with more than 20 distinct values, else classification. Missing target values throw `E_CSV_VALUE`.
 *
 * @example
 * const table = await readCsv('train.csv');
 * const enc = fitTabularEncoder(table, inferSchema(table), 'label');
 * enc.task;         // 'classification'
 * enc.classes;      // ['high', 'low', 'medium']
 * enc.featureNames; // ['age', 'age__missing', 'region=north', ...]
 */
export function fitTabularEncoder(
  table: Table,
  schema: Schema,
  target: string,
  task: Task | 'auto' = 'auto',
  opts: FeatureOptions = {},
): TabularEncoder {
  const tcol = resolveTarget(schema, target);
  if (tcol.kind === 'ignore') {
    throw new SwitchyardError('E_TARGET_KIND', `${table.file}: target '${target}' is ignored (${tcol.reason})`, 'pick another --target');
  }
  const targetSpec = fitTarget(table, tcol, task);
  const specs: FeatureSpec[] = [];
  const dropped: DroppedColumn[] = [];
  for (const col of schema.columns) {
    if (col === tcol) continue;
    if (col.kind !== 'identifier' && col.kind !== 'ignore') {
      specs.push(fitFeature(table, col, opts));
    } else {
      const why = col.kind === 'ignore' ? col.reason : `${col.kind} column (${col.reason})`;
      dropped.push({ column: col.name, kind: col.kind, reason: why });
    }
  }
  if (specs.length === 0) {
    throw new SwitchyardError(
      'E_CSV_COLUMN',
      `${table.file}: no usable feature columns besides the target '${target}' (dropped: ${listNames(dropped.map((d) => d.column))})`,
      'override a column kind (e.g. categorical) or add numeric/categorical columns',
    );
  }
  return new TabularEncoder(targetSpec, specs, dropped);
}
