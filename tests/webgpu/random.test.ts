/**
 * randomUniformLike on WebGPU: the counter-based hash of core/ops/random.ts computed with 32-bit words. Its
 * values equal the reference's up to float32 rounding, its distribution is uniform (mean, variance and a
 * Kolmogorov-Smirnov statistic at a fixed seed: deterministic), and dropout masks drawn from it match the CPU's.
 */
import { describe, expect, it } from 'vitest';
import { type Graph, randomUniformLike, trace } from '../../src/core/index.ts';
import { dropout } from '../../src/nn/functional.ts';
import { withTraining } from '../../src/nn/mode.ts';
import { runReference } from '../../src/runtime/reference/index.ts';
import type { HostTensor } from '../../src/runtime/executor.ts';
import { WebGpuGraph } from '../../src/runtime/webgpu/graph.ts';
import { randn, tensor, toHost } from '../runtime/ort-helpers.ts';
import { expectGpuFamilyCovered, gpuCase, probeDevice } from './helpers.ts';

const { gpu, title } = await probeDevice();
const N = 4096;

const noise = trace((g) => ({ u: randomUniformLike(g.input('x', 'f32', [64, N / 64]), g.input('seed', 'i64', [])) }));

async function runGpu(graph: Graph, feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const exe = await WebGpuGraph.create(graph, { device: gpu! });
  try {
    return await exe.run(feeds);
  } finally {
    await exe.release();
  }
}

const feedsOf = (seed: number) => ({ x: randn([64, N / 64], 1), seed: tensor([seed], [], 'i64') });
const host = (feeds: ReturnType<typeof feedsOf>) => ({ x: toHost(feeds.x), seed: toHost(feeds.seed) });

describe.skipIf(!gpu)(title('WebGPU: randomUniformLike'), () => {
  it('equals the CPU generator up to float32 rounding (seeds 0, 7, 2^31 - 2)', async () => {
    const fn = (g: Graph) => ({ u: randomUniformLike(g.input('x', 'f32', [64, N / 64]), g.input('seed', 'i64', [])) });
    for (const seed of [0, 7, 2 ** 31 - 2]) await gpuCase(gpu!, fn, feedsOf(seed), { rtol: 0, atol: 6e-8 });
  });

  it('is uniform on [0, 1): mean, variance, Kolmogorov-Smirnov; deterministic per seed', async () => {
    const a = (await runGpu(noise, host(feedsOf(12345)))).u.data as Float32Array;
    const again = (await runGpu(noise, host(feedsOf(12345)))).u.data as Float32Array;
    const other = (await runGpu(noise, host(feedsOf(12346)))).u.data as Float32Array;
    expect([...again]).toEqual([...a]);
    expect(other.filter((v, k) => v === a[k]).length).toBeLessThan(4);
    const mean = a.reduce((s, v) => s + v, 0) / N;
    const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / N;
    // 4 standard errors: sd(mean) = sqrt(1/12/N) = 0.0045; sd(variance) = sqrt(1/180/N) = 0.0012.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.018);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.005);
    const sorted = [...a].sort((p, q) => p - q);
    expect(Math.min(...sorted)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...sorted)).toBeLessThanOrEqual(1);
    const ks = Math.max(...sorted.map((v, k) => Math.max((k + 1) / N - v, v - k / N)));
    expect(ks).toBeLessThan(1.36 / Math.sqrt(N)); // the 5% critical value
  });

  it('dropout masks in a traced training step match the CPU and keep about 1 - p', async () => {
    const p = 0.3;
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [64, N / 64]);
      return withTraining(g.input('seed', 'i64', []), () => ({ a: dropout(x, p), b: dropout(x, p) }));
    });
    const feeds = feedsOf(99);
    const want = runReference(graph, feeds);
    const got = await runGpu(graph, host(feeds));
    for (const name of ['a', 'b']) {
      const kept = (got[name].data as Float32Array).map((v) => (v === 0 ? 0 : 1));
      expect([...kept], name).toEqual([...want[name].data].map((v) => (v === 0 ? 0 : 1)));
      expect(Math.abs(kept.reduce((s, v) => s + v, 0) / N - (1 - p))).toBeLessThan(0.03);
    }
    expect([...got.a.data]).not.toEqual([...got.b.data]); // two call sites, two streams
  });

  it('in-graph seeds past 2^31 (fed seed + call-site offset) wrap in i32 and still equal the CPU', async () => {
    // The hash reads the seed modulo 2^31 - 1: a fed seed below 2^31 plus an i64 offset wraps in the GPU's i32,
    // but its u32 bits are the exact sum (< 2^32), reduced exactly. (A seed fed as s mod (2^31 - 1) thus gives
    // the CPU's stream on the GPU for any s.)
    const fn = (g: Graph) => {
      const x = g.input('x', 'f32', [8, 8]);
      return withTraining(g.input('seed', 'i64', []), () => ({ a: dropout(x, 0.5), b: dropout(x, 0.5) }));
    };
    for (const seed of [2 ** 31 - 2, 2 ** 31 - 1_500_000]) {
      await gpuCase(gpu!, fn, { x: randn([8, 8], 5), seed: tensor([seed], [], 'i64') }, { rtol: 0, atol: 0 });
    }
  });

  it('this file ran every op of its family on WebGPU', () => expectGpuFamilyCovered('random'));
});
