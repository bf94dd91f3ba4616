import { trainImageClassifier, IMAGE_CLASSIFIER_RANGES } from '../train/image-fine-tune.ts';
import { IMAGE_SSL_RANGES, trainImageSsl } from '../train/image-ssl.ts';
import { readInitSource } from '../train/init-from.ts';
import { checkOutputs } from '../util/paths.ts';
import { COMMON_FLAGS, formatHelp, parseArgs, THREADS_FLAG } from './args.ts';
import { emitJson } from './output.ts';
import { INIT_FROM_FLAGS, initFromArgs, TRAIN_INPUTS } from './train-verbs.ts';

const S = IMAGE_SSL_RANGES;
const C = IMAGE_CLASSIFIER_RANGES;
const IMAGES = 'images: mnist | fashion-mnist | a folder of PNG/JPEG (one sub-folder per class)';

/** Flags of `switchyard train --model conv-encoder`. */
export const CONV_ENCODER_SPEC = {
  ...COMMON_FLAGS,
  model: { type: 'string', required: true, help: 'conv-encoder' },
  data: { type: 'string', required: true, help: `unlabelled ${IMAGES}; labels are not read` },
  out: { type: 'string', required: true, valueName: 'dir', help: 'run directory to write (config, weights, metrics)' },
  objective: {
    type: 'string', choices: ['simclr', 'mae'], default: 'simclr',
    help: 'simclr (contrastive, NT-Xent) | mae (masked autoencoder)',
  },
  temperature: { type: 'number', ...S.temperature, default: 0.5, help: 'simclr: NT-Xent temperature' },
  'mask-ratio': { type: 'number', ...S.maskRatio, default: 0.5, help: 'mae: share of the patches masked' },
  patch: { type: 'number', ...S.patch, default: 4, help: 'mae: side of the square patches masked, in pixels' },
  hidden: { type: 'number', ...S.hidden, default: 128, help: 'width of the projector / decoder hidden layer' },
  steps: { type: 'number', ...S.steps, default: 500, help: 'optimizer updates' },
  'batch-size': { type: 'number', ...S.batchSize, default: 64, help: 'images per update (simclr: two views each)' },
  lr: { type: 'number', ...S.lr, default: 0.002, help: 'peak learning rate (warm-up a twentieth, cosine to a tenth)' },
  'weight-decay': { type: 'number', ...S.weightDecay, default: 0.0001, help: 'AdamW decoupled weight decay' },
  limit: { type: 'number', ...S.limit, help: 'train on at most this many images (default: all)' },
  seed: { type: 'number', ...S.seed, default: 0, help: 'seed of the weights, batches, views and masks' },
  'checkpoint-every': { type: 'number', ...S.checkpointEvery, default: 100, help: 'save checkpoint/ every N updates' },
  resume: { type: 'boolean', help: 'continue the run in --out from its last checkpoint (keeps its hyper-parameters)' },
  'stop-after': {
    type: 'number', ...S.stopAfter, help: 'stop after this many updates in this invocation; continue with --resume',
  },
  force: { type: 'boolean', conflicts: ['resume'], help: 'replace an existing run in --out' },
  threads: THREADS_FLAG,
} as const;

/** Flags of `switchyard train --model conv-classifier`. */
export const CONV_CLASSIFIER_SPEC = {
  ...COMMON_FLAGS,
  model: { type: 'string', required: true, help: 'conv-classifier' },
  data: { type: 'string', required: true, help: `labelled ${IMAGES}` },
  out: { type: 'string', required: true, valueName: 'dir', help: 'run directory to write (config, weights, metrics)' },
  valid: { type: 'string', help: 'held-out labelled images, e.g. mnist:test (default: a stratified split of --data)' },
  'freeze-encoder': { type: 'boolean', help: 'linear probe: train only the head on the encoder\'s features' },
  'labels-fraction': {
    type: 'number', ...C.labelsFraction, default: 1,
    help: 'train on this share of the labelled images (seeded, stratified)',
  },
  'valid-fraction': {
    type: 'number', ...C.validFraction, default: 0.2, help: 'share of --data held out when --valid is absent',
  },
  epochs: { type: 'number', ...C.epochs, default: 10, help: 'passes over the labelled images' },
  steps: { type: 'number', ...C.steps, help: 'optimizer updates in total (overrides --epochs)' },
  'batch-size': { type: 'number', ...C.batchSize, default: 64, help: 'images per update' },
  lr: { type: 'number', ...C.lr, default: 0.002, help: 'peak learning rate (warm-up a twentieth, cosine to a tenth)' },
  'weight-decay': { type: 'number', ...C.weightDecay, default: 0.01, help: 'AdamW decoupled weight decay' },
  limit: { type: 'number', ...C.limit, help: 'read at most this many images of --data (default: all)' },
  seed: { type: 'number', ...C.seed, default: 0, help: 'seed of the split, labelled subset, fresh weights, batches' },
  force: { type: 'boolean', help: 'replace an existing run in --out' },
  threads: THREADS_FLAG,
  ...INIT_FROM_FLAGS,
} as const;

/** `switchyard train --model conv-encoder` */
export async function convEncoderTrainVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, CONV_ENCODER_SPEC, 'train');
  if (a.help) {
    const what = 'Pretrain a small conv encoder on unlabelled images: SimCLR or a masked autoencoder'
      + ' (docs/self-supervised.md).';
    process.stdout.write(formatHelp('train --model conv-encoder', `${what}\n\n${TRAIN_INPUTS}`, CONV_ENCODER_SPEC));
    return 0;
  }
  checkOutputs([{ flag: '--out', path: a.out, kind: 'dir', replaces: a.force }], [{ flag: '--data', path: a.data }]);
  const r = await trainImageSsl({
    data: a.data, out: a.out, objective: a.objective, temperature: a.temperature, maskRatio: a['mask-ratio'],
    patch: a.patch, hidden: a.hidden, steps: a.steps, batchSize: a['batch-size'], lr: a.lr,
    weightDecay: a['weight-decay'], limit: a.limit, seed: a.seed, checkpointEvery: a['checkpoint-every'],
    resume: a.resume, stopAfter: a['stop-after'], force: a.force, threads: a.threads,
    progress: { enabled: !a.quiet && !a.json },
  });
  if (a.json) emitJson({ ok: true, ...r });
  else {
    const loss = `loss ${r.firstLoss.toFixed(4)} -> ${r.lastLoss.toFixed(4)}`;
    const what = `pretrained a ${r.params}-parameter conv encoder (${a.objective}) on ${r.images} images`;
    process.stdout.write(`${what}: ${loss}\n`);
    process.stdout.write(`wrote ${r.out}/ (model.safetensors, metrics.jsonl, config.json)\n`);
  }
  return 0;
}

/** `switchyard train --model conv-classifier` */
export async function convClassifierTrainVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, CONV_CLASSIFIER_SPEC, 'train');
  if (a.help) {
    const what = 'Train a conv image classifier, fresh or from a pretrained conv encoder (--init-from), fine-tuned or'
      + ' probed.';
    const help = formatHelp('train --model conv-classifier', `${what}\n\n${TRAIN_INPUTS}`, CONV_CLASSIFIER_SPEC);
    process.stdout.write(help);
    return 0;
  }
  const inputs = [{ flag: '--data', path: a.data }, { flag: '--valid', path: a.valid }];
  checkOutputs([{ flag: '--out', path: a.out, kind: 'dir', replaces: a.force }], inputs);
  const initOptions = await initFromArgs(a);
  const initFrom = initOptions && (await readInitSource(initOptions, ['conv-encoder', 'image-classifier']));
  const r = await trainImageClassifier({
    data: a.data, valid: a.valid, out: a.out, initFrom, freezeEncoder: a['freeze-encoder'],
    labelsFraction: a['labels-fraction'], validFraction: a['valid-fraction'], epochs: a.epochs, steps: a.steps,
    batchSize: a['batch-size'], lr: a.lr, weightDecay: a['weight-decay'], limit: a.limit, seed: a.seed, force: a.force,
    threads: a.threads, progress: { enabled: !a.quiet && !a.json },
  });
  const { predictions: _p, labels: _l, ...valid } = r.valid;
  if (a.json) emitJson({ ok: true, ...r, valid });
  else {
    const how = a['freeze-encoder'] ? 'linear probe' : 'classifier';
    const rows = `${r.rows.labelled} of ${r.rows.train} training images labelled`;
    const score = `validation accuracy ${(valid.accuracy * 100).toFixed(1)}% on ${valid.rows} images`;
    process.stdout.write(`trained a conv ${how} for ${r.steps} steps (${rows}): ${score}\n`);
    process.stdout.write(`wrote ${r.out}/ (model.safetensors, metrics.json, config.json)\n`);
  }
  return 0;
}
