/**
 * The LM training-step benchmark (issue 3): the fixed dense and MoE configs of bench/lm-config.ts in Switchyard,
 * PyTorch (CPU, when installed) and TensorFlow.js (dense, wasm backend), side by side in one run, with the ORT
 * MatMul ceiling measured before and after. Called by bench/run.ts.
 */
import { measureOrtMatmul } from './ort-matmul.ts';
import { LM_CONFIGS, type LmPeerResult, activeParams, totalParams } from './lm-config.ts';
import { formatNumber, updateBenchmarksMd, writeBenchResult } from './report.ts';
import { median } from './stats.ts';
import { measureSwitchyardLm } from './switchyard-lm.ts';
import { measureTfjsLm } from './tfjs-lm.ts';
import { measureTorchLm } from './torch-lm.ts';

/** Runs the LM section and updates BENCHMARKS.md; `quick` shortens every timing. */
export async function runLmBench(quick: boolean, log: (s: string) => void): Promise<void> {
  const seconds = quick ? 4 : 12;
  const ceilings: number[] = [];
  const ceiling = async () => {
    const r = await measureOrtMatmul({ m: 256, k: 1024, n: 1024, seconds: quick ? 1 : 3 });
    ceilings.push(r.gflops);
    log(`ORT MatMul 256x1024x1024: ${r.gflops.toFixed(1)} GFLOP/s`);
  };
  const results: LmPeerResult[] = [];
  const notes: string[] = [];
  await ceiling();
  for (const config of ['dense', 'moe'] as const) {
    if (config === 'moe') await ceiling();
    const s = await measureSwitchyardLm(config, seconds);
    log(`switchyard ${config}: ${s.msPerStep.toFixed(0)} ms/step, ${s.gflops.toFixed(1)} GFLOP/s, peak ${s.peakRssMB.toFixed(0)} MiB`);
    results.push(s);
    await ceiling();
    const t = await measureTorchLm(config, seconds);
    if ('skipped' in t) notes.push(`PyTorch skipped: ${t.skipped}`);
    else {
      log(`pytorch ${config}: ${t.msPerStep.toFixed(0)} ms/step, ${t.gflops.toFixed(1)} GFLOP/s`);
      results.push(t);
    }
  }
  await ceiling();
  const tf = await measureTfjsLm(quick ? 20 : 60);
  log(`tfjs dense: ${tf.msPerStep.toFixed(0)} ms/step`);
  results.push(tf);
  await ceiling();
  const ceil = median(ceilings);
  writeBenchResult('lm-step', { configs: LM_CONFIGS, ortMatmulCeilingGflops: ceil, ortMatmulSamples: ceilings, results, notes });
  updateBenchmarksMd({
    title: 'Language-model training step (dense and MoE)',
    name: 'lm-training-step',
    intro: 'One training step (forward + backward + AdamW) of a byte-level GPT: vocab 256, d_model 256, 4 layers, 4 heads, context 128, batch 16. *dense*: MLP hidden 1024. *moe*: 8 experts, top-2, expert hidden 512, dropless, Switch aux loss (same active parameters). Every peer implements exactly the configs of bench/lm-config.ts, 2 threads. GFLOP/s = 6 x tokens x active matmul parameters + 12 x batch x layers x context^2 x d_model, over the median step time; MFU is against the ORT MatMul ceiling (256x1024 @ 1024x1024) measured before every peer and at the end of the same run (median of the samples; the machine is shared, so single samples dip).',
    columns: ['implementation', 'config', 'params (total / active)', 'ms/step', 'tokens/s', 'GFLOP/s', 'MFU', 'peak RSS (MiB)'],
    rows: [
      ['ORT MatMul ceiling', '', '', '', '', formatNumber(ceil), '100%', ''],
      ...results.map((r) => [
        r.name, r.config, `${formatNumber(totalParams(LM_CONFIGS[r.config]))} / ${formatNumber(activeParams(LM_CONFIGS[r.config]))}`, formatNumber(r.msPerStep),
        formatNumber(r.tokensPerSec), formatNumber(r.gflops), `${((r.gflops / ceil) * 100).toFixed(0)}%`, formatNumber(r.peakRssMB),
      ]),
    ],
    notes: [
      ...notes,
      ...results.filter((r) => r.notes).map((r) => `${r.name} (${r.config}): ${r.notes}`),
      'TF.js has no MoE row: a dropless top-k dispatch needs data-dependent shapes inside the gradient tape, which this benchmark does not attempt in TF.js.',
    ],
  });
}
