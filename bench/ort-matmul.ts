/**
 * Peer benchmark: one float32 MatMul `[m,k] @ [k,n]` in onnxruntime-node (CPU EP, MLAS, 2 intra-op
 * threads), built with Switchyard's own ONNX encoder. It measures the ceiling a compiled training
 * step can reach on this machine, end to end through `session.run` (including the copy of the
 * `[m,n]` output back to JS, ~1.7 GB/s, which dominates for small shapes).
 *
 * Interesting shapes: `256x784x1024` (first layer of the MLP benchmark) and `1024x1024x1024`.
 *
 * CLI: `node bin/run-ts.js bench/ort-matmul.ts [MxKxN ...] [--seconds S] [--constant-b]`
 * prints one JSON object per shape (default: 256x784x1024 and 1024x1024x1024) on stdout.
 */
import * as ort from 'onnxruntime-node';
import { pathToFileURL } from 'node:url';
import { encodeModel, type OnnxModel } from '../src/runtime/onnx/proto.ts';
import { validateModel } from '../src/runtime/onnx/validate.ts';
import { median, timeIt } from './stats.ts';

/** Options of {@link measureOrtMatmul}. */
export interface OrtMatmulOptions {
  /** Rows of A (default 256). */
  m?: number;
  /** Inner dimension (default 1024). */
  k?: number;
  /** Columns of B (default 1024). */
  n?: number;
  /** Time budget of the timed runs in seconds (default 3). */
  seconds?: number;
  /**
   * Store B as an initializer (ORT may pre-pack it once) instead of feeding it each run like a
   * training step feeds its weights (default false).
   */
  constantB?: boolean;
}

/** Result of {@link measureOrtMatmul}. */
export interface OrtMatmulResult {
  /** `2*m*k*n` FLOPs over the median run time, in GFLOP/s. */
  gflops: number;
  /** Median wall-clock milliseconds of one `session.run`. */
  msPerRun: number;
  m: number;
  k: number;
  n: number;
}

/** Session options of every Switchyard ORT benchmark: CPU EP, 2 intra-op threads, all graph optimizations. */
export const ORT_BENCH_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ['cpu'],
  intraOpNumThreads: 2,
  graphOptimizationLevel: 'all',
};

/** Deterministic pseudo-random floats in [-1, 1) (LCG), so runs are reproducible. */
function randomFloats(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/** The ONNX model `Y = A @ B` (opset 18); B is an input or, with `constantB`, an initializer. */
export function matmulModel(m: number, k: number, n: number, constantB = false): OnnxModel {
  const b = { name: 'B', dtype: 'float32' as const, shape: [k, n] };
  return {
    opset: 18,
    producerName: 'switchyard-bench',
    graph: {
      name: 'matmul',
      inputs: constantB ? [{ name: 'A', dtype: 'float32', shape: [m, k] }] : [{ name: 'A', dtype: 'float32', shape: [m, k] }, b],
      outputs: [{ name: 'Y', dtype: 'float32', shape: [m, n] }],
      initializers: constantB ? [{ name: 'B', dtype: 'float32', dims: [k, n], data: randomFloats(k * n, 2) }] : [],
      nodes: [{ opType: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'] }],
    },
  };
}

/**
 * Times `[m,k] @ [k,n]` float32 MatMul in onnxruntime-node: ~10 warm-up runs, then runs for
 * `seconds`, and reports GFLOP/s from the median run time.
 *
 * @example
 * const r = await measureOrtMatmul({ m: 1024, k: 1024, n: 1024, seconds: 2 });
 * console.log(r.gflops.toFixed(1));
 */
export async function measureOrtMatmul(opts: OrtMatmulOptions = {}): Promise<OrtMatmulResult> {
  const m = opts.m ?? 256;
  const k = opts.k ?? 1024;
  const n = opts.n ?? 1024;
  const model = matmulModel(m, k, n, opts.constantB ?? false);
  validateModel(model);
  const session = await ort.InferenceSession.create(encodeModel(model), ORT_BENCH_SESSION_OPTIONS);
  try {
    const feeds: Record<string, ort.Tensor> = { A: new ort.Tensor('float32', randomFloats(m * k, 1), [m, k]) };
    if (!opts.constantB) feeds.B = new ort.Tensor('float32', randomFloats(k * n, 2), [k, n]);
    const samples = await timeIt(() => session.run(feeds), { warmup: 10, seconds: opts.seconds ?? 3, minRuns: 5 });
    const msPerRun = median(samples);
    return { gflops: (2 * m * k * n) / (msPerRun * 1e6), msPerRun, m, k, n };
  } finally {
    await session.release();
  }
}

/** Parses `MxKxN` (e.g. `256x784x1024`). */
function parseShape(s: string): { m: number; k: number; n: number } {
  const parts = s.split('x').map(Number);
  if (parts.length !== 3 || parts.some((p) => !Number.isInteger(p) || p <= 0)) {
    throw new Error(`bench/ort-matmul: shape '${s}' is not MxKxN with positive integers (e.g. 256x784x1024)`);
  }
  return { m: parts[0], k: parts[1], n: parts[2] };
}

async function main(argv: string[]): Promise<void> {
  const shapes: string[] = [];
  let seconds: number | undefined;
  let constantB = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seconds') seconds = Number(argv[++i]);
    else if (argv[i] === '--constant-b') constantB = true;
    else shapes.push(argv[i]);
  }
  if (shapes.length === 0) shapes.push('256x784x1024', '1024x1024x1024');
  for (const s of shapes) {
    const r = await measureOrtMatmul({ ...parseShape(s), seconds, constantB });
    console.log(JSON.stringify({ name: 'ort-matmul', ...r, constantB, threads: 2 }));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
