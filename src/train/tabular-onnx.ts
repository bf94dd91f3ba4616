/**
 * The feature encoding of a tabular model as ONNX nodes, so that an exported model takes the raw columns and
 * returns class strings: any ONNX runtime runs it with no Switchyard code and no metadata.
 *
 * One input per encoded column, shape [batch, 1]: numeric columns as float32 (NaN = missing), categorical and
 * boolean columns as strings. The nodes reproduce {@link TabularEncoder.encode}: standardised numerics with 0 for
 * a missing value plus a missing indicator, one-hot categoricals with unseen values in `__other__` and missing
 * ones in `__missing__` (or `__other__` when training saw none), yes/no words as 1/0. Strings go through
 * `ai.onnx.ml` LabelEncoder (string -> index or 0/1); everything else is core ONNX. Hashed TF-IDF text columns
 * cannot be expressed: no standard ONNX operator hashes a string or splits it at Unicode letter boundaries
 * (StringSplit, opset 20, splits at one separator; nothing turns characters into numbers), so a model with text
 * columns keeps the encoded `features` input.
 *
 * @module
 */
import { type FeatureSpec, featureNames } from '../data/features.ts';
import type { TabularEncoder } from '../data/tabular.ts';
import type { Table } from '../data/csv.ts';
import { BOOLEAN_WORDS, isMissing, MISSING_WORDS, parseNumber } from '../data/values.ts';
import { MAX_ML_OPSET, ML_DOMAIN } from '../runtime/onnx/opsets.ts';
import { attr, type OnnxAttr, type OnnxModel, type OnnxNode, type OnnxValueInfo } from '../runtime/onnx/proto.ts';
import { SwitchyardError } from '../util/errors.ts';

/** Value name of the encoded feature matrix [batch, F], the model's input in a `features` export. */
const FEATURES = 'features';
/** Value name of the class index [batch] that the raw export maps to class strings. */
const LABEL_INDEX = 'label_index';

/**
 * Which inputs an exported tabular model takes: `raw` (one per column, the encoding inside the graph) or
 * `features` (the encoded matrix [batch, F]; the encoder is in the metadata).
 *
 * @example
 * const inputs: TabularInputs = 'raw';
 */
export type TabularInputs = 'raw' | 'features';

/** Every upper/lower-case spelling of an ASCII word (`na` -> `na`, `nA`, `Na`, `NA`). */
function caseVariants(word: string): string[] {
  let out = [''];
  for (const ch of word) {
    const forms = ch.toLowerCase() === ch.toUpperCase() ? [ch] : [ch.toLowerCase(), ch.toUpperCase()];
    out = out.flatMap((p) => forms.map((f) => p + f));
  }
  return out;
}

/** Emits the encoder's nodes with names under `encode/`, so they never clash with the model's values. */
class EncoderNodes {
  readonly nodes: OnnxNode[] = [];
  private n = 0;

  emit(opType: string, inputs: string[], attrs: Record<string, OnnxAttr> = {}, output?: string, domain?: string): string {
    const out = output ?? `encode/${opType.toLowerCase()}_${this.n++}`;
    this.nodes.push({ opType, inputs, outputs: [out], attrs, name: out, ...(domain ? { domain } : {}) });
    return out;
  }

  floats(values: number[]): string {
    const value = attr.tensor({ name: '', dtype: 'float32', dims: [values.length], data: Float32Array.from(values) });
    return this.emit('Constant', [], { value });
  }

  int64s(values: number[]): string {
    const value = attr.tensor({ name: '', dtype: 'int64', dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    return this.emit('Constant', [], { value });
  }

  /** `ai.onnx.ml` LabelEncoder from strings: `keys[i]` -> `values[i]`, anything else -> `fallback`. */
  lookup(input: string, table: Map<string, number>, fallback: number, to: 'float' | 'int64'): string {
    const keys = attr.strings([...table.keys()]);
    const values = [...table.values()];
    const attrs: Record<string, OnnxAttr> = to === 'float'
      ? { keys_strings: keys, values_floats: attr.floats(values), default_float: attr.float(fallback) }
      : { keys_strings: keys, values_int64s: attr.ints(values), default_int64: attr.int(fallback) };
    return this.emit('LabelEncoder', [input], attrs, undefined, ML_DOMAIN);
  }

  /** [value with 0 where missing, 0/1 indicator when asked] from a float column where NaN marks missing. */
  missingAware(x: string, indicator: boolean): string[] {
    const missing = this.emit('IsNaN', [x]);
    const value = this.emit('Where', [missing, this.floats([0]), x]);
    return indicator ? [value, this.emit('Cast', [missing], { to: attr.int(1) })] : [value];
  }
}

/** The encoded columns of one feature spec, each [batch, k]. */
function encodeColumn(e: EncoderNodes, spec: FeatureSpec): string[] {
  const x = spec.column;
  if (spec.kind === 'numeric') {
    // NaN (missing) stays NaN through the standardisation.
    const z = e.emit('Div', [e.emit('Sub', [x, e.floats([spec.mean])]), e.floats([spec.std])]);
    return e.missingAware(z, spec.missingIndicator);
  }
  if (spec.kind === 'boolean') {
    const words = new Map<string, number>();
    for (const [value, list] of [[1, BOOLEAN_WORDS.true], [0, BOOLEAN_WORDS.false]] as const) {
      for (const w of list) for (const v of caseVariants(w)) words.set(v, value);
    }
    return e.missingAware(e.lookup(x, words, NaN, 'float'), spec.missingIndicator);
  }
  if (spec.kind === 'categorical') {
    const other = spec.categories.length;
    const slots = new Map(spec.categories.map((c, i) => [c, i]));
    // Missing wins over a category of the same spelling, as in the encoder (isMissing is checked first).
    for (const w of MISSING_WORDS) for (const v of caseVariants(w)) slots.set(v, spec.missingBucket ? other + 1 : other);
    const index = e.lookup(x, slots, other, 'int64');
    const width = featureNames(spec).length;
    const hot = e.emit('Equal', [index, e.int64s(Array.from({ length: width }, (_, i) => i))]);
    return [e.emit('Cast', [hot], { to: attr.int(1) })];
  }
  throw new SwitchyardError(
    'E_EXPORT_INPUTS',
    `column '${spec.column}' is a text column: its hashed TF-IDF features cannot be computed by ONNX operators`,
    'export with --inputs features (the encoded [batch, F] matrix; the encoder is in the model metadata)',
  );
}

/**
 * True when every column of the encoder can be encoded inside an ONNX graph (no text columns).
 *
 * @example
 * rawInputsPossible(enc) ? 'raw' : 'features';
 */
export function rawInputsPossible(enc: TabularEncoder): boolean {
  return enc.specs.every((s) => s.kind !== 'text' && s.kind !== 'image');
}

/**
 * Rewrites a tabular model's lowered `features` graph to take raw columns: the encoder's nodes compute
 * `features` from one [batch, 1] input per column, and a classifier's class index becomes `label`, the class
 * strings. Throws `E_EXPORT_INPUTS` for a text column and `E_EXPORT_NAME` when a column name is already the
 * name of a value in the graph.
 *
 * @example
 * const raw = withRawInputs(lowered, enc); // inputs bill_length_mm: float32 [batch, 1], island: string [batch, 1], ...
 */
export function withRawInputs(model: OnnxModel, enc: TabularEncoder): OnnxModel {
  const e = new EncoderNodes();
  const inputs: OnnxValueInfo[] = enc.specs.map((s) => ({ name: s.column, dtype: s.kind === 'numeric' ? 'float32' : 'string', shape: ['batch', 1] }));
  e.emit('Concat', enc.specs.flatMap((s) => encodeColumn(e, s)), { axis: attr.int(1) }, FEATURES);
  const g = model.graph;
  const taken = new Set([...g.nodes.flatMap((n) => n.outputs), ...g.initializers.map((t) => t.name), ...g.outputs.map((o) => o.name), LABEL_INDEX]);
  const clash = inputs.find((i) => taken.has(i.name) || i.name.startsWith('encode/'));
  if (clash) {
    throw new SwitchyardError('E_EXPORT_NAME', `column '${clash.name}' has the name of a value inside the exported graph`, 'rename the column and retrain, or export with --inputs features');
  }
  const nodes = [...e.nodes, ...g.nodes];
  let outputs = g.outputs;
  if (enc.task === 'classification') {
    // The model's `label` (class index) is renamed and mapped to the class strings.
    const last = nodes.findIndex((n) => n.outputs[0] === 'label');
    nodes[last] = { ...nodes[last], outputs: [LABEL_INDEX], name: LABEL_INDEX };
    const classes = { keys_int64s: attr.ints(enc.classes.map((_, i) => i)), values_strings: attr.strings([...enc.classes]), default_string: attr.string('') };
    e.nodes.length = 0;
    e.emit('LabelEncoder', [LABEL_INDEX], classes, 'label', ML_DOMAIN);
    nodes.push(...e.nodes);
    outputs = g.outputs.map((o) => (o.name === 'label' ? { ...o, dtype: 'string' } : o));
  }
  const others = g.inputs.filter((i) => i.name !== FEATURES);
  return { ...model, imports: { ...model.imports, [ML_DOMAIN]: MAX_ML_OPSET }, graph: { ...g, nodes, inputs: [...inputs, ...others], outputs } };
}

/**
 * The columns of a table as the inputs of a raw-input export: numeric columns as float32 (NaN where missing),
 * the others as trimmed strings, each [rows, 1]. What a caller of the exported file does with its own data
 * (the demo's check uses it; the tests build their feeds without it).
 *
 * @example
 * const cols = rawColumns(enc, table);
 * const feeds = Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, new ort.Tensor(v.type, v.data, [table.rows.length, 1])]));
 */
export function rawColumns(enc: TabularEncoder, table: Table): Record<string, { type: 'float32'; data: Float32Array } | { type: 'string'; data: string[] }> {
  const out: ReturnType<typeof rawColumns> = {};
  for (const s of enc.specs) {
    const j = table.columns.indexOf(s.column);
    if (j < 0) throw new SwitchyardError('E_CSV_COLUMN', `${table.file}: no column '${s.column}', which the model was trained with`, `add the column '${s.column}' (cells may be empty for missing values)`);
    const cells = table.rows.map((r) => r[j] ?? '');
    out[s.column] = s.kind === 'numeric'
      ? { type: 'float32', data: Float32Array.from(cells, (c) => (isMissing(c) ? NaN : parseNumber(c))) }
      : { type: 'string', data: cells.map((c) => c.trim()) };
  }
  return out;
}

/**
 * The `features` view of a raw-input tabular export: the same model with the encoder nodes cut off, input
 * `features` [batch, F] and int64 `label` (class index), for consumers that encode rows themselves (serve, eval,
 * compress). A model that is not a raw-input export comes back unchanged.
 *
 * @example
 * const m = featuresView(decodeModel(bytes)); // inputs: features
 */
export function featuresView(model: OnnxModel): OnnxModel {
  if (model.metadata?.['switchyard.inputs'] !== 'raw') return model;
  const g = model.graph;
  const width = (JSON.parse(model.metadata['switchyard.feature_names'] ?? '[]') as string[]).length;
  const producer = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const wanted = g.outputs.map((o) => (o.name === 'label' ? LABEL_INDEX : o.name));
  const keep = new Set<OnnxNode>();
  const stack = [...wanted];
  while (stack.length) {
    const node = producer.get(stack.pop()!);
    if (!node || keep.has(node) || node.outputs.includes(FEATURES)) continue;
    keep.add(node);
    stack.push(...node.inputs);
  }
  const nodes = g.nodes.filter((n) => keep.has(n));
  if (wanted.includes(LABEL_INDEX)) nodes.push({ opType: 'Identity', inputs: [LABEL_INDEX], outputs: ['label'], name: 'label' });
  const outputs = g.outputs.map((o) => (o.name === 'label' ? { ...o, dtype: 'int64' as const } : o));
  const inputs: OnnxValueInfo[] = [{ name: FEATURES, dtype: 'float32', shape: ['batch', width] }];
  const { [ML_DOMAIN]: _ml, ...imports } = model.imports ?? {};
  const metadata = { ...model.metadata, 'switchyard.inputs': 'features' };
  return { ...model, imports, metadata, graph: { ...g, nodes, inputs, outputs } };
}
