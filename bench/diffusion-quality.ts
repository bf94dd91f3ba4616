/**
 * Diffusion quality (issue 14, item 3): the tiny class-conditional U-Net trained on the built-in MNIST training split
 * by Switchyard and by a PyTorch implementation of the same U-Net, objectives, schedule, optimizer and EMA
 * (bench/torch_unet.py), at equal updates, batch and learning rate, and both scored by the same yardstick: the
 * classifier FID of src/eval/classifier-fid.ts (penultimate features of the shipped MNIST reference classifier against
 * the 2,000 test images; not Inception FID) and the reference's accuracy on the samples (image i is drawn for digit
 * i % 10, classifier-free guidance --guidance, default 3 as in `switchyard sample`). Rows: FID against training
 * updates (EMA snapshots of one run, DDIM), and against sampling steps for DDPM and DDIM (epsilon objective) and Euler
 * (a rectified-flow run). Step times are medians per update, both
 * sides at the same thread count, trained one after the other (never at the same time).
 * Writes bench/results/diffusion-quality.json and a BENCHMARKS.md section; the PyTorch samples are kept as raw f32
 * arrays and PNG grids in runs/diffusion-quality/.
 *
 *   nice -n 10 node bin/run-ts.js bench/diffusion-quality.ts [--steps 300] [--samples 256] [--sample-steps 5,20]
 *     [--threads 1] [--batch 32] [--lr 0.003] [--guidance 3] [--quick]
 */
import { readFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { imagesToBatch, readBuiltinImages, writeImageGrid } from '../src/data/images/index.ts';
import { classifierFid, CLASSIFIER_FID_KIND, type ClassifierFidResult } from '../src/eval/classifier-fid.ts';
import type { DiffusionObjective } from '../src/train/diffusion.ts';
import { trainDiffusion } from '../src/train/diffusion-run.ts';
import { type Sampler, sampleDiffusion } from '../src/train/diffusion-sample.ts';
import { runJsonChild } from './child.ts';
import { median } from './stats.ts';
import { formatNumber, REPO_ROOT, updateBenchmarksMd, writeBenchResult } from './report.ts';
import { findTorchPython, torchChildEnv } from './torch-lm.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const QUICK = process.argv.includes('--quick'); // a smoke run: results not written
const STEPS = Number(arg('steps', QUICK ? '16' : '300'));
const SAMPLES = Number(arg('samples', QUICK ? '20' : '256'));
const SAMPLE_STEPS = arg('sample-steps', QUICK ? '2,4' : '5,20').split(',').map(Number);
const THREADS = Number(arg('threads', '1'));
const BATCH = Number(arg('batch', '32'));
const LR = Number(arg('lr', '0.003'));
const GUIDANCE = Number(arg('guidance', '3'));
const SNAPSHOTS = [STEPS / 4, STEPS / 2].map(Math.round);
const CURVE_STEPS = Math.max(...SAMPLE_STEPS);
const TRAIN = { timesteps: 1000, schedule: 'cosine', emaDecay: 0.999, seed: 0 } as const;
const work = join(REPO_ROOT, 'runs', 'diffusion-quality');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const t0 = performance.now();
const log = (s: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}\n`);
const loadBefore = loadavg()[0];

/** One scored set of samples. */
interface Eval { objective: DiffusionObjective; updates: number; sampler: Sampler; steps: number; file: string }
const plan = (objective: DiffusionObjective): Eval[] => {
  const out: Eval[] = [];
  const add = (updates: number, sampler: Sampler, steps: number) =>
    out.push({ objective, updates, sampler, steps, file: join(work, `${objective}-${updates}-${sampler}-${steps}`) });
  if (objective === 'flow') for (const s of SAMPLE_STEPS) add(STEPS, 'euler', s);
  else {
    for (const u of SNAPSHOTS) add(u, 'ddim', CURVE_STEPS);
    for (const s of SAMPLE_STEPS) for (const sampler of ['ddim', 'ddpm'] as const) add(STEPS, sampler, s);
  }
  return out;
};
const classOf = (n: number) => Int32Array.from({ length: n }, (_, i) => i % 10);

// The training data both sides read: the split the classifier FID's reference was trained on, in [-1, 1].
const table = readBuiltinImages('mnist', 'train');
const x0 = imagesToBatch(table.images).data.map((v) => v * 2 - 1);
writeFileSync(join(work, 'mnist-train.f32'), x0);
writeFileSync(join(work, 'mnist-train.i64'), BigInt64Array.from(table.rows, (r) => BigInt(Number(r[1]))));

// The floor: real training images against the real test images, at the same count (FID is biased up for few).
const realRows = Array.from({ length: SAMPLES }, (_, i) => Math.floor((i * table.images.length) / SAMPLES));
const floor = await classifierFid(imagesToBatch(realRows.map((i) => table.images[i])), { threads: THREADS });
log(`real train images vs test: ${CLASSIFIER_FID_KIND} ${floor.fid.toFixed(2)}`);

type Scores = Record<string, ClassifierFidResult>;
const score = async (images: Float32Array, n: number): Promise<ClassifierFidResult> =>
  classifierFid({ n, channels: 1, height: 28, width: 28, data: images }, { labels: classOf(n), range: [-1, 1], threads: THREADS });

async function switchyardSide(objective: DiffusionObjective): Promise<{ msPerStep: number; seconds: number; scores: Scores }> {
  const out = join(work, `switchyard-${objective}`);
  await trainDiffusion({
    data: 'mnist', out, objective, classConditional: true, steps: STEPS, batchSize: BATCH, lr: LR, threads: THREADS,
    snapshots: SNAPSHOTS, ...TRAIN, progress: { enabled: false },
  });
  const records = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const msPerStep = median(records.map((r: { msPerStep: number }) => r.msPerStep));
  log(`switchyard ${objective}: ${STEPS} updates, median ${msPerStep.toFixed(0)} ms/update`);
  const scores: Scores = {};
  const s0 = performance.now();
  for (const e of plan(objective)) {
    const r = await sampleDiffusion(out, {
      out: `${e.file}-switchyard.png`, count: SAMPLES, steps: e.steps, sampler: e.sampler, seed: 1, threads: THREADS,
      guidance: GUIDANCE,
      ...(e.updates < STEPS ? { snapshot: e.updates } : {}),
    });
    scores[e.file] = await score(r.images, SAMPLES);
    log(`  switchyard ${e.updates} updates, ${e.sampler} ${e.steps}: FID ${scores[e.file].fid.toFixed(2)}, accuracy ${scores[e.file].accuracy}`);
  }
  return { msPerStep, seconds: (performance.now() - s0) / 1000, scores };
}

async function torchSide(objective: DiffusionObjective): Promise<{ msPerStep: number; seconds: number; scores: Scores } | string> {
  const found = findTorchPython();
  if ('skipped' in found) return found.skipped;
  const evals = plan(objective);
  const spec = {
    images: join(work, 'mnist-train.f32'), labels: join(work, 'mnist-train.i64'), objective, steps: STEPS, batch: BATCH,
    lr: LR, threads: THREADS, snapshots: [...SNAPSHOTS, STEPS], ...TRAIN,
    plan: evals.map((e) => ({
      snapshot: e.updates, sampler: e.sampler, steps: e.steps, count: SAMPLES, seed: 1, guidance: GUIDANCE,
      file: `${e.file}-torch.f32`,
    })),
  };
  const specFile = join(work, `torch-${objective}.json`);
  writeFileSync(specFile, JSON.stringify(spec));
  const script = join(REPO_ROOT, 'bench', 'torch_unet.py');
  const r = await runJsonChild<{ msPerStep: number; sampleSeconds: number; params: number; torch: string }>(
    `torch-unet (${objective})`, found.python, [script, '--spec', specFile], torchChildEnv(THREADS));
  if (r.params !== 108_465) throw new Error(`torch_unet.py: ${r.params} parameters, the Switchyard tiny U-Net has 108465`);
  log(`pytorch ${r.torch} ${objective}: median ${r.msPerStep.toFixed(0)} ms/update`);
  const scores: Scores = {};
  for (const e of evals) {
    const images = new Float32Array(readFileSync(`${e.file}-torch.f32`).buffer.slice(0));
    const batch = { n: SAMPLES, channels: 1, height: 28, width: 28, data: images };
    await writeImageGrid(batch, Math.ceil(Math.sqrt(SAMPLES)), `${e.file}-torch.png`, { range: [-1, 1] });
    scores[e.file] = await score(images, SAMPLES);
    log(`  pytorch ${e.updates} updates, ${e.sampler} ${e.steps}: FID ${scores[e.file].fid.toFixed(2)}, accuracy ${scores[e.file].accuracy}`);
  }
  return { msPerStep: r.msPerStep, seconds: r.sampleSeconds, scores };
}

const sides: Record<string, { switchyard: Awaited<ReturnType<typeof switchyardSide>>; torch: Awaited<ReturnType<typeof torchSide>> }> = {};
for (const objective of ['ddpm', 'flow'] as const) {
  const switchyard = await switchyardSide(objective);
  const torch = await torchSide(objective);
  if (typeof torch === 'string') log(`pytorch skipped: ${torch}`);
  sides[objective] = { switchyard, torch };
}
const loadAfter = loadavg()[0];

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '' : `${(100 * x).toFixed(1)}%`);
const rows = (['ddpm', 'flow'] as const).flatMap((objective) => plan(objective).map((e) => {
  const ours = sides[objective].switchyard.scores[e.file];
  const peer = sides[objective].torch;
  const theirs = typeof peer === 'string' ? undefined : peer.scores[e.file];
  return [
    objective === 'ddpm' ? 'ddpm (epsilon)' : 'flow', e.updates, e.sampler, e.steps, ours.fid, theirs ? theirs.fid : 'n/a',
    pct(ours.accuracy), pct(theirs?.accuracy),
  ];
}));
const stepRows = (['ddpm', 'flow'] as const).map((o) => {
  const peer = sides[o].torch;
  return { objective: o, switchyardMs: sides[o].switchyard.msPerStep, torchMs: typeof peer === 'string' ? null : peer.msPerStep };
});
const minutes = (performance.now() - t0) / 60_000;
const payload = {
  kind: CLASSIFIER_FID_KIND, steps: STEPS, samples: SAMPLES, sampleSteps: SAMPLE_STEPS, snapshots: SNAPSHOTS, threads: THREADS,
  batch: BATCH, lr: LR, guidance: GUIDANCE, ...TRAIN, floor, rows, stepTimes: stepRows, loadAverage: [loadBefore, loadAfter], minutes,
  scores: Object.fromEntries(Object.entries(sides).map(([o, s]) => [o, { switchyard: s.switchyard.scores, torch: s.torch }])),
};
if (QUICK) {
  log(JSON.stringify({ rows, stepRows, floor: floor.fid }));
} else {
  writeBenchResult('diffusion-quality', payload);
  const steps = stepRows.map((r) => `${r.objective}: Switchyard ${formatNumber(r.switchyardMs)} ms, PyTorch ` +
    `${r.torchMs === null ? 'n/a' : formatNumber(r.torchMs)} ms` +
    (r.torchMs === null ? '' : ` (Switchyard ${(r.torchMs / r.switchyardMs).toFixed(2)}x PyTorch's speed)`)).join('; ');
  updateBenchmarksMd({
    name: 'diffusion-quality',
    title: 'Diffusion quality: classifier FID, Switchyard vs PyTorch (tiny U-Net, MNIST)',
    intro:
      `**${CLASSIFIER_FID_KIND}.** The tiny class-conditional U-Net (108,465 parameters) trained on the built-in MNIST ` +
      `training split (8,000 images) by Switchyard and by the same U-Net in PyTorch (bench/torch_unet.py), ${STEPS} ` +
      `updates at batch ${BATCH}, lr ${LR} (warm-up, cosine to a tenth), AdamW, clip 1, cosine schedule, EMA 0.999, ` +
      `label dropout 0.1, ${THREADS} thread(s) each. Each row scores ${SAMPLES} samples (image i drawn for digit i % 10, ` +
      `${GUIDANCE === 1 ? 'no guidance' : `classifier-free guidance ${GUIDANCE}`}, seed 1) by the shipped reference classifier (98.0% test accuracy): FID of its 64 penultimate ` +
      `features against the 2,000 test images, and its accuracy on the digit asked for. Rows at fewer updates use ` +
      `the EMA weights kept during the same run. The floor: ${SAMPLES} real training images score ` +
      `${formatNumber(floor.fid)} (FID is biased upwards for few samples).`,
    columns: ['objective', 'updates', 'sampler', 'sampling steps', 'FID Switchyard', 'FID PyTorch', 'accuracy Switchyard',
      'accuracy PyTorch'],
    rows,
    notes: [
      `Median ms per training update (forward + backward + AdamW at batch ${BATCH}): ${steps}.`,
      `The machine's 1-minute load average was ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after, on 2 ` +
        `cores shared with 4 other engineers' jobs; the run took ${minutes.toFixed(0)} minutes, niced. Step times under ` +
        'such load are upper bounds.',
      'Both sides draw their own batches, times and noise from their own seeded generators (not the same stream), so ' +
        'FIDs differ by seed noise as well as by implementation; a longer run: --steps 2000 --samples 1000.',
    ],
  });
}
log(`done in ${minutes.toFixed(1)} minutes`);
