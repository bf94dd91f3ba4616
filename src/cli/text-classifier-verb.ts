import { existsSync } from 'node:fs';
import { readSpamAssassin } from '../data/text/spam-assassin.ts';
import { GPT_PRESETS } from '../models/gpt.ts';
import type { TextPooling } from '../models/text-classifier.ts';
import { readInitSource } from '../train/init-from.ts';
import { TEXT_CLASSIFIER_RANGES, trainTextClassifier } from '../train/text-classifier.ts';
import { SwitchyardError } from '../util/errors.ts';
import { checkOutputs } from '../util/paths.ts';
import { COMMON_FLAGS, flagGiven, formatHelp, parseArgs, THREADS_FLAG } from './args.ts';
import { emitJson } from './output.ts';
import { INIT_FROM_FLAGS, initFromArgs, TRAIN_INPUTS } from './train-verbs.ts';

const R = TEXT_CLASSIFIER_RANGES;

/** Flags of `switchyard train --model text-classifier`. */
export const TEXT_CLASSIFIER_SPEC = {
  ...COMMON_FLAGS,
  model: { type: 'string', required: true, help: 'text-classifier' },
  data: {
    type: 'string', required: true, valueName: 'file',
    help: 'labelled text: a CSV/TSV/JSONL/Parquet table, or spam-assassin',
  },
  out: { type: 'string', required: true, valueName: 'dir', help: 'run directory to write (config, weights, metrics)' },
  valid: { type: 'string', valueName: 'file', help: 'held-out labelled table (default: a stratified split of --data)' },
  target: { type: 'string', default: 'label', help: 'label column' },
  'text-column': { type: 'string', default: 'text', help: 'text column' },
  pooling: { type: 'string', default: 'mean', help: 'mean (over the text tokens) | cls (first token: encoders only)' },
  'labels-fraction': {
    type: 'number', ...R.labelsFraction, default: 1,
    help: 'train on this share of the labelled rows (seeded, stratified)',
  },
  'valid-fraction': {
    type: 'number', ...R.validFraction, default: 0.2, help: 'share of --data held out when --valid is absent',
  },
  context: { type: 'number', ...R.context, help: 'tokens per text, cut or padded (default and most: the body\'s)' },
  preset: { type: 'string', default: 'tiny', help: 'without --init-from: a fresh body, tiny | small (bidirectional)' },
  epochs: { type: 'number', ...R.epochs, default: 10, help: 'passes over the labelled rows' },
  steps: { type: 'number', ...R.steps, help: 'optimizer updates in total (overrides --epochs)' },
  'batch-size': { type: 'number', ...R.batchSize, default: 16, help: 'texts per update' },
  lr: { type: 'number', ...R.lr, default: 0.0003, help: 'peak learning rate (warm-up a tenth of the steps, cosine)' },
  'weight-decay': { type: 'number', ...R.weightDecay, default: 0.01, help: 'AdamW decoupled weight decay' },
  seed: { type: 'number', ...R.seed, default: 0, help: 'seed of the split, labelled subset, fresh weights, batches' },
  force: { type: 'boolean', help: 'replace an existing run in --out' },
  threads: THREADS_FLAG,
  ...INIT_FROM_FLAGS,
} as const;

const usage = (what: string, hint: string) => new SwitchyardError('E_USAGE', what, hint);

/** `switchyard train --model text-classifier` */
export async function textClassifierTrainVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, TEXT_CLASSIFIER_SPEC, 'train');
  if (a.help) {
    const what = 'Fine-tune a classifier on labelled text, from a pretrained encoder or GPT (--init-from) or fresh.';
    const help = formatHelp('train --model text-classifier', `${what}\n\n${TRAIN_INPUTS}`, TEXT_CLASSIFIER_SPEC);
    process.stdout.write(help);
    return 0;
  }
  if (a.pooling !== 'mean' && a.pooling !== 'cls') {
    throw usage(`--pooling ${a.pooling} is not mean or cls`, 'e.g. --pooling mean');
  }
  if (a.preset !== 'tiny' && a.preset !== 'small') {
    throw usage(`--preset ${a.preset} is not tiny or small`, 'e.g. --preset tiny');
  }
  const dataFile = a.data === 'spam-assassin' ? undefined : a.data;
  for (const [flag, path] of [['--data', dataFile], ['--valid', a.valid]] as const) {
    if (path !== undefined && !existsSync(path)) {
      throw new SwitchyardError('E_FILE_NOT_FOUND', `${path}: no such file (${flag})`, 'check the path');
    }
  }
  const inputs = [{ flag: '--data', path: dataFile }, { flag: '--valid', path: a.valid }];
  checkOutputs([{ flag: '--out', path: a.out, kind: 'dir', replaces: a.force }], inputs);
  const initOptions = await initFromArgs(a);
  if (initOptions && flagGiven(argv, 'preset')) {
    throw usage('--preset and --init-from together', 'the body comes from --init-from; drop --preset');
  }
  const initFrom = initOptions && (await readInitSource(initOptions, ['encoder', 'gpt']));
  const r = await trainTextClassifier({
    data: dataFile ?? readSpamAssassin(), valid: a.valid, out: a.out, target: a.target, textColumn: a['text-column'],
    pooling: a.pooling as TextPooling, model: { ...GPT_PRESETS[a.preset], causal: false }, initFrom,
    labelsFraction: a['labels-fraction'], validFraction: a['valid-fraction'], context: a.context, epochs: a.epochs,
    steps: a.steps, batchSize: a['batch-size'], lr: a.lr, weightDecay: a['weight-decay'], seed: a.seed,
    force: a.force, threads: a.threads, progress: { enabled: !a.quiet && !a.json },
  });
  if (a.json) emitJson({ ok: true, ...r });
  else {
    const rows = `${r.rows.labelled} of ${r.rows.train} training rows labelled`;
    const score = `validation accuracy ${(r.valid.accuracy * 100).toFixed(1)}% on ${r.valid.rows} rows`;
    process.stdout.write(`fine-tuned a text classifier for ${r.steps} steps (${rows}): ${score}\n`);
    process.stdout.write(`wrote ${r.out}/ (model.safetensors, tokenizer.json, metrics.json, config.json)\n`);
  }
  return 0;
}
