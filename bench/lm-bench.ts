/**
 * The LM training-step benchmark (issue 3): the fixed dense and MoE configs of bench/lm-config.ts in Switchyard,
 * PyTorch (CPU, when installed) and TensorFlow.js (dense, wasm backend), side by side in one run, with the ORT
 * MatMul ceiling measured before and after. Called by bench/run.ts.
 */
import { measureOrtMatmul } from './ort-matmul.ts';
import { LM_CONFIGS, ALL_LM_CONFIGS, type LmPeerResult, activeParams, totalParams } from './lm-config.ts';
import { formatNumber, updateBenchmarksMd, writeBenchResult } from './report.ts';
import { median } from './stats.ts';
import { measureSwitchyardAlternating, measureSwitchyardLm } from './switchyard-lm.ts';
import { measureTfjsLm } from './tfjs-lm.ts';
import { measureJaxLmCpu } from './jaxjs-gpt.ts';
import { measureTorchLm } from './torch-lm.ts';

/** Median of `values` with its range, e.g. `0.81 (0.78-0.84)`. */
function medianWithRange(values: number[], digits: number): string {
  return `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)})`;
}

/** One peer's rounds folded into one row: the median of its per-round medians, the highest peak RSS. */
function foldRounds(rounds: LmPeerResult[]): LmPeerResult {
  const ms = median(rounds.map((r) => r.msPerStep));
  const mid = rounds.find((r) => r.msPerStep === ms) ?? rounds[0];
  const scale = mid.msPerStep / ms;
  return { ...mid, msPerStep: ms, tokensPerSec: mid.tokensPerSec * scale, gflops: mid.gflops * scale, peakRssMB: Math.max(...rounds.map((r) => r.peakRssMB)), steps: rounds.reduce((a, r) => a + r.steps, 0) };
}

/**
 * Runs the LM section and updates BENCHMARKS.md; `quick` shortens every timing. Switchyard and PyTorch run in
 * interleaved rounds (dense, then MoE, each peer in its own process), so every ratio is taken within a round,
 * minutes apart at most, and the table reports the median over rounds: the shared machine's speed drifts
 * by tens of percent over a run.
 */
export async function runLmBench(quick: boolean, log: (s: string) => void): Promise<void> {
  const rounds = quick ? 1 : 3;
  const seconds = quick ? 4 : 8;
  const ceilings: number[] = [];
  const ceiling = async () => {
    const r = await measureOrtMatmul({ m: 256, k: 1024, n: 1024, seconds: quick ? 1 : 3 });
    ceilings.push(r.gflops);
    log(`ORT MatMul 256x1024x1024: ${r.gflops.toFixed(1)} GFLOP/s`);
  };
  const byPeer = new Map<string, LmPeerResult[]>();
  const notes: string[] = [];
  const ratios = { 'switchyard / pytorch tokens/s, dense': [] as number[], 'switchyard / pytorch tokens/s, moe': [] as number[], 'switchyard moe / dense tokens/s': [] as number[], 'pytorch moe / dense tokens/s': [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const got: Partial<Record<string, LmPeerResult>> = {};
    for (const config of ['dense', 'moe'] as const) {
      await ceiling();
      const s = await measureSwitchyardLm(config, seconds);
      log(`round ${round + 1} switchyard ${config}: ${s.msPerStep.toFixed(0)} ms/step, ${s.gflops.toFixed(1)} GFLOP/s, peak ${s.peakRssMB.toFixed(0)} MiB`);
      got[`switchyard ${config}`] = s;
      const t = await measureTorchLm(config, seconds);
      if ('skipped' in t) {
        if (round === 0 && config === 'dense') notes.push(`PyTorch skipped: ${t.skipped}`);
      } else {
        log(`round ${round + 1} pytorch ${config}: ${t.msPerStep.toFixed(0)} ms/step, ${t.gflops.toFixed(1)} GFLOP/s`);
        got[`pytorch ${config}`] = t;
      }
    }
    for (const [key, r] of Object.entries(got)) byPeer.set(key, [...(byPeer.get(key) ?? []), r!]);
    const tps = (k: string) => got[k]?.tokensPerSec ?? NaN;
    const push = (k: keyof typeof ratios, v: number) => Number.isFinite(v) && ratios[k].push(v);
    push('switchyard / pytorch tokens/s, dense', tps('switchyard dense') / tps('pytorch dense'));
    push('switchyard / pytorch tokens/s, moe', tps('switchyard moe') / tps('pytorch moe'));
    push('switchyard moe / dense tokens/s', tps('switchyard moe') / tps('switchyard dense'));
    push('pytorch moe / dense tokens/s', tps('pytorch moe') / tps('pytorch dense'));
  }
  const results: LmPeerResult[] = [...byPeer.values()].map(foldRounds);
  const alt = await measureSwitchyardAlternating(quick ? 6 : 40);
  log(`switchyard alternating dense/moe: ${alt.denseMs.toFixed(0)} / ${alt.moeMs.toFixed(0)} ms, moe/dense tokens/s ${alt.moeOverDenseTokens.toFixed(3)} over ${alt.pairs} pairs`);
  await ceiling();
  const tf = await measureTfjsLm(quick ? 20 : 60);
  log(`tfjs dense: ${tf.msPerStep.toFixed(0)} ms/step`);
  results.push(tf);
  // jax-js's Wasm backend (the strongest TypeScript peer) takes seconds per step: one short measurement each.
  for (const config of ['dense', 'moe'] as const) {
    const jx = await measureJaxLmCpu(config, quick ? 5 : 20);
    log(`jax-js wasm ${config}: ${jx.msPerStep.toFixed(0)} ms/step`);
    results.push(jx);
  }
  await ceiling();
  const ratioRows = Object.entries(ratios).filter(([, v]) => v.length > 0).map(([k, v]) => [k, medianWithRange(v, 2), `${v.length} rounds`]);
  ratioRows.push(['switchyard moe / dense tokens/s, calls alternating in one process', alt.moeOverDenseTokens.toFixed(2), `${alt.pairs} pairs`]);
  for (const [k, v] of ratioRows) log(`${k}: ${v}`);
  const ceil = median(ceilings);
  writeBenchResult('lm-step', { configs: LM_CONFIGS, ortMatmulCeilingGflops: ceil, ortMatmulSamples: ceilings, rounds: Object.fromEntries(byPeer), ratios, alternating: alt, results, notes });
  updateBenchmarksMd({
    title: 'Language-model training step (dense and MoE)',
    name: 'lm-training-step',
    intro: 'One training step (forward + backward + AdamW) of a byte-level GPT: vocab 256, d_model 256, 4 layers, 4 heads, context 128, batch 16. *dense*: MLP hidden 1024. *moe*: 8 experts, top-2, expert hidden 512, dropless, Switch aux loss (same active parameters). Every peer implements exactly the configs of bench/lm-config.ts, 2 threads. GFLOP/s = 6 x tokens x active matmul parameters + 12 x batch x layers x context^2 x d_model, over the median step time (the median of the medians of the rounds); MFU is against the ORT MatMul ceiling (256x1024 @ 1024x1024) measured before every Switchyard measurement and at the end of the same run (median of the samples; the machine is shared, so single samples dip).',
    columns: ['implementation', 'config', 'params (total / active)', 'ms/step', 'tokens/s', 'GFLOP/s', 'MFU', 'peak RSS (MiB)'],
    rows: [
      ['ORT MatMul ceiling', '', '', '', '', formatNumber(ceil), '100%', ''],
      ...results.map((r) => [
        r.name, r.config, `${formatNumber(totalParams(ALL_LM_CONFIGS[r.config]))} / ${formatNumber(activeParams(ALL_LM_CONFIGS[r.config]))}`, formatNumber(r.msPerStep),
        formatNumber(r.tokensPerSec), formatNumber(r.gflops), `${((r.gflops / ceil) * 100).toFixed(0)}%`, formatNumber(r.peakRssMB),
      ]),
    ],
    notes: [
      ...notes,
      ...results.filter((r) => r.notes).map((r) => `${r.name} (${r.config}): ${r.notes}`),
      'TF.js has no MoE row: a dropless top-k dispatch needs data-dependent shapes inside the gradient tape, which this benchmark does not attempt in TF.js.',
    ],
  });
  updateBenchmarksMd({
    title: 'Language-model training step: ratios within a round',
    name: 'lm-training-ratios',
    intro: `Each ratio is taken within one round (Switchyard and PyTorch measured minutes apart at most), then the median over ${rounds} round(s), with the range in brackets. The last row removes the drift between runs altogether: the dense and MoE steps compiled in one process, their calls alternating, the median of the per-pair ratios. Targets (issue 3): Switchyard at least 2x PyTorch on both configs; Switchyard MoE at least 0.8x Switchyard dense.`,
    columns: ['ratio', 'median (min-max)', 'samples'],
    rows: ratioRows,
  });
}
