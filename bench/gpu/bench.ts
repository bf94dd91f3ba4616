/**
 * The Node side of the GPU benchmark (bench/gpu/run.sh runs it on the GPU machine, bundled by
 * bench/gpu/prepare.ts, without onnxruntime-node): one measurement per call, printed as one JSON line.
 *
 *   node bench.mjs matmul [--n 4096] [--seconds 5]             Switchyard's WebGPU matmul, TFLOP/s
 *   node bench.mjs switchyard --config NAME [--k 8] [--seconds 8]   a GPT training step on WebGPU
 *   node bench.mjs jaxjs --config NAME [--seconds 8]           jax-js's GPT training step on WebGPU (same Dawn)
 *
 * NAME is a config of bench/lm-config.ts: dense, moe, large-dense, large-moe.
 */
import { constant, matmul, reduceSum, add, mul, type Tensor, trace } from '../../src/core/index.ts';
import { releaseSharedWebGpuDevice, webGpuAdapter } from '../../src/runtime/compile-for.ts';
import { sharedWebGpuDevice } from '../../src/runtime/webgpu/shared.ts';
import { WebGpuGraph } from '../../src/runtime/webgpu/graph.ts';
import { measureJaxGpt } from '../jaxjs-gpt.ts';
import { ALL_LM_CONFIGS, lmStepFlops, type LmConfigName } from '../lm-config.ts';
import { prepareLmStep } from '../lm-step.ts';
import { median } from '../stats.ts';

const arg = (n: string, d: string) => (process.argv.includes(`--${n}`) ? process.argv[process.argv.indexOf(`--${n}`) + 1] : d);

/** Runs `fn` repeatedly for `seconds` (at least `minRuns`) after `warmup` runs; returns each run's ms. */
async function timeRuns(fn: () => Promise<unknown>, seconds: number, warmup = 2, minRuns = 3): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || ms.length < minRuns) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms;
}

/**
 * fp32 matmul throughput: `reps` independent n x n x n products of resident (constant) matrices per call, summed
 * to one scalar that is read back, so a call's time is the kernels' (plus one submit and a 4-byte read).
 */
async function matmulBench(n: number, seconds: number, reps = 4) {
  const data = (seed: number) => Float32Array.from({ length: n * n }, (_, i) => (((i * 2654435761 + seed) >>> 0) % 1000) / 1000 - 0.5);
  const graph = trace(() => {
    const a = constant(data(1), [n, n]);
    const b = constant(data(2), [n, n]);
    let s: Tensor | null = null;
    for (let r = 0; r < reps; r++) {
      // A different scale per product keeps the products distinct work (nothing to share between them).
      const p = reduceSum(matmul(mul(a, constant(Float32Array.of(1 + r), [])), b));
      s = s ? add(s, p) : p;
    }
    return { s: s! };
  });
  const gpu = await sharedWebGpuDevice();
  const exe = await WebGpuGraph.create(graph, { device: gpu });
  const ms = await timeRuns(() => exe.run({}), seconds);
  const t = median(ms);
  return { kind: 'matmul', n, reps, msPerCall: t, tflops: (reps * 2 * n ** 3) / (t / 1000) / 1e12, calls: ms.length };
}

async function switchyardBench(name: LmConfigName, k: number, seconds: number) {
  const c = ALL_LM_CONFIGS[name];
  const t0 = performance.now();
  const { model, run } = await prepareLmStep(c, k, { device: 'webgpu' });
  const compileMs = performance.now() - t0;
  let lossFirst = NaN;
  let lossLast = NaN;
  const ms = await timeRuns(async () => {
    const r = await run();
    if (Number.isNaN(lossFirst)) lossFirst = r.losses[0];
    lossLast = r.losses[r.losses.length - 1];
  }, seconds);
  const perStep = median(ms) / k;
  return {
    kind: 'lm', name: `switchyard webgpu (K=${k})`, config: name, msPerStep: perStep, tokensPerSec: (c.batch * c.context * 1000) / perStep,
    gflops: lmStepFlops(c) / perStep / 1e6, params: model.parameterCount(), steps: ms.length * k, lossFirst, lossLast, compileMs,
  };
}

const what = process.argv[2];
const seconds = Number(arg('seconds', '8'));
let result: object;
if (what === 'matmul') result = await matmulBench(Number(arg('n', '4096')), seconds);
else if (what === 'switchyard') result = await switchyardBench(arg('config', 'dense') as LmConfigName, Number(arg('k', '8')), seconds);
else if (what === 'jaxjs') result = { kind: 'lm', ...(await measureJaxGpt(arg('config', 'dense') as LmConfigName, 'webgpu', seconds)) };
else throw new Error(`unknown benchmark '${what}': matmul, switchyard or jaxjs`);
const adapter = await webGpuAdapter();
console.log(JSON.stringify({ ...result, adapter: adapter?.description ?? 'jax-js device', node: process.version }));
await releaseSharedWebGpuDevice();
// Dawn's threads may outlive the device: leave now that the line is printed.
process.exit(0);
