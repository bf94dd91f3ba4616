/**
 * A trained text-classifier run (`switchyard train --model text-classifier`), loaded and used: predictions for a
 * table's text column (`switchyard predict`), and its inference graph as ONNX (`switchyard export`): inputs `ids`
 * (i64 [batch, context], the run's tokenizer, padded with its `padId`) and `keep` (f32 [batch, context], 1 at text),
 * outputs `logits` and `probabilities`; the tokenizer and padding are recorded in the ONNX metadata.
 *
 * @module
 */
import { readTable } from '../data/readers/index.ts';
import { type Tokenizer, tokenizerFromJSON } from '../data/text/tokenizer.ts';
import { TextClassifier } from '../models/text-classifier.ts';
import { SwitchyardError } from '../util/errors.ts';
import { loadWeightsFile } from './checkpoint.ts';
import { exportOnnx, Forward } from './forward.ts';
import { openRun, RUN_FILES } from './run-dir.ts';
import type { TabularPredictions } from './tabular-predict.ts';
import {
  classifyEncoded, encodeTexts, textClassifierOutputs, type TextClassifierRunConfig, textInputs,
} from './text-classifier.ts';

/**
 * Loads a text-classifier run directory (manifest verified): config, tokenizer, weights.
 *
 * @example
 * const { cfg, tok, model } = await loadTextClassifierRun('runs/spam');
 */
export async function loadTextClassifierRun(
  dir: string,
): Promise<{ cfg: TextClassifierRunConfig; tok: Tokenizer; model: TextClassifier }> {
  const run = await openRun(dir, { kinds: ['text-classifier'] });
  const cfg = run.config as unknown as TextClassifierRunConfig;
  const model = new TextClassifier(cfg.gpt, cfg.classes.length, cfg.pooling).named();
  await loadWeightsFile(run.file(RUN_FILES.model), model);
  return { cfg, tok: tokenizerFromJSON(cfg.tokenizer), model };
}

/**
 * Class predictions and probabilities of a text-classifier run for every row of a table that has the run's text
 * column (the label column may be absent).
 *
 * @example
 * const p = await predictTextClassifier('runs/spam', 'mail.jsonl');
 * p.predictions[0]; // 'spam'
 */
export async function predictTextClassifier(
  runDir: string, dataPath: string, opts: { threads?: number } = {},
): Promise<TabularPredictions> {
  const { cfg, tok, model } = await loadTextClassifierRun(runDir);
  const table = await readTable(dataPath);
  const col = table.columns.indexOf(cfg.textColumn);
  if (col < 0) {
    const hint = `the run reads the column '${cfg.textColumn}'; the table has ${table.columns.join(', ')}`;
    throw new SwitchyardError('E_USAGE', `${dataPath}: no text column '${cfg.textColumn}'`, hint);
  }
  const batch = 16;
  const fwd = await Forward.compile(model, textClassifierOutputs, textInputs(batch, cfg.context), opts);
  const enc = encodeTexts(table.rows.map((r) => r[col]), tok, cfg.context, cfg.padId);
  const k = cfg.classes.length;
  const probabilities = await classifyEncoded(fwd, enc, cfg.context, batch, k);
  await fwd.release();
  const predictions = Array.from({ length: table.rows.length }, (_, i) => {
    const row = probabilities.subarray(i * k, (i + 1) * k);
    return cfg.classes[row.indexOf(Math.max(...row))];
  });
  return { task: 'classification', rows: table.rows.length, classes: cfg.classes, predictions, probabilities };
}

/**
 * The ONNX inference graph of a text-classifier run (see the module note), with its input and output names.
 *
 * @example
 * const { bytes } = await textClassifierOnnx('runs/spam');
 */
export async function textClassifierOnnx(
  runDir: string, opts: { opset?: number } = {},
): Promise<{ bytes: Uint8Array; inputs: string[]; outputs: string[] }> {
  const { cfg, tok, model } = await loadTextClassifierRun(runDir);
  const bytes = exportOnnx(model, textClassifierOutputs, textInputs('batch', cfg.context), {
    'switchyard.kind': cfg.kind,
    'switchyard.classes': JSON.stringify(cfg.classes),
    'switchyard.tokenizer': JSON.stringify(tok.toJSON()),
    'switchyard.pad_id': String(cfg.padId),
  }, { opset: opts.opset });
  return { bytes, inputs: ['ids', 'keep'], outputs: ['logits', 'probabilities'] };
}
