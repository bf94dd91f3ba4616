/**
 * Switchyard's side of the LM training benchmark: the fixed `dense` / `moe` configs of bench/lm-config.ts as a
 * GPT, one compiled step (forward + backward + AdamW) with `stepsPerCall` steps per ONNX Runtime call. Runs in
 * a child process per config so the peak RSS belongs to that config alone; `--alternate` instead runs both
 * configs call by call in one process, for their time ratio.
 *
 *   node bin/run-ts.js bench/switchyard-lm.ts --config dense|moe [--seconds 10] [--k 8] [--json]
 *   node bin/run-ts.js bench/switchyard-lm.ts --alternate [--seconds 10] [--k 8] [--json]
 */
import { runJsonChild } from './child.ts';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LM_CONFIGS, lmStepFlops, type LmPeerResult } from './lm-config.ts';
import { prepareLmStep } from './lm-step.ts';
import { REPO_ROOT } from './report.ts';
import { median, timeIt } from './stats.ts';

async function runInProcess(name: 'dense' | 'moe', seconds: number, stepsPerCall: number): Promise<LmPeerResult> {
  const c = LM_CONFIGS[name];
  const { model, run } = await prepareLmStep(c, stepsPerCall);
  const B = c.batch;
  const T = c.context;
  let lossFirst = NaN;
  let lossLast = NaN;
  let peak = process.memoryUsage().rss;
  const samples = await timeIt(async () => {
    const r = await run();
    if (Number.isNaN(lossFirst)) lossFirst = r.losses[0];
    lossLast = r.losses[r.losses.length - 1];
    peak = Math.max(peak, process.memoryUsage().rss);
  }, { warmup: 2, seconds, minRuns: 3 });
  const ms = median(samples) / stepsPerCall;
  const flops = lmStepFlops(c);
  return {
    name: `switchyard (K=${stepsPerCall})`, config: name, msPerStep: ms, tokensPerSec: (B * T * 1000) / ms, gflops: flops / ms / 1e6, peakRssMB: peak / 2 ** 20,
    params: model.parameterCount(), activeParams: model.activeParameterCount() + c.vocab * c.dModel + c.context * c.dModel, steps: samples.length * stepsPerCall,
    lossFirst, lossLast, threads: 2, version: 'onnxruntime-node 1.30.0', notes: `${stepsPerCall} steps per ORT call (ONNX Loop), the default of switchyard train; dropless MoE dispatch`,
  };
}

/** Dense and MoE steps alternating in one process: their time ratio without the machine's drift between runs. */
export interface AlternatingResult {
  pairs: number;
  denseMs: number;
  moeMs: number;
  /** Median over pairs of (dense ms / MoE ms) = MoE tokens/s over dense tokens/s. */
  moeOverDenseTokens: number;
}

async function alternateInProcess(seconds: number, stepsPerCall: number): Promise<AlternatingResult> {
  const dense = await prepareLmStep(LM_CONFIGS.dense, stepsPerCall);
  const moe = await prepareLmStep(LM_CONFIGS.moe, stepsPerCall);
  const timed = async (f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    return (performance.now() - t) / stepsPerCall;
  };
  for (let i = 0; i < 2; i++) {
    await dense.run();
    await moe.run();
  }
  const d: number[] = [];
  const m: number[] = [];
  const ratios: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || d.length < 5) {
    d.push(await timed(dense.run));
    m.push(await timed(moe.run));
    ratios.push(d[d.length - 1] / m[m.length - 1]);
  }
  return { pairs: d.length, denseMs: median(d), moeMs: median(m), moeOverDenseTokens: median(ratios) };
}

/** Measures one config in a child process. */
export function measureSwitchyardLm(name: 'dense' | 'moe', seconds: number, stepsPerCall = 8): Promise<LmPeerResult> {
  const args = [join(REPO_ROOT, 'bin/run-ts.js'), join(REPO_ROOT, 'bench/switchyard-lm.ts'), '--config', name, '--seconds', String(seconds), '--k', String(stepsPerCall), '--json'];
  return runJsonChild<LmPeerResult>(`switchyard-lm (${name})`, process.execPath, args);
}

/** Dense and MoE alternating call by call in one child process (see {@link AlternatingResult}). */
export function measureSwitchyardAlternating(seconds: number, stepsPerCall = 8): Promise<AlternatingResult> {
  const args = [join(REPO_ROOT, 'bin/run-ts.js'), join(REPO_ROOT, 'bench/switchyard-lm.ts'), '--alternate', '--seconds', String(seconds), '--k', String(stepsPerCall), '--json'];
  return runJsonChild<AlternatingResult>('switchyard-lm (alternating)', process.execPath, args);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (n: string, d: string) => (process.argv.includes(`--${n}`) ? process.argv[process.argv.indexOf(`--${n}`) + 1] : d);
  const res = process.argv.includes('--alternate') ? await alternateInProcess(Number(arg('seconds', '10')), Number(arg('k', '8'))) : await runInProcess(arg('config', 'dense') as 'dense' | 'moe', Number(arg('seconds', '10')), Number(arg('k', '8')));
  console.log(JSON.stringify(res));
}
