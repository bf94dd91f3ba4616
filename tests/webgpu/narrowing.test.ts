/**
 * WGSL has no 64-bit integers: i64 tensors live on the GPU as i32. A value outside [-2^31, 2^31) in a fed input
 * or a constant is a clear `E_WEBGPU_RANGE` naming the tensor (never a silently wrapped index); the edges fit.
 */
import { describe, expect, it } from 'vitest';
import { add, constant, gather, trace } from '../../src/core/index.ts';
import { WebGpuGraph } from '../../src/runtime/webgpu/graph.ts';
import { toDeviceWords } from '../../src/runtime/webgpu/buffers.ts';
import { probeDevice } from './helpers.ts';

const { gpu, title } = await probeDevice();

describe('i64 narrowing to 32 bits (no GPU needed)', () => {
  it('the edges fit; one past either edge is E_WEBGPU_RANGE naming the tensor and the value', () => {
    const edges = BigInt64Array.of(-(2n ** 31n), 2n ** 31n - 1n, 0n);
    expect([...toDeviceWords(edges, 'i64', "input 'idx'")]).toEqual([-(2 ** 31), 2 ** 31 - 1, 0]);
    for (const v of [2n ** 31n, -(2n ** 31n) - 1n, 2n ** 40n]) {
      expect(() => toDeviceWords(BigInt64Array.of(1n, v), 'i64', "input 'idx'")).toThrow(expect.objectContaining({
        code: 'E_WEBGPU_RANGE', message: `input 'idx': the i64 value ${v} does not fit in 32 bits`,
        hint: expect.stringContaining('2^31'),
      }));
    }
  });
});

describe.skipIf(!gpu)(title('WebGPU: i64 past 2^31'), () => {
  it('a fed index past 2^31 is refused by run, naming it; the executable then runs in-range feeds', async () => {
    const graph = trace((g) => ({ y: gather(g.input('x', 'f32', [3]), g.input('idx', 'i64', [2]), 0) }));
    const exe = await WebGpuGraph.create(graph, { device: gpu! });
    const x = { dtype: 'f32' as const, shape: [3], data: Float32Array.of(1, 2, 3) };
    try {
      const far = { dtype: 'i64' as const, shape: [2], data: BigInt64Array.of(0n, 2n ** 31n) };
      await expect(exe.run({ x, idx: far })).rejects.toMatchObject({
        code: 'E_WEBGPU_RANGE', message: expect.stringContaining("input 'idx'"),
      });
      const near = { dtype: 'i64' as const, shape: [2], data: BigInt64Array.of(2n, -1n) };
      expect([...(await exe.run({ x, idx: near })).y.data]).toEqual([3, 3]);
    } finally {
      await exe.release();
    }
  });

  it('an i64 constant past 2^31 is refused when the graph is prepared, before any run', async () => {
    const graph = trace((g) => ({ big: add(g.input('idx', 'i64', [2]), constant(BigInt64Array.of(2n ** 31n), [])) }));
    await expect(WebGpuGraph.create(graph, { device: gpu! })).rejects.toMatchObject({
      code: 'E_WEBGPU_RANGE', message: expect.stringMatching(/constant .*2147483648/),
    });
  });
});
