/**
 * Any ONNX classifier a user brings, as a {@link TabularEvalModel}: one float input [N, F], one output of
 * logits or probabilities [N, C]. Names and shapes are read from the session; data columns are matched by
 * name (Switchyard exports carry their encoder and feature names) or by order. No input gradients: attacks
 * need a Switchyard model; the penultimate features of a foreign model are its log-probabilities.
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import type { Table } from '../data/csv.ts';
import { TabularEncoder } from '../data/tabular.ts';
import { listNames, parseNumber } from '../data/values.ts';
import { assertInt8Runs } from '../runtime/int8-cpu.ts';
import { decodeModel, encodeModel } from '../runtime/onnx/proto.ts';
import { featuresView } from '../train/tabular-onnx.ts';
import { createUserSession, runUserSession, sessionOptions } from '../runtime/session.ts';
import { SwitchyardError } from '../util/errors.ts';
import { applyTemperature } from './calibration.ts';
import type { ClassifierOutputs, EvalData, LoadEvalModelOptions, TabularEvalModel } from './model.ts';

const CHUNK = 8192;

function badModel(file: string, what: string, hint: string): SwitchyardError {
  return new SwitchyardError('E_MODEL_INPUT', `${file}: ${what}`, hint);
}

/** True when every row lies in [0, 1] and sums to 1 (within 1e-3). */
function looksLikeProbabilities(v: Float32Array, C: number): boolean {
  for (let r = 0; r * C < v.length; r++) {
    let s = 0;
    for (let c = 0; c < C; c++) {
      const x = v[r * C + c];
      if (!(x >= 0 && x <= 1)) return false;
      s += x;
    }
    if (Math.abs(s - 1) > 1e-3) return false;
  }
  return true;
}

/**
 * Loads an ONNX classifier file for evaluation.
 *
 * @example
 * const m = await loadOnnxClassifier('model.onnx', { target: 'label' });
 * const d = m.encode(table);
 * const { probabilities } = await m.predict(d.x, d.rows);
 */
export async function loadOnnxClassifier(file: string, opts: LoadEvalModelOptions = {}): Promise<TabularEvalModel> {
  let bytes: Uint8Array = new Uint8Array(await readFile(file));
  let meta: Record<string, string> = {};
  try {
    const decoded = decodeModel(bytes);
    meta = decoded.metadata ?? {};
    // A raw-column tabular export is evaluated in its features form (its encoder is in the metadata).
    if (meta['switchyard.inputs'] === 'raw') bytes = encodeModel(featuresView(decoded));
  } catch (e) {
    throw badModel(file, `not a readable ONNX model (${(e as Error).message})`, 'pass a .onnx file, or a run directory written by switchyard train');
  }
  assertInt8Runs(meta, file);
  const session = await createUserSession(bytes, file, sessionOptions({ threads: opts.threads }));
  const inputs = session.inputMetadata;
  if (inputs.length !== 1) {
    throw badModel(file, `the model has ${inputs.length} inputs (${session.inputNames.join(', ')}); eval supports one float input [N, F]`, 'export the classifier with a single float32 feature matrix input');
  }
  const inp = inputs[0];
  if (!inp.isTensor || inp.type !== 'float32' || inp.shape.length !== 2) {
    const desc = inp.isTensor ? `${inp.type}[${inp.shape.join(', ')}]` : 'not a tensor';
    throw badModel(file, `input '${inp.name}' is ${desc}; eval supports one float32 input [N, F]`, 'export the classifier with a float32 [batch, features] input');
  }
  const F = typeof inp.shape[1] === 'number' ? inp.shape[1] : null;
  const outs = session.outputMetadata.filter((o) => o.isTensor && o.type === 'float32' && o.shape.length === 2);
  const chosen = outs.find((o) => /prob/i.test(o.name)) ?? outs.find((o) => /logit/i.test(o.name)) ?? outs[0];
  if (!chosen) throw badModel(file, `no float32 [N, C] output among ${listNames([...session.outputNames])}`, 'the model must output logits or class probabilities');
  const encoder = meta['switchyard.encoder'] ? TabularEncoder.fromJSON(JSON.parse(meta['switchyard.encoder'])) : undefined;
  if (encoder && encoder.task !== 'classification') throw badModel(file, 'a regression export; eval of ONNX files supports classifiers', 'evaluate the run directory instead');
  const target = opts.target ?? encoder?.target.column;
  if (!target) throw new SwitchyardError('E_USAGE', `${file}: which column holds the labels?`, 'pass --target <column> for an ONNX model');
  let classes = opts.classes ?? (encoder ? [...encoder.classes] : null);
  let numFeatures = F ?? encoder?.numFeatures ?? 0;
  let featureNames: string[] = encoder ? [...encoder.featureNames] : [];

  async function run(x: Float32Array, rows: number, width: number): Promise<Float32Array> {
    const r = await runUserSession(session, file, { [inp.name]: new ort.Tensor('float32', x, [rows, width]) }, [chosen.name]);
    return r[chosen.name].data as Float32Array;
  }

  const model: TabularEvalModel = {
    kind: 'onnx', source: file, task: 'classification', classes: classes ?? [], target, featureNames, numFeatures, featureDim: 0,
    outputKinds: { logits: 'logits', features: 'log-probabilities' }, encoder,
    encode(table: Table): EvalData {
      if (encoder) {
        const e = encoder.encode(table);
        return { x: e.x, rows: e.rows, y: e.y };
      }
      const ti = table.columns.indexOf(target);
      const cols = table.columns.map((c, j) => ({ c, j })).filter(({ j }) => j !== ti);
      if (F !== null && cols.length !== F) {
        throw badModel(file, `the model expects ${F} input features, ${table.file} has ${cols.length} feature columns (${listNames(cols.map((c) => c.c))}) besides the target '${target}'`, `pass a CSV with exactly the model's ${F} feature columns, in its order, plus '${target}'`);
      }
      numFeatures = model.numFeatures = cols.length;
      featureNames = model.featureNames = cols.map((c) => c.c);
      const x = new Float32Array(table.rows.length * cols.length);
      table.rows.forEach((row, r) => cols.forEach(({ c, j }, k) => {
        const v = parseNumber(row[j] ?? '');
        if (Number.isNaN(v)) throw new SwitchyardError('E_CSV_VALUE', `${table.file}:${table.lines[r]}:${j + 1}: column '${c}': '${row[j]}' is not a number`, 'an ONNX model takes numeric features; encode the data the way the model was trained');
        x[r * cols.length + k] = v;
      }));
      return { x, rows: table.rows.length, y: ti >= 0 ? labelIndices(table, ti) : undefined };
    },
    async predict(x, rows) {
      const width = numFeatures;
      const C0 = model.classes.length;
      const chunks: Float32Array[] = [];
      for (let s = 0; s < rows; s += CHUNK) {
        const n = Math.min(CHUNK, rows - s);
        chunks.push(await run(x.subarray(s * width, (s + n) * width), n, width));
      }
      const raw = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
      let o = 0;
      for (const c of chunks) { raw.set(c, o); o += c.length; }
      const C = rows > 0 ? raw.length / rows : C0;
      if (C0 && C !== C0) throw badModel(file, `output '${chosen.name}' has ${C} columns, but ${C0} classes were given`, 'pass --classes in the order of the model outputs');
      const isProb = /prob/i.test(chosen.name) || looksLikeProbabilities(raw, C);
      const probabilities = isProb ? raw : Float32Array.from(applyTemperature(raw, C, 1));
      const logits = isProb ? Float32Array.from(raw, (p) => Math.log(Math.max(p, 1e-12))) : raw;
      model.featureDim = C;
      model.outputKinds = { logits: isProb ? 'log-probabilities' : 'logits', features: 'log-probabilities' };
      return { logits, probabilities, features: Float32Array.from(probabilities, (p) => Math.log(Math.max(p, 1e-12))) } satisfies ClassifierOutputs;
    },
    release: () => session.release(),
  };

  /** Class indices of the target column: given classes, else 0..C-1 integers, else sorted labels. */
  function labelIndices(table: Table, ti: number): Int32Array {
    const cells = table.rows.map((r) => (r[ti] ?? '').trim());
    if (!classes) {
      const distinct = [...new Set(cells)];
      const ints = distinct.every((c) => /^\d+$/.test(c));
      classes = ints ? Array.from({ length: Math.max(...distinct.map(Number)) + 1 }, (_, i) => String(i)) : distinct.sort();
      model.classes = classes;
    }
    const index = new Map(classes.map((c, i) => [c, i]));
    return Int32Array.from(cells, (c, r) => {
      const k = index.get(c);
      if (k === undefined) throw new SwitchyardError('E_CSV_VALUE', `${table.file}:${table.lines[r]}:${ti + 1}: column '${target}': class '${c}' is not one of ${listNames(classes!)}`, 'pass --classes in the order of the model outputs');
      return k;
    });
  }
  return model;
}
