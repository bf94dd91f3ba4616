import { trace } from '../core/graph.ts';
import { matmul } from '../core/ops/matmul.ts';
import { Rng } from '../util/rng.ts';
import { compile } from './session.ts';

/**
 * The ONNX Runtime MatMul rate on this machine (GFLOP/s): one `[m, k] @ [k, n]` product timed for about
 * `seconds` (default 1), at the rate of its fastest runs. Training reports its model FLOPs utilisation (MFU)
 * against it.
 *
 * @example
 * const gflops = await measureMatmulCeiling({ seconds: 0.5 });
 */
export async function measureMatmulCeiling(opts: { m?: number; k?: number; n?: number; seconds?: number; threads?: number } = {}): Promise<number> {
  const m = opts.m ?? 256;
  const k = opts.k ?? 1024;
  const n = opts.n ?? 1024;
  const g = trace((g) => ({ y: matmul(g.input('a', 'f32', [m, k]), g.input('b', 'f32', [k, n])) }));
  const s = await compile(g, { threads: opts.threads });
  const rng = new Rng(1);
  const a = Float32Array.from({ length: m * k }, () => rng.next() - 0.5);
  const b = Float32Array.from({ length: k * n }, () => rng.next() - 0.5);
  const feeds = { a: { dtype: 'f32' as const, shape: [m, k], data: a }, b: { dtype: 'f32' as const, shape: [k, n], data: b } };
  for (let i = 0; i < 5; i++) await s.run(feeds);
  const times: number[] = [];
  const until = performance.now() + (opts.seconds ?? 1) * 1000;
  while (performance.now() < until || times.length < 5) {
    const t0 = performance.now();
    await s.run(feeds);
    times.push(performance.now() - t0);
  }
  await s.release();
  times.sort((x, y) => x - y);
  // A ceiling: the fast end of the runs (the median of the three fastest), not the median of all. On a shared
  // machine the same product runs at ~100 or ~300 GFLOP/s for stretches of ~0.1-0.5 s, the slow stretches
  // mostly in a process's first second; a 10th percentile over 0.5 s once gave 77 GFLOP/s and an MFU of 118%.
  return (2 * m * k * n) / times[1] / 1e6;
}
