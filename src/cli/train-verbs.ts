import { checkOutputs } from '../util/paths.ts';
import { requireInput } from '../data/readers/index.ts';
import { parseBuiltinImageName } from '../data/images/builtin.ts';
import { isImageFolder, LABEL_COLUMN } from '../data/images/folder.ts';
import { MAX_IMAGE_PIXELS } from '../data/images/image.ts';
import { join } from 'node:path';
import { SwitchyardError } from '../util/errors.ts';
import { TABULAR_TRAIN_RANGES, trainTabular } from '../train/tabular.ts';
import { DEFAULT_MAX_PARAMS } from '../util/ranges.ts';
import { SAMPLE_RANGES } from '../train/diffusion-sample.ts';
import { predictionsToCsv, predictTabular, writePredictions } from '../train/tabular-predict.ts';
import type { ColumnRole } from '../data/schema.ts';
import type { Activation } from '../nn/layers.ts';
import { COMMON_FLAGS, DEVICE_FLAG, flagGiven, formatHelp, parseArgs, THREADS_FLAG } from './args.ts';
import { emitJson } from './output.ts';
import { exportHfGpt2, runKind, runOnnx, writeOnnxExport } from '../train/export-run.ts';
import { predictTextClassifier } from '../train/text-classifier-run.ts';
import { EXPORT_RANGES } from '../train/forward.ts';
import type { TabularInputs } from '../train/tabular-onnx.ts';
import { RUN_FILES } from '../train/run-dir.ts';
import { MANIFEST_NAME } from '../util/fs.ts';
import { type InitFromOptions, loadInitMap } from '../train/init-from.ts';

/** The `--init-from` flags of both `train` verbs (tabular and `--model gpt`). */
export const INIT_FROM_FLAGS = {
  'init-from': {
    type: 'string', conflicts: ['resume'],
    help: 'start from these weights (new run, fresh optimizer): a run directory, a .safetensors file or a GPT-2 folder',
  },
  'init-map': {
    type: 'string',
    help: 'JSON name map for --init-from: {"rename": [[regex, replacement], ...], "ignore": [regex, ...]}',
  },
  'init-partial': {
    type: 'boolean',
    help: '--init-from: leave tensors the source lacks (or has in another shape) fresh; allow unused ones',
  },
  'init-reshape': {
    type: 'boolean',
    help: '--init-from: copy the overlap of resized tensors (grown vocabulary or context), the rest fresh',
  },
} as const;

/**
 * The {@link InitFromOptions} of the `--init-*` flags (the name map file read), or undefined without `--init-from`
 * (then `--init-map`, `--init-partial` or `--init-reshape` alone is `E_USAGE`).
 *
 * @example
 * const initFrom = await initFromArgs(parseArgs(argv, TRAIN_SPEC, 'train'));
 */
export async function initFromArgs(
  a: { 'init-from'?: string; 'init-map'?: string; 'init-partial': boolean; 'init-reshape': boolean },
): Promise<InitFromOptions | undefined> {
  const path = a['init-from'];
  if (path === undefined) {
    const stray = (['init-map', 'init-partial', 'init-reshape'] as const).find((f) => a[f]);
    if (stray) throw new SwitchyardError('E_USAGE', `--${stray} needs --init-from`, 'add --init-from RUN_OR_FILE');
    return undefined;
  }
  const map = a['init-map'] !== undefined ? await loadInitMap(a['init-map']) : undefined;
  return { path, map, partial: a['init-partial'], reshape: a['init-reshape'] };
}

/**
 * `--max-image-pixels` of `train`, `predict` and `serve`: the per-image bound when `--data` is a folder of images
 * (or a request carries images).
 *
 * @example
 * const spec = { ...COMMON_FLAGS, 'max-image-pixels': MAX_IMAGE_PIXELS_FLAG } as const;
 */
export const MAX_IMAGE_PIXELS_FLAG = {
  type: 'number', default: MAX_IMAGE_PIXELS, ...TABULAR_TRAIN_RANGES.maxImagePixels,
  help: 'refuse an image (of a --data folder) of more pixels than this, before decoding it',
} as const;

export const TRAIN_SPEC = {
  ...COMMON_FLAGS,
  data: {
    type: 'string', required: true, valueName: 'file',
    help: 'training data: a table (CSV, TSV, JSONL, Parquet) or images (see inputs above)',
  },
  target: { type: 'string', help: 'column to predict (required for tables; images: label)' },
  out: { type: 'string', required: true, valueName: 'dir', help: 'run directory to write (config, weights, metrics)' },
  valid: { type: 'string', valueName: 'file', help: 'validation table, same formats (default: a stratified split of --data)' },
  task: { type: 'string', default: 'auto', help: 'auto | classification | regression' },
  hidden: { type: 'list', default: ['64', '64'], help: 'hidden layer sizes, e.g. --hidden 128,64' },
  activation: { type: 'string', default: 'relu', help: 'relu | gelu | silu' },
  dropout: { type: 'number', ...TABULAR_TRAIN_RANGES.dropout, default: 0, help: 'dropout probability after each hidden layer' },
  epochs: { type: 'number', ...TABULAR_TRAIN_RANGES.epochs, default: 30, help: 'maximum passes over the training data' },
  'batch-size': { type: 'number', ...TABULAR_TRAIN_RANGES.batchSize, default: 64, help: 'rows per batch' },
  lr: { type: 'number', ...TABULAR_TRAIN_RANGES.lr, default: 0.003, help: 'peak learning rate (warm-up then cosine decay)' },
  'weight-decay': { type: 'number', ...TABULAR_TRAIN_RANGES.weightDecay, default: 0.0001, help: 'decoupled weight decay' },
  optimizer: { type: 'string', default: 'adamw', help: 'adamw | sgd' },
  momentum: { type: 'number', ...TABULAR_TRAIN_RANGES.momentum, default: 0.9, help: 'SGD momentum' },
  'clip-norm': { type: 'number', ...TABULAR_TRAIN_RANGES.clipNorm, help: 'clip gradients to this global norm' },
  accumulate: { type: 'number', ...TABULAR_TRAIN_RANGES.accumulate, default: 1, help: 'micro-batches per optimizer update' },
  patience: { type: 'number', ...TABULAR_TRAIN_RANGES.patience, default: 5, help: 'early stopping: epochs without improvement (0 = off)' },
  'valid-fraction': { type: 'number', ...TABULAR_TRAIN_RANGES.validFraction, default: 0.2, help: 'share of rows held out when --valid is absent' },
  seed: { type: 'number', ...TABULAR_TRAIN_RANGES.seed, default: 0, help: 'random seed (weights, split, shuffling, dropout)' },
  columns: { type: 'list', help: 'override column kinds, e.g. --columns zip=categorical,notes=ignore,body=text' },
  'text-buckets': { type: 'number', ...TABULAR_TRAIN_RANGES.textBuckets, default: 1024, help: 'hash buckets per text column (word unigrams + bigrams, TF-IDF)' },
  'text-chars': { type: 'list', help: 'also hash character n-grams of text columns, min,max lengths, e.g. --text-chars 3,5' },
  'weight-column': { type: 'string', help: 'numeric column (>= 0) of per-example loss weights; not used as a feature' },
  resume: { type: 'boolean', help: 'continue the run in --out from its last checkpoint (keeps its saved hyper-parameters)' },
  'stop-after': { type: 'number', ...TABULAR_TRAIN_RANGES.stopAfter, help: 'stop after this many epochs in this invocation; continue later with --resume' },
  force: { type: 'boolean', conflicts: ['resume'], help: 'replace an existing run in --out' },
  threads: THREADS_FLAG,
  'max-image-pixels': MAX_IMAGE_PIXELS_FLAG,
  device: DEVICE_FLAG,
  'max-params': { type: 'number', default: DEFAULT_MAX_PARAMS, ...TABULAR_TRAIN_RANGES.maxParams, help: 'refuse a model with more parameters than this (checked before allocating)' },
  ...INIT_FROM_FLAGS,
} as const;

/**
 * What `switchyard train --help` (both models) says about inputs and the two model kinds: one text for both helps.
 *
 * @example
 * formatHelp('train', `Train an MLP.\n\n${TRAIN_INPUTS}`, TRAIN_SPEC);
 */
export const TRAIN_INPUTS = `inputs (--data):
  tabular model (no --model):  CSV (.csv, .txt; delimiter detected), TSV (.tsv, .tab), JSONL (.jsonl, .ndjson,
                               .json) or Parquet (.parquet, .pq); the --target column is the label; or images:
                               a folder of PNG/JPEG files, one sub-folder per label, or mnist / fashion-mnist
                               (built-in; :test is their held-out split), as pixel features (docs/images.md)
  --model gpt | encoder:       text files, or folders of .txt/.md files (comma-separated), or sotu (the built-in
                               State of the Union corpus)
  --model text-classifier:     a table with a text column (--text-column) and a label column (--target), or
                               spam-assassin (the built-in SpamAssassin e-mail corpus, labels spam/ham)
  --model conv-encoder | conv-classifier:
                               mnist / fashion-mnist (built-in; :test is their held-out split) or a folder of
                               PNG/JPEG files, one sub-folder per label (the encoder ignores the labels)

models (each with its own options):
  switchyard train --data T --target COL --out DIR         an MLP classifier or regressor
                                                           options: switchyard train --help
  switchyard train --model gpt --data TEXT|sotu --out DIR  a dense or Mixture-of-Experts GPT (--preset, --layers,
                                                           --experts, --tokenizer, --steps, ...)
                                                           options: switchyard train --model gpt --help
  switchyard train --model encoder --data TEXT|sotu --out DIR
                                                           a BERT-style encoder pretrained by masked-token prediction
  switchyard train --model text-classifier --data T --init-from RUN --out DIR
                                                           a classifier head on a pretrained (or fresh) body
                                                           options: switchyard train --model text-classifier --help
  switchyard train --model conv-encoder --data mnist --objective simclr|mae --out DIR
                                                           a small conv encoder pretrained without labels
  switchyard train --model conv-classifier --data mnist --init-from RUN [--freeze-encoder] --out DIR
                                                           a conv image classifier, fine-tuned or a linear probe`;

function parseColumns(list: string[] | undefined): Record<string, ColumnRole> {
  const out: Record<string, ColumnRole> = {};
  for (const item of list ?? []) {
    const [name, kind] = item.split('=');
    const kinds = ['numeric', 'categorical', 'boolean', 'text', 'identifier', 'ignore'];
    if (!name || !kind || !kinds.includes(kind)) throw new SwitchyardError('E_USAGE', `--columns entry '${item}' is not name=kind`, `kinds: ${kinds.join(', ')}`);
    out[name] = kind as ColumnRole;
  }
  return out;
}

/** `switchyard train` */
export async function trainVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, TRAIN_SPEC, 'train');
  if (a.help) return void process.stdout.write(formatHelp('train', `Train an MLP classifier or regressor on a table (or a GPT on text: --model gpt).\n\n${TRAIN_INPUTS}`, TRAIN_SPEC)), 0;
  requireInput(a.data, '--data');
  if (a.valid) requireInput(a.valid, '--valid');
  const target = a.target ?? (parseBuiltinImageName(a.data) || isImageFolder(a.data) ? LABEL_COLUMN : undefined);
  if (target === undefined) {
    throw new SwitchyardError(
      'E_USAGE',
      'missing required option --target',
      'name the column to predict (only image data has a default: label)',
    );
  }
  checkOutputs([{ flag: '--out', path: a.out, kind: 'dir', replaces: a.force }], [{ flag: '--data', path: a.data }, { flag: '--valid', path: a.valid }]);
  const hidden = a.hidden.map((h) => {
    const n = Number(h);
    if (!Number.isInteger(n) || n < 1) throw new SwitchyardError('E_USAGE', `--hidden entry '${h}' is not a positive integer`, 'e.g. --hidden 128,64');
    return n;
  });
  if (!['auto', 'classification', 'regression'].includes(a.task)) throw new SwitchyardError('E_USAGE', `--task ${a.task} is not auto, classification or regression`, 'e.g. --task regression');
  const chars = a['text-chars']?.length ? a['text-chars'].map(Number) : undefined;
  if (chars && (chars.length !== 2 || !chars.every((c) => Number.isInteger(c) && c >= 1) || chars[1] < chars[0])) {
    throw new SwitchyardError('E_USAGE', `--text-chars ${a['text-chars']!.join(',')} is not min,max`, 'e.g. --text-chars 3,5');
  }
  if (!['adamw', 'sgd'].includes(a.optimizer)) throw new SwitchyardError('E_USAGE', `--optimizer ${a.optimizer} is not adamw or sgd`, 'e.g. --optimizer sgd');
  const initFrom = await initFromArgs(a);
  // From a run, --init-from keeps its hidden sizes and activation unless they are typed.
  const fromSource = (flag: string) => initFrom !== undefined && !flagGiven(argv, flag);
  const summary = await trainTabular({
    data: a.data, target, out: a.out, valid: a.valid, task: a.task as 'auto', initFrom,
    hidden: fromSource('hidden') ? undefined : hidden,
    activation: fromSource('activation') ? undefined : a.activation as Activation,
    dropout: a.dropout, epochs: a.epochs, batchSize: a['batch-size'], lr: a.lr, weightDecay: a['weight-decay'], optimizer: a.optimizer as 'adamw',
    momentum: a.momentum, clipNorm: a['clip-norm'], accumulate: a.accumulate, patience: a.patience, validFraction: a['valid-fraction'], seed: a.seed,
    columns: parseColumns(a.columns), textBuckets: a['text-buckets'], textCharNgrams: chars as [number, number] | undefined, weightColumn: a['weight-column'], resume: a.resume, force: a.force, stopAfter: a['stop-after'], threads: a.threads, device: a.device, maxParams: a['max-params'], maxImagePixels: a['max-image-pixels'], progress: { enabled: !a.quiet && !a.json },
  });
  if (a.json) emitJson({ ok: true, ...summary });
  else {
    const v = summary.valid;
    const score = v.accuracy !== undefined ? `accuracy ${(v.accuracy * 100).toFixed(1)}%` : `RMSE ${v.rmse?.toPrecision(4)}`;
    process.stdout.write(`trained ${summary.task} MLP on ${summary.rows.train} rows x ${summary.features} features for ${summary.epochs} epochs${summary.stoppedEarly ? ' (early stop)' : ''}\n`);
    process.stdout.write(`best epoch ${summary.bestEpoch}: validation loss ${v.loss.toFixed(4)}, ${score}; ${Math.round(summary.examplesPerSecond)} examples/s\n`);
    process.stdout.write(`wrote ${summary.out}/ (model.safetensors, metrics.json, config.json)\n`);
  }
  return 0;
}

const PREDICT_SPEC = {
  ...COMMON_FLAGS,
  model: { type: 'string', required: true, help: 'run directory written by switchyard train' },
  data: {
    type: 'string', required: true, valueName: 'file',
    help: 'table with the training columns (target optional): CSV, TSV, JSONL or Parquet; images: a folder or mnist:test',
  },
  out: { type: 'string', valueName: 'file', help: 'predictions CSV file to write (default: stdout)' },
  threads: THREADS_FLAG,
  'max-image-pixels': MAX_IMAGE_PIXELS_FLAG,
} as const;

/** `switchyard predict` */
export async function predictVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, PREDICT_SPEC, 'predict');
  if (a.help) return void process.stdout.write(formatHelp('predict', 'Predict with a trained tabular model or text classifier; writes labels and class probabilities as CSV.', PREDICT_SPEC)), 0;
  requireInput(a.data, '--data');
  checkOutputs([{ flag: '--out', path: a.out, kind: 'file' }], [{ flag: '--model', path: a.model }, { flag: '--data', path: a.data }]);
  const textModel = (await runKind(a.model)) === 'text-classifier';
  const p = textModel ? await predictTextClassifier(a.model, a.data, { threads: a.threads })
    : await predictTabular(a.model, a.data, { threads: a.threads, maxImagePixels: a['max-image-pixels'] });
  if (a.out) await writePredictions(a.out, p);
  if (a.json) emitJson({ ok: true, task: p.task, rows: p.rows, classes: p.classes, out: a.out ?? null, predictions: a.out ? undefined : p.predictions });
  else if (a.out) process.stdout.write(`wrote ${p.rows} predictions to ${a.out}\n`);
  else process.stdout.write(predictionsToCsv(p));
  return 0;
}

const EXPORT_SPEC = {
  ...COMMON_FLAGS,
  model: { type: 'string', required: true, help: 'run directory written by switchyard train' },
  out: { type: 'string', required: true, valueName: 'file', help: 'ONNX file to write (a folder with --format hf-gpt2)' },
  format: {
    type: 'string',
    default: 'onnx',
    help: 'onnx | hf-gpt2 (a GPT run as a Hugging Face GPT-2 folder: model.safetensors, config.json, tokenizer.json)',
  },
  inputs: { type: 'string', help: 'tabular inputs: raw (one per column, encoding in the graph; default) or features (the encoded matrix)' },
  'target-opset': { type: 'number', ...EXPORT_RANGES.opset, help: 'ONNX opset to write (default 18; 17 for onnx 1.12-era tools)' },
  'sample-steps': {
    type: 'number', ...SAMPLE_RANGES.steps,
    help: 'diffusion runs: denoising steps of the exported sampling loop (default 50; ddim or euler, as sample)',
  },
} as const;

/** `switchyard export` */
export async function exportVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, EXPORT_SPEC, 'export');
  if (a.help) return void process.stdout.write(formatHelp('export', 'Export the inference graph of a trained model as ONNX (opset 18).', EXPORT_SPEC)), 0;
  // The export may go into the run (a run holds model.onnx when exported), but never onto a file the run is made of.
  const runFiles = [...Object.values(RUN_FILES), MANIFEST_NAME, 'calibration.json'].map((f) => join(a.model, f));
  const inputs = [{ flag: '--model', path: a.model, holdsOutputs: true }, ...runFiles.map((path) => ({ flag: '--model', path }))];
  if (a.format !== 'onnx' && a.format !== 'hf-gpt2') {
    throw new SwitchyardError('E_USAGE', `--format ${a.format} is not onnx or hf-gpt2`, 'e.g. --format hf-gpt2');
  }
  if (a.format === 'hf-gpt2') {
    checkOutputs([{ flag: '--out', path: a.out, kind: 'dir', replaces: true }], inputs);
    const r = await exportHfGpt2(a.model, a.out);
    if (a.json) emitJson({ ok: true, out: a.out, format: a.format, ...r });
    else {
      const what = `model.safetensors with ${r.tensors} tensors, config.json, tokenizer.json`;
      process.stdout.write(`wrote ${a.out}/ (GPT-2 layout: ${what})\n`);
    }
    return 0;
  }
  checkOutputs([{ flag: '--out', path: a.out, kind: 'file' }], inputs);
  // runOnnx checks both (a library caller gets the same errors).
  const { bytes, ...io } = await runOnnx(a.model, {
    inputs: a.inputs as TabularInputs | undefined, opset: a['target-opset'], sampleSteps: a['sample-steps'],
  });
  await writeOnnxExport(a.out, bytes);
  const r = { bytes: bytes.length, ...io };
  if (a.json) emitJson({ ok: true, out: a.out, ...r });
  else process.stdout.write(`wrote ${a.out} (${r.bytes} bytes; input ${r.inputs.join(', ')}; outputs ${r.outputs.join(', ')})\n`);
  return 0;
}
