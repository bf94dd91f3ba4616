/**
 * Peer benchmark: one MLP training step (forward + backward + AdamW) in TensorFlow.js, on the `cpu`
 * (pure JS) or `wasm` (XNNPACK) backend. The Switchyard/ORT side of the same benchmark uses the same
 * model, batch and FLOP count (`mlpStepFlops`), so the GFLOP/s figures compare directly.
 *
 * Only one tfjs backend is cleanly usable per process, so {@link measureTfjsMlp} runs each measurement in
 * a child process (this file with `--json`) and parses its JSON; {@link runTfjsMlpInProcess} does the
 * actual work.
 *
 * CLI: `node bin/run-ts.js bench/tfjs-mlp.ts --backend wasm|cpu [--json] [--seconds S] [--batch B]
 *       [--in-dim D] [--hidden H] [--classes C] [--threads T] [--write]`
 *   --json   print the StepResult as one JSON line on stdout (otherwise a readable summary)
 *   --write  also write bench/results/tfjs-mlp-<backend>.json
 */

import { runJsonChild } from './child.ts';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mlpStepFlops } from './flops.ts';
import { median, timeIt } from './stats.ts';
import { REPO_ROOT, writeBenchResult } from './report.ts';
import { loadTfjs } from './tfjs-load.ts';

/** Result of timing one training-step benchmark on one backend. */
export interface StepResult {
  name: string;
  backend: string;
  batch: number;
  /** Median wall-clock ms of one full step (forward + backward + update + loss readback). */
  msPerStep: number;
  examplesPerSec: number;
  /** `mlpStepFlops(...) / msPerStep`, in GFLOP/s. */
  gflops: number;
  /** Number of timed steps. */
  steps: number;
  notes?: string;
}

/** Options of the MLP step benchmark; defaults give 784 -> 1024 (ReLU) -> 10, batch 256, 5 s. */
export interface MlpBenchOptions {
  batch?: number;
  inDim?: number;
  hidden?: number;
  classes?: number;
  /** Time budget for timed steps (default 5; the cpu backend also stops after a few steps). */
  seconds?: number;
  /** Threads for the wasm backend (default 2; ignored where the build has no thread support). */
  threads?: number;
}

export type TfjsBackend = 'cpu' | 'wasm';

const LR = 1e-3;
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;
const WEIGHT_DECAY = 0.01;
const SEED = 1234;

/** Tiny seeded PRNG (mulberry32) + Box-Muller, so data and weights are identical on every run. */
function makeRng(seed: number): { uniform: () => number; normal: () => number } {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    const u = 1 - uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return { uniform, normal };
}

function normals(n: number, scale: number, rng: ReturnType<typeof makeRng>): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

/**
 * Measures in this process. Call at most once per process: it loads and activates one tfjs backend.
 * Prefer {@link measureTfjsMlp}, which isolates each backend in its own process.
 */
export async function runTfjsMlpInProcess(backend: TfjsBackend, opts: MlpBenchOptions = {}): Promise<StepResult> {
  const batch = opts.batch ?? 256;
  const inDim = opts.inDim ?? 784;
  const hidden = opts.hidden ?? 1024;
  const classes = opts.classes ?? 10;
  const seconds = opts.seconds ?? 5;
  const threads = opts.threads ?? 2;

  const { tf, wasm, wasmDir } = await loadTfjs(backend);
  const backendNotes: string[] = [];
  if (backend === 'wasm') {
    if (!wasm) throw new Error('tfjs-mlp: wasm backend did not load');
    wasm.setWasmPaths(wasmDir);
    wasm.setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-mlp: could not initialise the wasm backend');
    await tf.ready();
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    const binary = simd && mt ? 'threaded-simd' : simd ? 'simd' : 'plain';
    backendNotes.push(
      `wasm binary ${binary}, SIMD ${simd ? 'on' : 'off'}, threads ${mt ? `on (${wasm.getThreadsCount()})` : `off (tfjs-backend-wasm disables multithreading under Node, tfjs#3830, so setThreadsCount(${threads}) has no effect)`}`,
    );
  } else {
    if (!(await tf.setBackend('cpu'))) throw new Error('tfjs-mlp: could not initialise the cpu backend');
    await tf.ready();
    backendNotes.push('pure-JS cpu backend, single thread');
  }

  const rng = makeRng(SEED);
  const x = tf.tensor2d(normals(batch * inDim, 1, rng), [batch, inDim]);
  const labels = new Int32Array(batch);
  for (let i = 0; i < batch; i++) labels[i] = Math.floor(rng.uniform() * classes);
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), 'float32'));
  const w1 = tf.variable(tf.tensor2d(normals(inDim * hidden, Math.sqrt(2 / inDim), rng), [inDim, hidden]), true, 'fc1.weight');
  const b1 = tf.variable(tf.zeros([hidden]), true, 'fc1.bias');
  const w2 = tf.variable(tf.tensor2d(normals(hidden * classes, Math.sqrt(1 / hidden), rng), [hidden, classes]), true, 'fc2.weight');
  const b2 = tf.variable(tf.zeros([classes]), true, 'fc2.bias');
  const params = [w1, b1, w2, b2];
  const optimizer = tf.train.adam(LR, BETA1, BETA2, EPS);

  const lossFn = (): import('@tensorflow/tfjs-core').Scalar => {
    const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
    const logits = tf.add(tf.matMul(h, w2), b2);
    return tf.losses.softmaxCrossEntropy(y, logits) as import('@tensorflow/tfjs-core').Scalar;
  };

  const losses: number[] = [];
  // One full AdamW step: grads of the current params, decoupled decay p <- p * (1 - lr*wd) (applied to the
  // pre-update params, as PyTorch's AdamW does), then the Adam update, then force completion with dataSync.
  const step = (): void => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(lossFn, params);
      for (const p of params) p.assign(tf.mul(p, 1 - LR * WEIGHT_DECAY));
      optimizer.applyGradients(params.map((p) => ({ name: p.name, tensor: grads[p.name] })));
      return value;
    });
    losses.push(loss.dataSync()[0]);
    loss.dispose();
  };

  const isCpu = backend === 'cpu';
  const warmup = isCpu ? 2 : 3;
  for (let i = 0; i < warmup; i++) step(); // also creates Adam's moment tensors
  const tensorsBefore = tf.memory().numTensors;
  const samples = await timeIt(step, {
    warmup: 0,
    seconds,
    minRuns: isCpu ? 3 : 5,
    maxRuns: isCpu ? 5 : undefined,
  });
  const leaked = tf.memory().numTensors - tensorsBefore;

  // Probe the three matmul shapes a step runs (forward x@W1, and the gradient's dX = g@W1^T and
  // dW1 = x^T@g, which tfjs's MatMul gradient computes with transposeB / transposeA), to show where time goes.
  const probe = async (f: () => import('@tensorflow/tfjs-core').Tensor): Promise<string> => {
    const s = await timeIt(() => { const r = f(); r.dataSync(); r.dispose(); }, { warmup: 1, seconds: isCpu ? 0 : 0.5, minRuns: isCpu ? 1 : 3 });
    return ((2 * batch * inDim * hidden) / (median(s) * 1e6)).toFixed(1);
  };
  const g = tf.randomNormal([batch, hidden], 0, 1, 'float32', SEED);
  const probes = {
    fwd: await probe(() => tf.matMul(x, w1)),
    dX: await probe(() => tf.matMul(g, w1, false, true)),
    dW: await probe(() => tf.matMul(x, g, true, false)),
  };
  g.dispose();

  const msPerStep = median(samples);
  const flops = mlpStepFlops(batch, inDim, hidden, classes);
  const result: StepResult = {
    name: 'tfjs-mlp',
    backend: `tfjs-${backend}`,
    batch,
    msPerStep,
    examplesPerSec: (batch * 1000) / msPerStep,
    gflops: flops / (msPerStep * 1e6),
    steps: samples.length,
    notes: [
      `tfjs-core ${tf.version_core}`,
      ...backendNotes,
      `optimizer: tf.train.adam(lr=${LR}, b1=${BETA1}, b2=${BETA2}, eps=${EPS}) + decoupled weight decay ${WEIGHT_DECAY} on all params before the Adam update (= PyTorch AdamW)`,
      `step = tf.variableGrads + applyGradients + loss.dataSync()`,
      `model ${inDim}->${hidden}(ReLU)->${classes}, fixed random batch (seed ${SEED})`,
      `${warmup} warm-up steps, median of ${samples.length} (min ${Math.min(...samples).toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms)`,
      `matMul ${batch}x${inDim}x${hidden} alone, GFLOP/s: x@W ${probes.fwd}, g@W^T ${probes.dX}, x^T@g ${probes.dW}`,
      `loss ${losses[0].toFixed(3)} -> ${losses[losses.length - 1].toFixed(3)} over ${losses.length} steps`,
      ...(leaked > 0 ? [`WARNING: ${leaked} tensors leaked during timing`] : []),
    ].join('; '),
  };
  for (const t of [x, y, ...params]) t.dispose();
  optimizer.dispose();
  return result;
}

const SELF = fileURLToPath(import.meta.url);

/**
 * Measures one tfjs training step on `backend`, in a child process (so each backend gets a clean
 * process and never shares it with ORT or another tfjs backend). Resolves with the child's StepResult.
 */
export async function measureTfjsMlp(backend: TfjsBackend, opts: MlpBenchOptions = {}): Promise<StepResult> {
  const args = [join(REPO_ROOT, 'bin', 'run-ts.js'), SELF, '--backend', backend, '--json'];
  const flags: [keyof MlpBenchOptions, string][] = [
    ['batch', '--batch'], ['inDim', '--in-dim'], ['hidden', '--hidden'],
    ['classes', '--classes'], ['seconds', '--seconds'], ['threads', '--threads'],
  ];
  for (const [k, flag] of flags) if (opts[k] !== undefined) args.push(flag, String(opts[k]));
  return runJsonChild<StepResult>(`tfjs-mlp (${backend})`, process.execPath, args);
}

function parseArgs(argv: string[]): { backend: TfjsBackend; json: boolean; write: boolean; opts: MlpBenchOptions } {
  let backend: TfjsBackend = 'wasm';
  let json = false;
  let write = false;
  const opts: MlpBenchOptions = {};
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n <= 0) usage(`${flag} needs a positive number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--backend': {
        const v = argv[++i];
        if (v !== 'cpu' && v !== 'wasm') usage(`--backend must be cpu or wasm, got ${v}`);
        backend = v as TfjsBackend;
        break;
      }
      case '--json': json = true; break;
      case '--write': write = true; break;
      case '--batch': opts.batch = num(a, argv[++i]); break;
      case '--in-dim': opts.inDim = num(a, argv[++i]); break;
      case '--hidden': opts.hidden = num(a, argv[++i]); break;
      case '--classes': opts.classes = num(a, argv[++i]); break;
      case '--seconds': opts.seconds = num(a, argv[++i]); break;
      case '--threads': opts.threads = num(a, argv[++i]); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  return { backend, json, write, opts };
}

function usage(msg: string): never {
  process.stderr.write(`tfjs-mlp: ${msg}\nusage: node bin/run-ts.js bench/tfjs-mlp.ts --backend wasm|cpu [--json] [--write] [--seconds S] [--batch B] [--in-dim D] [--hidden H] [--classes C] [--threads T]\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { backend, json, write, opts } = parseArgs(process.argv.slice(2));
  // tfjs-core greets Node users on stdout/stderr; keep stdout clean for --json.
  const log = console.log;
  if (json) console.log = (...a: unknown[]) => console.error(...a);
  const r = await runTfjsMlpInProcess(backend, opts);
  console.log = log;
  if (write) writeBenchResult(`tfjs-mlp-${backend}`, { result: r, options: opts });
  if (json) {
    process.stdout.write(JSON.stringify(r) + '\n');
  } else {
    process.stdout.write(
      `${r.backend}: ${r.msPerStep.toFixed(2)} ms/step, ${r.examplesPerSec.toFixed(0)} examples/s, ` +
        `${r.gflops.toFixed(2)} GFLOP/s (batch ${r.batch}, ${r.steps} timed steps)\n  ${r.notes?.split('; ').join('\n  ')}\n`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  main().catch((e: unknown) => {
    process.stderr.write(`tfjs-mlp: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  });
}
