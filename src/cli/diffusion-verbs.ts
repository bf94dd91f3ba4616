import { existsSync } from 'node:fs';
import { DIFFUSION_OBJECTIVES, type NoiseSchedule } from '../train/diffusion.ts';
import { DIFFUSION_TRAIN_RANGES, trainDiffusion } from '../train/diffusion-run.ts';
import {
  DEFAULT_GUIDANCE, type DiffusionSamples, SAMPLE_RANGES, type Sampler, sampleDiffusion,
} from '../train/diffusion-sample.ts';
import { classifierFid, type ClassifierFidResult } from '../eval/classifier-fid.ts';
import { parseBuiltinImageName } from '../data/images/builtin.ts';
import { SwitchyardError } from '../util/errors.ts';
import { checkOutputs } from '../util/paths.ts';
import { MAX_IMAGE_PIXELS_FLAG } from './train-verbs.ts';
import { COMMON_FLAGS, DEVICE_FLAG, formatHelp, parseArgs, THREADS_FLAG } from './args.ts';
import { emitJson } from './output.ts';

const R = DIFFUSION_TRAIN_RANGES;

/** Flags of `switchyard train --model unet`. */
export const UNET_TRAIN_SPEC = {
  ...COMMON_FLAGS,
  model: { type: 'string', required: true, help: 'unet' },
  data: { type: 'string', required: true, help: 'images: mnist | fashion-mnist | a folder of PNG/JPEG (labels from sub-folders)' },
  out: { type: 'string', required: true, valueName: 'dir', help: 'run directory to write (config, weights, EMA, metrics)' },
  objective: { type: 'string', default: 'flow', help: 'flow (rectified flow) | ddpm (epsilon) | v (v-prediction)' },
  schedule: { type: 'string', default: 'cosine', help: 'noise schedule of ddpm and v: cosine | linear' },
  timesteps: { type: 'number', ...R.timesteps, default: 1000, help: 'diffusion steps of ddpm and v' },
  preset: { type: 'string', default: 'tiny', help: 'U-Net size: tiny | small' },
  'image-size': { type: 'number', ...R.imageSize, help: 'resize every image to this square side (default: the preset\'s, 28)' },
  channels: { type: 'number', ...R.channels, help: '1 (grey) or 3 (RGB); default 3 if any image is RGB, else 1' },
  'max-image-pixels': MAX_IMAGE_PIXELS_FLAG,
  upsample: {
    type: 'string', choices: ['nearest', 'bilinear'], default: 'nearest', help: 'how the up path upsamples: nearest | bilinear',
  },
  'class-conditional': { type: 'boolean', help: 'condition on the label (with label dropout, for --guidance)' },
  'min-snr-gamma': { type: 'number', ...R.minSnrGamma, default: 0, help: 'min-SNR-gamma loss weighting of ddpm and v (0: off; e.g. 5)' },
  'cond-dropout': { type: 'number', ...R.condDropout, default: 0.1, help: 'share of labels dropped to the null class' },
  steps: { type: 'number', ...R.steps, default: 1000, help: 'optimizer updates' },
  'batch-size': { type: 'number', ...R.batchSize, default: 32, help: 'images per update' },
  lr: { type: 'number', ...R.lr, default: 0.003, help: 'peak learning rate (warm-up, cosine to a tenth)' },
  'ema-decay': { type: 'number', ...R.emaDecay, default: 0.999, help: 'EMA decay per update (ema.safetensors)' },
  limit: { type: 'number', ...R.limit, help: 'train on at most this many images (default: all)' },
  'steps-per-call': { type: 'number', ...R.stepsPerCall, default: 8, help: 'updates per ONNX Runtime call' },
  seed: { type: 'number', ...R.seed, default: 0, help: 'seed of weights, batches, times and noise' },
  'checkpoint-every': { type: 'number', ...R.checkpointEvery, default: 100, help: 'save checkpoint/ (for --resume) every N updates' },
  resume: { type: 'boolean', help: 'continue the run in --out from its checkpoint (keeps its saved settings)' },
  'stop-after': { type: 'number', ...R.stopAfter, help: 'stop after this many updates in this invocation; continue with --resume' },
  snapshots: {
    type: 'list', ...R.snapshots, valueName: 'updates',
    help: 'also keep the EMA weights after these updates as ema-<N>.safetensors (sample --snapshot N), e.g. 250,500',
  },
  force: { type: 'boolean', conflicts: ['resume'], help: 'replace an existing run in --out' },
  threads: THREADS_FLAG,
  device: DEVICE_FLAG,
} as const;

const usage = (what: string, hint: string) => new SwitchyardError('E_USAGE', what, hint);

/** Throws E_USAGE unless `value` is one of `allowed` (naming `flag`). */
function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw usage(`${flag} ${value} is not one of ${allowed.join(', ')}`, `e.g. ${flag} ${allowed[0]}`);
  return value as T;
}

/** `switchyard train --model unet` */
export async function unetTrainVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, UNET_TRAIN_SPEC, 'train');
  if (a.help) {
    process.stdout.write(formatHelp('train --model unet', 'Train a U-Net diffusion model on images (see docs/diffusion.md).', UNET_TRAIN_SPEC));
    return 0;
  }
  checkOutputs([{ flag: '--out', path: a.out, kind: 'dir', replaces: a.force }], [{ flag: '--data', path: a.data }]);
  const r = await trainDiffusion({
    data: a.data, out: a.out, objective: oneOf('--objective', a.objective, DIFFUSION_OBJECTIVES),
    schedule: oneOf<NoiseSchedule>('--schedule', a.schedule, ['cosine', 'linear']), timesteps: a.timesteps,
    preset: oneOf('--preset', a.preset, ['tiny', 'small'] as const), classConditional: a['class-conditional'] ?? false,
    minSnrGamma: a['min-snr-gamma'], condDropout: a['cond-dropout'], steps: a.steps, batchSize: a['batch-size'], lr: a.lr, emaDecay: a['ema-decay'],
    limit: a.limit, stepsPerCall: a['steps-per-call'], seed: a.seed, force: a.force, threads: a.threads, device: a.device,
    imageSize: a['image-size'], channels: a.channels, upsample: a.upsample as 'nearest' | 'bilinear',
    maxImagePixels: a['max-image-pixels'],
    checkpointEvery: a['checkpoint-every'], resume: a.resume, stopAfter: a['stop-after'], snapshots: a.snapshots.map(Number),
    progress: { enabled: !a.quiet && !a.json },
  });
  if (a.json) emitJson({ ok: true, ...r });
  else {
    process.stdout.write(`trained a ${r.params}-parameter U-Net: last loss ${r.lastLoss.toFixed(4)}, ${r.msPerStep.toFixed(1)} ms/update\n`);
    process.stdout.write(`wrote ${r.out}/ (model.safetensors, ema.safetensors, metrics.jsonl, config.json)\n`);
  }
  return 0;
}

/** Flags of `switchyard sample`. */
export const SAMPLE_SPEC = {
  ...COMMON_FLAGS,
  model: { type: 'string', required: true, valueName: 'dir', help: 'a run written by switchyard train --model unet' },
  out: { type: 'string', required: true, valueName: 'file', help: 'PNG grid to write' },
  count: { type: 'number', ...SAMPLE_RANGES.count, default: 16, help: 'images to draw' },
  steps: { type: 'number', ...SAMPLE_RANGES.steps, default: 50, help: 'denoising steps' },
  sampler: { type: 'string', help: 'ddpm | ddim (ddpm and v runs; default ddim) | euler (flow runs; the default there)' },
  seed: { type: 'number', ...SAMPLE_RANGES.seed, default: 0, help: 'seed of the noise' },
  class: { type: 'number', ...SAMPLE_RANGES.classId, help: 'class id to draw (class-conditional runs; default: in turn)' },
  guidance: {
    type: 'number', ...SAMPLE_RANGES.guidance, default: DEFAULT_GUIDANCE,
    help: 'classifier-free guidance weight of class-conditional runs (1: none)',
  },
  raw: { type: 'boolean', help: 'sample with the raw weights instead of the EMA ones' },
  snapshot: { type: 'number', ...SAMPLE_RANGES.snapshot, help: 'sample the EMA weights kept after N updates (ema-N.safetensors)' },
  batch: { type: 'number', ...SAMPLE_RANGES.batch, default: 256, help: 'images denoised per batch' },
  fid: { type: 'boolean', help: 'score the samples: classifier FID (not Inception FID) vs the MNIST test split, and accuracy' },
  threads: THREADS_FLAG,
  device: DEVICE_FLAG,
} as const;

/** The classifier FID of a run's samples (E_USAGE unless the run was trained on MNIST, the reference's data). */
async function scoreSamples(r: DiffusionSamples, run: string, threads?: number): Promise<ClassifierFidResult> {
  if (parseBuiltinImageName(r.data)?.name !== 'mnist') {
    const what = `--fid: ${run} was trained on ${r.data}; the reference classifier of the classifier FID knows MNIST only`;
    throw new SwitchyardError('E_USAGE', what, 'drop --fid, or sample a run trained with --data mnist');
  }
  const n = r.images.length / (28 * 28); // MNIST images, checked above
  if (n < 2) throw new SwitchyardError('E_USAGE', '--fid needs --count >= 2', 'e.g. --count 1000');
  const digits = r.labels && Int32Array.from(r.labels, (id) => Number(r.classNames[id]));
  const images = { n, channels: 1, height: 28, width: 28, data: r.images };
  return classifierFid(images, { labels: digits, range: [-1, 1], threads });
}

/** The human lines of a classifier FID. */
function describeFid(f: ClassifierFidResult): string {
  const acc = f.accuracy === null ? '' : `; the reference classifier reads the digit asked for in ${(100 * f.accuracy).toFixed(1)}%`;
  return `${f.kind}: ${f.fid.toFixed(2)} (${f.samples} samples vs ${f.real.images} MNIST test images${acc})\n`;
}

/** `switchyard sample` */
export async function sampleVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, SAMPLE_SPEC, 'sample');
  if (a.help) {
    process.stdout.write(formatHelp('sample', 'Draw images from a diffusion run; writes a PNG grid.', SAMPLE_SPEC));
    return 0;
  }
  if (!existsSync(a.model)) throw new SwitchyardError('E_FILE_NOT_FOUND', `${a.model}: no such run (--model)`, 'pass the --out of switchyard train --model unet');
  checkOutputs([{ flag: '--out', path: a.out, kind: 'file' }], [{ flag: '--model', path: a.model, holdsOutputs: true }]);
  const sampler = a.sampler === undefined ? undefined : oneOf<Sampler>('--sampler', a.sampler, ['ddpm', 'ddim', 'euler']);
  const r = await sampleDiffusion(a.model, {
    out: a.out, count: a.count, steps: a.steps, sampler, seed: a.seed, classId: a.class, guidance: a.guidance,
    raw: a.raw, snapshot: a.snapshot, batch: a.batch, threads: a.threads, device: a.device,
  });
  const fid = a.fid ? await scoreSamples(r, a.model, a.threads) : undefined;
  if (a.json) emitJson({ ok: true, out: a.out, width: r.width, height: r.height, count: a.count, ...(fid ? { fid } : {}) });
  else {
    process.stdout.write(`wrote ${a.out} (${a.count} images, ${r.width}x${r.height})\n`);
    if (fid) process.stdout.write(describeFid(fid));
  }
  return 0;
}
