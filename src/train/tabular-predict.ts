import { readTable } from '../data/readers/index.ts';
import { formatCsvRow } from '../data/csv-write.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { writeOnnxExport } from './export-run.ts';
import { exportOnnx, Forward } from './forward.ts';
import { inferenceOutputs, inferenceSpec, loadTabularRun } from './tabular-model.ts';

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
 * (the target column may be absent).
 *
 * @example
 * const p = await predictTabular('runs/x', 'test.csv');
 * p.predictions[0]; // 'gold'
 */
export async function predictTabular(runDir: string, dataPath: string, opts: { threads?: number } = {}): Promise<TabularPredictions> {
  const { enc, model } = await loadTabularRun(runDir);
  const table = await readTable(dataPath);
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
 * The self-contained ONNX inference graph of a trained tabular model, as bytes: input `features`
 * [batch, F] (the encoded columns, see `switchyard.encoder` in the model metadata), outputs
 * `probabilities` + `label` (classification) or `prediction` (regression).
 *
 * @example
 * const { bytes } = await tabularOnnx('runs/x');
 */
export async function tabularOnnx(runDir: string): Promise<{ bytes: Uint8Array; inputs: string[]; outputs: string[] }> {
  const { enc, model, cfg } = await loadTabularRun(runDir);
  const fn = inferenceOutputs(enc);
  const bytes = exportOnnx(model, fn, inferenceSpec(enc.numFeatures), {
    'switchyard.kind': cfg.kind,
    'switchyard.encoder': JSON.stringify(enc.toJSON()),
    'switchyard.feature_names': JSON.stringify(enc.featureNames),
  });
  return { bytes, inputs: ['features'], outputs: enc.task === 'classification' ? ['probabilities', 'label'] : ['prediction'] };
}

/**
 * Exports a trained tabular model as a self-contained ONNX file ({@link tabularOnnx}).
 *
 * @example
 * await exportTabular('runs/x', 'model.onnx');
 */
export async function exportTabular(runDir: string, outFile: string): Promise<{ bytes: number; inputs: string[]; outputs: string[] }> {
  const { bytes, inputs, outputs } = await tabularOnnx(runDir);
  await writeOnnxExport(outFile, bytes);
  return { bytes: bytes.length, inputs, outputs };
}
