/**
 * Run-time row counts on WebGPU (splitRows, concatRows, nonzero; design in src/runtime/webgpu/kernels/rows.ts):
 * checked against the reference with empty pieces, values with a run-time dim flowing through elementwise ops,
 * transposes, matmuls and sums, fetched outputs cut to their true shape, bad sizes and unsupported ops named.
 */
import { describe, expect, it } from 'vitest';
import {
  add, concatRows, exp, gather, loop, matmul, mul, nonzero, reduceMean, reduceSum, reshape, splitRows, trace,
  transpose,
} from '../../src/core/index.ts';
import { WebGpuGraph } from '../../src/runtime/webgpu/graph.ts';
import { RowCounts } from '../../src/runtime/webgpu/row-counts.ts';
import { randn, tensor, toHost } from '../runtime/ort-helpers.ts';
import { expectGpuFamilyCovered, gpuCase, probeDevice } from './helpers.ts';

const { gpu, title } = await probeDevice();

describe('run-time row counts: the plan (no GPU needed)', () => {
  it('row ops inside a loop body get their words, and counting along their dims is refused there too', () => {
    const body = (counting: boolean) => trace((g) => {
      const x = g.input('x', 'f32', [4, 2]);
      const sizes = g.input('sizes', 'i64', [2]);
      const [y] = loop(2, [x], (_i, c) => {
        const [a, b] = splitRows(c, sizes);
        const s = counting ? reduceMean(a, 0, true) : reduceSum(a, 0, true);
        return { carried: [concatRows(sizes, [add(a, s), b], 4)], scans: [] };
      });
      return { y };
    });
    const rows = RowCounts.of(body(false))!;
    expect(rows.size).toBe(3); // the status word and the two pieces' counts
    expect(() => RowCounts.of(body(true))).toThrow(expect.objectContaining({ code: 'E_WEBGPU_OP' }));
  });
});

describe.skipIf(!gpu)(title('WebGPU: run-time row counts'), () => {
  it('splitRows -> per-piece work -> concatRows, with an empty piece; pieces fetched at their true shape', async () => {
    for (const counts of [[2, 0, 3], [0, 5, 0], [5, 0, 0]]) {
      await gpuCase(gpu!, (g) => {
        const x = g.input('x', 'f32', [5, 3]);
        const sizes = g.input('sizes', 'i64', [3]);
        const w = g.input('w', 'f32', [3, 2]);
        const pieces = splitRows(x, sizes);
        const outs = pieces.map((p, e) => add(matmul(exp(p), w), e)); // add: padding rows would be e, not 0
        const y = concatRows(sizes, outs, 5);
        return {
          y, p0: pieces[0], p1: pieces[1], o2: outs[2], t2: transpose(outs[2]),
          // Sums over the run-time dim: a matmul contracting it and a reduceSum.
          gram: matmul(transpose(outs[0]), outs[0]), col: reduceSum(outs[1], 0),
        };
      }, { x: randn([5, 3], 1), sizes: tensor(counts, [3], 'i64'), w: randn([3, 2], 2) });
    }
  });

  it('zero rows: empty pieces, their sums (an empty reduction compiles) and an empty concatRows', async () => {
    await gpuCase(gpu!, (g) => {
      const x = g.input('x', 'f32', [0, 2]);
      const sizes = g.input('sizes', 'i64', [2]);
      const pieces = splitRows(x, sizes);
      return { y: concatRows(sizes, pieces, 0), sum: reduceSum(pieces[1], 0), all: reduceSum(x) };
    }, { x: tensor([], [0, 2]), sizes: tensor([0, 0], [2], 'i64') });
  });

  it('nonzero: positions of the true elements, then a gather by them (none true, all true)', async () => {
    for (const mask of [[0, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]]) {
      await gpuCase(gpu!, (g) => {
        const m = g.input('m', 'bool', [6]);
        const x = g.input('x', 'f32', [6, 2]);
        const at = nonzero(m);
        const rows = gather(x, at, 0);
        return { at, rows, sum: reduceSum(mul(rows, rows), 0) };
      }, { m: tensor(mask, [6], 'bool'), x: randn([6, 2], 3) });
    }
  });

  it('sizes that do not fit are E_SHAPE after the run, naming the node', async () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [4, 2]);
      const sizes = g.input('sizes', 'i64', [2]);
      return { y: concatRows(sizes, splitRows(x, sizes), 4) };
    });
    const exe = await WebGpuGraph.create(graph, { device: gpu! });
    const x = toHost(randn([4, 2], 4));
    try {
      for (const bad of [[3, 3], [-1, 5]]) {
        const run = exe.run({ x, sizes: toHost(tensor(bad, [2], 'i64')) });
        await expect(run).rejects.toMatchObject({ code: 'E_SHAPE', message: expect.stringContaining('splitRows') });
      }
      // The status word is cleared per run: a good run after a bad one succeeds.
      const ok = await exe.run({ x, sizes: toHost(tensor([1, 3], [2], 'i64')) });
      expect([...ok.y.data]).toEqual([...x.data]);
    } finally {
      await exe.release();
    }
  });

  it('pieces with static dims: sizes that disagree with them are E_SHAPE after the run', async () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [4, 2]);
      const [a, b] = splitRows(x, g.input('sizes', 'i64', [2]), [1, 3]);
      return { a, b: exp(b) };
    });
    const exe = await WebGpuGraph.create(graph, { device: gpu! });
    const x = toHost(randn([4, 2], 5));
    try {
      const ok = await exe.run({ x, sizes: toHost(tensor([1, 3], [2], 'i64')) });
      expect(ok.b.shape).toEqual([3, 2]);
      expect([...ok.a.data]).toEqual([...x.data.slice(0, 2)]);
      const bad = exe.run({ x, sizes: toHost(tensor([2, 2], [2], 'i64')) });
      await expect(bad).rejects.toMatchObject({ code: 'E_SHAPE' });
    } finally {
      await exe.release();
    }
  });

  it('an op that counts along a run-time dim is E_WEBGPU_OP before running', async () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [4, 2]);
      const [a] = splitRows(x, g.input('sizes', 'i64', [1]));
      return { m: reduceMean(a, 0), ok: reduceMean(a, 1) };
    });
    await expect(WebGpuGraph.create(graph, { device: gpu! })).rejects.toMatchObject({
      code: 'E_WEBGPU_OP', message: expect.stringMatching(/'reduceMean' along the run-time dim \?rows/),
    });
    // A reshape that moves the counted rows off the leading dim would read the upper-bound layout wrongly.
    for (const shape of [[-1], [2, -1]]) {
      const moved = trace((g) => {
        const [a] = splitRows(g.input('x', 'f32', [4, 2]), g.input('sizes', 'i64', [1]));
        return { r: reshape(a, shape), ok: reshape(a, [-1, 1, 2]) };
      });
      expect(() => RowCounts.of(moved)).toThrow(expect.objectContaining({
        code: 'E_WEBGPU_OP', message: expect.stringContaining("'reshape' along the run-time dim ?rows"),
      }));
    }
  });

  it('this file ran every op of its family on WebGPU', () => expectGpuFamilyCovered('rows'));
});
