/**
 * `npm run bench`: the MLP training-step benchmark, all peers side by side in one run on this machine.
 * The ORT MatMul ceiling is measured before and after the steps and the median is used (the machine is noisy).
 */
import { measureOrtMatmul } from './ort-matmul.ts';
import { writeBenchResult, updateBenchmarksMd, formatNumber } from './report.ts';
import { median } from './stats.ts';
import { measureSwitchyardMlp } from './switchyard-mlp.ts';
import { measureSpin } from './spin.ts';
import { runLmBench } from './lm-bench.ts';
import { measureTfjsMlp, type StepResult } from './tfjs-mlp.ts';
import { measureJaxMlp } from './jaxjs-mlp.ts';

const quick = process.argv.includes('--quick');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : 'all';
const seconds = quick ? 2 : 6;
const log = (s: string) => process.stderr.write(s + '\n');

// The first ORT session of a process runs slowly for a while (thread pool and clocks warming up): discard it.
await measureOrtMatmul({ m: 256, k: 1024, n: 1024, seconds: 2 });

if (only === 'all' || only === 'mlp') {
const ceilings: number[] = [];
const ceiling = async () => {
  const r = await measureOrtMatmul({ m: 256, k: 1024, n: 1024, seconds: quick ? 1 : 3 });
  ceilings.push(r.gflops);
  log(`ORT MatMul 256x1024x1024: ${r.gflops.toFixed(1)} GFLOP/s`);
};

await ceiling();
const results: StepResult[] = [];
for (const k of [16, 1]) {
  if (k === 1) await ceiling();
  const r = await measureSwitchyardMlp({ stepsPerCall: k, seconds });
  log(`${r.name}: ${r.msPerStep.toFixed(2)} ms/step, ${r.gflops.toFixed(1)} GFLOP/s`);
  results.push(r);
}
await ceiling();
// The same step with plain SGD: how much of the step the AdamW update (memory-bound elementwise passes) costs.
const sgdRow = await measureSwitchyardMlp({ stepsPerCall: 16, seconds, optimizer: 'sgd' });
log(`${sgdRow.name}: ${sgdRow.msPerStep.toFixed(2)} ms/step, ${sgdRow.gflops.toFixed(1)} GFLOP/s`);
for (const backend of ['wasm', 'cpu'] as const) {
  if (backend === 'cpu') await ceiling();
  const r = await measureTfjsMlp(backend, { seconds: backend === 'cpu' ? Math.min(seconds, 4) : seconds });
  log(`tfjs-${backend}: ${r.msPerStep.toFixed(1)} ms/step, ${r.gflops.toFixed(2)} GFLOP/s`);
  results.push({ ...r, name: `TensorFlow.js ${backend}` });
}
const jx = await measureJaxMlp(seconds);
log(`jax-js wasm: ${jx.msPerStep.toFixed(1)} ms/step, ${jx.gflops.toFixed(2)} GFLOP/s`);
results.push(jx);
await ceiling();

const ceil = median(ceilings);
const best = results[0];
const fastestPeer = results.filter((r) => r.name.startsWith('TensorFlow.js')).reduce((a, b) => (a.msPerStep < b.msPerStep ? a : b));
results.splice(2, 0, sgdRow);
const payload = {
  model: '784 -> 1024 (ReLU) -> 10, batch 256, softmax cross-entropy, AdamW',
  ortMatmulCeilingGflops: ceil,
  ortMatmulSamples: ceilings,
  results,
  ratioToCeiling: best.gflops / ceil,
  speedupVsFastestTfjs: fastestPeer.msPerStep / best.msPerStep,
};
writeBenchResult('mlp-step', payload);
updateBenchmarksMd({
  title: 'MLP training step',
  name: 'mlp-training-step',
  intro: 'One training step (forward + backward + AdamW update) of a 784 -> 1024 -> 10 ReLU MLP at batch 256 on random data, 2 threads. GFLOP/s counts 6 x batch x weights (forward 2x, backward 4x). The ceiling is ONNX Runtime running one 256x1024 @ 1024x1024 MatMul, measured before every implementation and at the end of the same run (median of the samples; the machine is shared, so single samples dip).',
  columns: ['implementation', 'ms/step (median)', 'examples/s', 'GFLOP/s', '% of ORT MatMul ceiling', 'speed-up vs fastest TF.js'],
  rows: [
    ['ORT MatMul ceiling', '', '', formatNumber(ceil), '100%', ''],
    ...results.map((r) => [r.name, formatNumber(r.msPerStep), formatNumber(r.examplesPerSec), formatNumber(r.gflops), `${((r.gflops / ceil) * 100).toFixed(0)}%`, `${(fastestPeer.msPerStep / r.msPerStep).toFixed(1)}x`]),
  ],
  notes: [
    'Targets (issue 2): the step at >= 70% of the ceiling and >= 30x the fastest TF.js backend.',
    'TF.js runs in its own process per backend; its wasm backend is single-threaded under Node (SIMD on), its cpu backend is plain JS.',
    'jax-js (the strongest TypeScript peer: JAX-style grad/jit with kernel fusion) runs its Wasm backend under Node 22 in its own process, the whole step (valueAndGrad + AdamW) under one jit.',
    'The SGD row is the same step with a plain SGD update instead of AdamW: ONNX Runtime runs each of AdamW\'s ~13 elementwise ops as its own memory-bound pass over all parameters (it has no fused optimizer kernel), which is most of the gap to the ceiling.',
    'Switchyard K=1 runs one step per ORT call (all parameters and AdamW state copied back every step); K=16 runs 16 steps per call through an ONNX Loop.',
  ],
});
log(`ratio to ceiling ${(payload.ratioToCeiling * 100).toFixed(0)}%, speed-up vs fastest TF.js ${payload.speedupVsFastestTfjs.toFixed(1)}x`);

}

if (only === 'all' || only === 'spin') {
// Thread spinning: a train session and an eval session used alternately, under each spin policy.
const policies = ['run', 'always', 'never'] as const;
const spinRuns: { spin: (typeof policies)[number]; msPerPair: number }[] = [];
for (let round = 0; round < 2; round++) for (const sp of policies) {
  const r = await measureSpin(sp, quick ? 2 : 4);
  log(`train+eval pair, spin '${sp}': ${r.msPerPair.toFixed(1)} ms`);
  spinRuns.push(r);
}
const spinMs = Object.fromEntries(policies.map((p) => [p, median(spinRuns.filter((r) => r.spin === p).map((r) => r.msPerPair))])) as Record<(typeof policies)[number], number>;
writeBenchResult('session-spinning', { runs: spinRuns, msPerPair: spinMs });
const label = { run: 'while a run is in progress (Switchyard default)', always: 'always (ORT default)', never: 'never' };
updateBenchmarksMd({
  title: 'Train and eval sessions side by side (thread spinning)',
  name: 'session-spinning',
  intro: 'One training step (K=1) followed by one evaluation batch on a second session, as a training loop with validation does; same MLP and batch as above, 2 threads per session. Median over the run, two interleaved rounds per setting. ORT worker threads spin (busy-wait for work) never, always, or only while a run is in progress (`session.force_spinning_stop`).',
  columns: ['ORT worker threads spin', 'ms per train step + eval batch', 'relative'],
  rows: policies.map((p) => [label[p], formatNumber(spinMs[p]), `${(spinMs[p] / spinMs.run).toFixed(2)}x`]),
});
}

if (only === 'all' || only === 'lm') await runLmBench(quick, log);
if (only === 'all' || only === 'moeanatomy') await (await import('./moe-anatomy.ts')).runMoeAnatomyBench(quick, log);
if (only === 'all' || only === 'serve') await (await import('./serve.ts')).runServeBench(quick);
if (only === 'all' || only === 'neardup') await (await import('./near-dup.ts')).runNearDupBench(quick, log);
if (only === 'all' || only === 'audit') await (await import('./audit-profile.ts')).runAuditBench(quick, log);
if (only === 'all' || only === 'evalpgd') await (await import('./eval-pgd.ts')).runEvalPgdBench(quick, log);
if (only === 'all' || only === 'evalmetrics') await (await import('./eval-metrics.ts')).runEvalMetricsBench(quick, log);
if (only === 'all' || only === 'compress') await (await import('./compress.ts')).runCompressBench(quick, log);
