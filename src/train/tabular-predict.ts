import { readTable } from '../data/readers/index.ts';
import type { MAX_IMAGE_PIXELS } from '../data/images/image.ts';
import { formatCsvRow } from '../data/csv-write.ts';
import { SwitchyardError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { writeOnnxExport } from './export-run.ts';
import { exportOnnx, Forward } from './forward.ts';
import { inferenceOutputs, inferenceSpec, loadTabularRun } from './tabular-model.ts';
import { rawInputsPossible, type TabularInputs, withRawInputs } from './tabular-onnx.ts';

/** Predictions for every row of a CSV: labels (or values) and, for classifiers, class probabilities. */
export interface TabularPredictions {
  task: 'classification' | 'regression';
  rows: number;
  classes: string[];
  /** Predicted class label or value per row. */
  predictions: (string | number)[];
  /** Row-major [rows, classes] probabilities (classification only). */
  probabilities?: Float32Array;
}

/**
 * Runs a trained tabular model (a `switchyard train` run directory) on a CSV with the same columns
 * (the target column may be absent), or an image model on a folder of images or a built-in split (`mnist:test`).
 * `opts.maxImagePixels` bounds each image of a folder (default {@link MAX_IMAGE_PIXELS}); `opts.threads` ORT's.
 *
 * @example
 * const p = await predictTabular('runs/x', 'test.csv');
 * p.predictions[0]; // 'gold'
 */
export async function predictTabular(
  runDir: string,
  dataPath: string,
  opts: { threads?: number; maxImagePixels?: number } = {},
): Promise<TabularPredictions> {
  const { enc, model } = await loadTabularRun(runDir);
  const table = await readTable(dataPath, { maxImagePixels: opts.maxImagePixels });
  const { x, rows, features } = enc.encode(table, { target: false });
  const fwd = await Forward.compile(model, inferenceOutputs(enc), inferenceSpec(features), opts);
  const classes = [...enc.classes];
  const predictions: (string | number)[] = [];
  const probabilities = enc.task === 'classification' ? new Float32Array(rows * classes.length) : undefined;
  const chunk = 4096;
  for (let s = 0; s < rows; s += chunk) {
    const n = Math.min(chunk, rows - s);
    const out = await fwd.run({ features: { dtype: 'f32', shape: [n, features], data: x.subarray(s * features, (s + n) * features) } });
    if (probabilities) {
      probabilities.set(out.probabilities.data as Float32Array, s * classes.length);
      predictions.push(...enc.decodeLabels(Array.from(out.label.data as BigInt64Array, Number)));
    } else predictions.push(...Array.from(out.prediction.data as Float32Array));
  }
  await fwd.release();
  return { task: enc.task, rows, classes, predictions, probabilities };
}

/** Renders predictions as CSV: `row,prediction[,prob_<class>...]` (row = 1-based data row). */
export function predictionsToCsv(p: TabularPredictions): string {
  const header = ['row', 'prediction', ...p.classes.map((c) => `prob_${c}`)];
  const lines = [formatCsvRow(header)];
  for (let i = 0; i < p.rows; i++) {
    const cells = [String(i + 1), String(p.predictions[i])];
    if (p.probabilities) for (let c = 0; c < p.classes.length; c++) cells.push(p.probabilities[i * p.classes.length + c].toPrecision(6));
    lines.push(formatCsvRow(cells));
  }
  return lines.join('\n') + '\n';
}

/** Writes predictions CSV atomically. */
export async function writePredictions(file: string, p: TabularPredictions): Promise<void> {
  await writeFileAtomic(file, predictionsToCsv(p));
}

/**
 * Options of {@link tabularOnnx} and {@link exportTabular}.
 *
 * @example
 * const o: TabularOnnxOptions = { inputs: 'raw', opset: 17 };
 */
export interface TabularOnnxOptions {
  /**
   * `raw`: one input per column (numeric float32 [batch, 1], NaN = missing; categorical and yes/no columns string
   * [batch, 1]), the encoding inside the graph, `label` as class strings. `features`: the encoded matrix
   * [batch, F], `label` as class index. Default: `raw`, or `features` for a model with text columns (their hashed
   * TF-IDF has no ONNX form; see src/train/tabular-onnx.ts).
   */
  inputs?: TabularInputs;
  /** Default-domain opset to write (17..21, default 18; 17 for onnx 1.12-era tools). */
  opset?: number;
}

/**
 * The self-contained ONNX inference graph of a trained tabular model, as bytes. With raw inputs (the default
 * without text columns) it takes one input per column and returns `label` (class strings) and `probabilities`
 * [batch, classes] in the order of the `switchyard.classes` metadata, or `prediction` [batch] in the target's
 * units; with `inputs: 'features'` it takes the encoded matrix `features` [batch, F] (see `switchyard.encoder`
 * in the metadata) and `label` is the class index.
 *
 * @example
 * const { bytes, inputs } = await tabularOnnx('runs/x'); // inputs: ['bill_length_mm', 'island', ...]
 */
export async function tabularOnnx(runDir: string, opts: TabularOnnxOptions = {}): Promise<{ bytes: Uint8Array; inputs: string[]; outputs: string[] }> {
  if (opts.inputs !== undefined && opts.inputs !== 'raw' && opts.inputs !== 'features') {
    throw new SwitchyardError('E_USAGE', `--inputs ${String(opts.inputs)} is not raw or features`, 'e.g. --inputs raw (one input per column) or --inputs features (the encoded matrix)');
  }
  const { enc, model, cfg } = await loadTabularRun(runDir);
  const mode = opts.inputs ?? (rawInputsPossible(enc) ? 'raw' : 'features');
  const bytes = exportOnnx(model, inferenceOutputs(enc), inferenceSpec(enc.numFeatures), {
    'switchyard.kind': cfg.kind,
    'switchyard.inputs': mode,
    'switchyard.encoder': JSON.stringify(enc.toJSON()),
    'switchyard.feature_names': JSON.stringify(enc.featureNames),
    'switchyard.classes': JSON.stringify(enc.classes),
  }, { opset: opts.opset, edit: mode === 'raw' ? (m) => withRawInputs(m, enc) : undefined });
  const inputs = mode === 'raw' ? enc.specs.map((s) => s.column) : ['features'];
  return { bytes, inputs, outputs: enc.task === 'classification' ? ['probabilities', 'label'] : ['prediction'] };
}

/**
 * Exports a trained tabular model as a self-contained ONNX file ({@link tabularOnnx}).
 *
 * @example
 * await exportTabular('runs/x', 'model.onnx', { opset: 17 });
 */
export async function exportTabular(runDir: string, outFile: string, opts: TabularOnnxOptions = {}): Promise<{ bytes: number; inputs: string[]; outputs: string[] }> {
  const { bytes, inputs, outputs } = await tabularOnnx(runDir, opts);
  await writeOnnxExport(outFile, bytes);
  return { bytes: bytes.length, inputs, outputs };
}
