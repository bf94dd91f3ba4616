/**
 * TensorFlow.js peer of the LM training benchmark: the *dense* config of `bench/lm-config.ts` (byte-level
 * GPT, 4 pre-norm blocks, d_model 256, causal attention, exact-GELU MLP, AdamW) on the `wasm` backend.
 * The MoE config is not run here: tfjs has no kernels for a dropless per-expert dispatch with gradients on wasm.
 *
 * Differences from the PyTorch peer that do not change the math: weights are stored `[in, out]` (x @ W);
 * the token embedding is a one-hot matmul (the wasm backend has no `UnsortedSegmentSum`, which the gradient of
 * `tf.gather` needs), adding ~0.54 GFLOP per step that {@link lmStepFlops} does not count; the causal mask is
 * added as -1e9 above the diagonal. AdamW = `tf.train.adam` plus decoupled weight decay applied to the
 * pre-update parameters, as `bench/tfjs-mlp.ts` does.
 *
 * Like `tfjs-mlp.ts`, {@link measureTfjsLm} runs the measurement in a child process (this file with `--json`)
 * so the backend gets a clean process, and reads that child's peak RSS.
 *
 * CLI: `node bin/run-ts.js bench/tfjs-lm.ts [--json] [--seconds S] [--max-steps N]`
 */

import { runJsonChild } from './child.ts';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Scalar, Tensor, Tensor2D, Variable } from '@tensorflow/tfjs-core';
import { Rng } from '../src/util/rng.ts';
import { LM_DENSE, lmStepFlops, lmTokensPerStep, totalParams, type LmPeerResult } from './lm-config.ts';
import { REPO_ROOT } from './report.ts';
import { median, timeIt } from './stats.ts';
import { loadTfjs } from './tfjs-load.ts';

/** Options of {@link measureTfjsLm}. */
export interface TfjsLmOptions {
  /** Time budget of the timed steps (default 60); a step takes tens of seconds. */
  seconds?: number;
  /** Untimed warm-up steps (default 1). */
  warmup?: number;
  /** Fewest timed steps (default 2). */
  minSteps?: number;
  /** Most timed steps (default 4). */
  maxSteps?: number;
}

/**
 * Measures in this process. Call at most once per process: it loads and activates the wasm backend.
 * Prefer {@link measureTfjsLm}, which runs this in a child process.
 */
export async function runTfjsLmInProcess(opts: TfjsLmOptions = {}): Promise<LmPeerResult> {
  const cfg = LM_DENSE;
  const { vocab: V, dModel: D, layers: L, heads: H, context: T, batch: B, mlpHidden: F, lnEps } = cfg;
  const { lr, beta1, beta2, eps, weightDecay } = cfg.optimizer;
  const hd = D / H;
  const N = B * T;

  const { tf, wasm, wasmDir } = await loadTfjs('wasm');
  if (!wasm) throw new Error('tfjs-lm: wasm backend did not load');
  wasm.setWasmPaths(wasmDir);
  wasm.setThreadsCount(2);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-lm: could not initialise the wasm backend');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');

  // Parameters, named like the PyTorch state_dict (but Linear weights stored [in, out]).
  const rng = new Rng(cfg.seed);
  const params: Variable[] = [];
  const normal = (name: string, shape: number[]): Variable => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = tf.variable(tf.tensor(Float32Array.from({ length: n }, () => rng.normal() * 0.02), shape), true, name);
    params.push(v);
    return v;
  };
  const constant = (name: string, shape: number[], value: number): Variable => {
    const v = tf.variable(tf.fill(shape, value), true, name);
    params.push(v);
    return v;
  };
  const ln = (name: string) => ({ w: constant(`${name}.weight`, [D], 1), b: constant(`${name}.bias`, [D], 0) });
  const linear = (name: string, inDim: number, outDim: number) => ({ w: normal(`${name}.weight`, [inDim, outDim]), b: constant(`${name}.bias`, [outDim], 0) });
  const tok = normal('tok.weight', [V, D]);
  const pos = normal('pos.weight', [T, D]);
  const blocks = Array.from({ length: L }, (_, i) => ({
    ln1: ln(`blocks.${i}.ln1`),
    qkv: linear(`blocks.${i}.attn.qkv`, D, 3 * D),
    proj: linear(`blocks.${i}.attn.proj`, D, D),
    ln2: ln(`blocks.${i}.ln2`),
    fc: linear(`blocks.${i}.mlp.fc`, D, F),
    fc2: linear(`blocks.${i}.mlp.proj`, F, D),
  }));
  const lnF = ln('ln_f');
  const head = normal('head.weight', [D, V]);
  const nParams = params.reduce((a, p) => a + p.size, 0);
  if (nParams !== totalParams(cfg)) throw new Error(`tfjs-lm: ${nParams} parameters, lm-config says ${totalParams(cfg)}`);

  // One fixed batch of random bytes: inputs are the first T of each row of [B, T+1], targets the last T.
  const dataRng = new Rng(cfg.seed + 1);
  const bytes = Int32Array.from({ length: B * (T + 1) }, () => dataRng.int(V));
  const inputs = new Int32Array(N);
  const targets = new Int32Array(N);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      inputs[b * T + t] = bytes[b * (T + 1) + t];
      targets[b * T + t] = bytes[b * (T + 1) + t + 1];
    }
  }
  const xOneHot = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(inputs, 'int32'), V), 'float32')) as Tensor2D;
  const yOneHot = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), V), 'float32')) as Tensor2D;
  const mask = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -1e9; // query i sees keys <= i
  const causal = tf.tensor2d(mask, [T, T]);

  const layerNorm = (x: Tensor, p: { w: Variable; b: Variable }): Tensor => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, lnEps))), p.w), p.b);
  };
  const dense = (x: Tensor, p: { w: Variable; b: Variable }): Tensor => tf.add(tf.matMul(x as Tensor2D, p.w as Tensor2D), p.b);
  const gelu = (x: Tensor): Tensor => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  const toHeads = (t: Tensor): Tensor => tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, hd]), [0, 2, 1, 3]), [B * H, T, hd]);
  const fromHeads = (t: Tensor): Tensor => tf.reshape(tf.transpose(tf.reshape(t, [B, H, T, hd]), [0, 2, 1, 3]), [N, D]);

  const lossFn = (): Scalar => {
    let x: Tensor = tf.reshape(tf.add(tf.reshape(tf.matMul(xOneHot, tok), [B, T, D]), pos), [N, D]);
    for (const blk of blocks) {
      const [q, k, v] = tf.split(dense(layerNorm(x, blk.ln1), blk.qkv), 3, 1);
      const scores = tf.add(tf.mul(tf.matMul(toHeads(q), toHeads(k), false, true), 1 / Math.sqrt(hd)), causal);
      const att = fromHeads(tf.matMul(tf.softmax(scores), toHeads(v)));
      x = tf.add(x, dense(att, blk.proj));
      x = tf.add(x, dense(gelu(dense(layerNorm(x, blk.ln2), blk.fc)), blk.fc2));
    }
    const logits = tf.matMul(layerNorm(x, lnF) as Tensor2D, head as Tensor2D);
    return tf.losses.softmaxCrossEntropy(yOneHot, logits) as Scalar;
  };

  const optimizer = tf.train.adam(lr, beta1, beta2, eps);
  const losses: number[] = [];
  const step = (): void => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(lossFn, params);
      for (const p of params) p.assign(tf.mul(p, 1 - lr * weightDecay));
      optimizer.applyGradients(params.map((p) => ({ name: p.name, tensor: grads[p.name] })));
      return value;
    });
    losses.push(loss.dataSync()[0]);
    loss.dispose();
  };

  const warmup = opts.warmup ?? 1;
  for (let i = 0; i < warmup; i++) step();
  const tensorsBefore = tf.memory().numTensors;
  const minSteps = opts.minSteps ?? 2;
  const samples = await timeIt(step, { warmup: 0, seconds: opts.seconds ?? 60, minRuns: minSteps, maxRuns: Math.max(minSteps, opts.maxSteps ?? 4) });
  const leaked = tf.memory().numTensors - tensorsBefore;
  const peakRssMB = process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB

  const msPerStep = median(samples);
  for (const t of [xOneHot, yOneHot, causal, ...params]) t.dispose();
  optimizer.dispose();
  return {
    name: 'tfjs-wasm',
    config: 'dense',
    msPerStep,
    tokensPerSec: (lmTokensPerStep(cfg) * 1000) / msPerStep,
    gflops: lmStepFlops(cfg) / (msPerStep * 1e6),
    peakRssMB,
    params: nParams,
    activeParams: nParams,
    steps: samples.length,
    lossFirst: losses[0],
    lossLast: losses[losses.length - 1],
    threads: mt ? wasm.getThreadsCount() : 1,
    version: `tfjs-core ${tf.version_core}`,
    notes: [
      `tfjs-core ${tf.version_core}, wasm backend, SIMD ${simd ? 'on' : 'off'}, threads ${mt ? `on (${wasm.getThreadsCount()})` : 'off (tfjs-backend-wasm disables multithreading under Node, tfjs#3830)'}`,
      `optimizer: tf.train.adam(lr=${lr}, b1=${beta1}, b2=${beta2}, eps=${eps}) + decoupled weight decay ${weightDecay} before the Adam update (= PyTorch AdamW)`,
      `step = tf.variableGrads + applyGradients + loss.dataSync(); token embedding as a one-hot matmul (not counted in the FLOPs)`,
      `${warmup} warm-up step(s), median of ${samples.length} (min ${Math.min(...samples).toFixed(0)} ms, max ${Math.max(...samples).toFixed(0)} ms)`,
      `cross-entropy ${losses[0].toFixed(3)} -> ${losses[losses.length - 1].toFixed(3)} over ${losses.length} steps on one fixed random batch`,
      ...(leaked > 0 ? [`WARNING: ${leaked} tensors leaked during timing`] : []),
    ].join('; '),
  };
}

const SELF = fileURLToPath(import.meta.url);

/**
 * Times tfjs-wasm training steps of the dense LM in a child process for about `seconds` (1 warm-up step, then
 * 2 to 4 timed steps: a step takes tens of seconds). Resolves with the child's result, including its peak RSS.
 */
export async function measureTfjsLm(seconds: number, opts: Omit<TfjsLmOptions, 'seconds'> = {}): Promise<LmPeerResult> {
  const args = [join(REPO_ROOT, 'bin', 'run-ts.js'), SELF, '--json', '--seconds', String(seconds)];
  if (opts.warmup !== undefined) args.push('--warmup', String(opts.warmup));
  if (opts.minSteps !== undefined) args.push('--min-steps', String(opts.minSteps));
  if (opts.maxSteps !== undefined) args.push('--max-steps', String(opts.maxSteps));
  return runJsonChild<LmPeerResult>('tfjs-lm', process.execPath, args);
}

function usage(msg: string): never {
  process.stderr.write(`tfjs-lm: ${msg}\nusage: node bin/run-ts.js bench/tfjs-lm.ts [--json] [--seconds S] [--warmup N] [--min-steps N] [--max-steps N]\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opts: TfjsLmOptions = {};
  let json = false;
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < 0) usage(`${flag} needs a non-negative number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--json': json = true; break;
      case '--seconds': opts.seconds = num(a, argv[++i]); break;
      case '--warmup': opts.warmup = num(a, argv[++i]); break;
      case '--min-steps': opts.minSteps = num(a, argv[++i]); break;
      case '--max-steps': opts.maxSteps = num(a, argv[++i]); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  // tfjs-core greets Node users on stdout; keep stdout clean for --json.
  const log = console.log;
  if (json) console.log = (...a: unknown[]) => console.error(...a);
  const r = await runTfjsLmInProcess(opts);
  console.log = log;
  if (json) {
    process.stdout.write(JSON.stringify(r) + '\n');
  } else {
    process.stdout.write(
      `tfjs-wasm dense: ${r.msPerStep.toFixed(0)} ms/step, ${r.tokensPerSec.toFixed(0)} tokens/s, ${r.gflops.toFixed(2)} GFLOP/s, ` +
        `peak RSS ${r.peakRssMB.toFixed(0)} MB\n  ${r.notes?.split('; ').join('\n  ')}\n`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  main().catch((e: unknown) => {
    process.stderr.write(`tfjs-lm: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  });
}
