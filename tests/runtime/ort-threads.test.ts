/**
 * Scatter-adds at 2 and 4 ORT threads (issue 11): ORT's multi-threaded ScatterND with reduction 'add' lost updates
 * when indices repeated, so every embedding gradient came out a little wrong and different run after run. Each case
 * repeats a heavy scatter (thousands of updates onto a few dozen rows, 128-wide) several times at each thread count
 * and requires every run to match the float64 reference within fp32 rounding and to be bit-identical to the first.
 * The updates are positive, so fp32 rounding of a sum of n terms stays below (n - 1) * 2^-24 of it (rtol 1e-5 holds
 * for n < 160) while one lost update costs about 1/n of it.
 */
import { describe, it } from 'vitest';
import {
  backward, gather, gatherElements, gatherND, type Graph, mul, reduceSum, scatterElementsAdd, scatterNDAdd, type Tensor,
  topk,
} from '../../src/core/index.ts';
import type { RefTensor } from '../../src/runtime/reference/index.ts';
import { expectRepeatable, randInt, randn, tensor } from './ort-helpers.ts';

const RUNS = 8;
const TOL = { rtol: 1e-5, atol: 1e-6 };

type Case = (g: Graph) => Record<string, Tensor>;

async function repeatable(fn: Case, feeds: Record<string, RefTensor>, threads: number): Promise<void> {
  await expectRepeatable(fn, feeds, threads, RUNS, TOL);
}

/** Random int64 addresses [..., k] whose part j is in [0, dims[j]). */
function addresses(shape: number[], dims: number[], seed: number): RefTensor {
  const t = randInt(shape, seed, 0, 41);
  return { ...t, data: t.data.map((v, i) => v % dims[i % dims.length]) };
}

/** d(sum(f(w) * r))/dw for an upstream r of positive weights. */
function gradOf(w: Tensor, r: Tensor, y: Tensor): Tensor {
  return backward(reduceSum(mul(y, r)), [w])[0];
}

describe.each([2, 4])('scatter-adds at %i ORT threads are exact and repeatable', (threads) => {
  it("gather's gradient (an embedding): 2048 ids from 40 rows", async () => {
    await repeatable((g) => {
      const w = g.input('w', 'f32', [40, 128]);
      return { dw: gradOf(w, g.input('r', 'f32', [2048, 128]), gather(w, g.input('ids', 'i64', [2048]))) };
    }, { w: randn([40, 128], 1), ids: randInt([2048], 2, 0, 39), r: randn([2048, 128], 3, 0.5, 1.5) }, threads);
  });

  it("gather's gradient with batched ids [8, 256] and on axis 1", async () => {
    await repeatable((g) => {
      const w = g.input('w', 'f32', [48, 128]);
      const ids = g.input('ids', 'i64', [8, 256]);
      const wt = g.input('wt', 'f32', [128, 48]);
      return {
        dw: gradOf(w, g.input('r', 'f32', [8, 256, 128]), gather(w, ids)),
        dwt: gradOf(wt, g.input('rt', 'f32', [128, 8, 256]), gather(wt, ids, 1)),
      };
    }, {
      w: randn([48, 128], 4), wt: randn([128, 48], 5), ids: randInt([8, 256], 6, 0, 47),
      r: randn([8, 256, 128], 7, 0.5, 1.5), rt: randn([128, 8, 256], 8, 0.5, 1.5),
    }, threads);
  });

  it("gather's gradient with a permutation of 4096 rows (as in MoE's combine): no row repeats", async () => {
    const perm = Array.from({ length: 4096 }, (_, i) => (i * 2654435761) % 4096);
    await repeatable((g) => {
      const w = g.input('w', 'f32', [4096, 128]);
      return { dw: gradOf(w, g.input('r', 'f32', [4096, 128]), gather(w, g.input('ids', 'i64', [4096]))) };
    }, { w: randn([4096, 128], 20), ids: tensor(perm, [4096], 'i64'), r: randn([4096, 128], 21, 0.5, 1.5) }, threads);
  });

  it("gatherND's gradient (2-deep addresses) and scatterNDAdd onto a non-zero base", async () => {
    await repeatable((g) => {
      const w = g.input('w', 'f32', ['a', 7, 128]); // a symbolic dim among the addressed ones
      const idx = g.input('idx', 'i64', [2048, 2]);
      return {
        dw: gradOf(w, g.input('r', 'f32', [2048, 128]), gatherND(w, idx)),
        s: scatterNDAdd(w, g.input('rows', 'i64', [2048, 1]), g.input('u', 'f32', [2048, 7, 128])),
      };
    }, {
      w: randn([6, 7, 128], 9, 0.5, 1.5),
      idx: addresses([2048, 2], [6, 7], 10),
      r: randn([2048, 128], 11, 0.5, 1.5), rows: randInt([2048, 1], 12, 0, 5), u: randn([2048, 7, 128], 13, 0.5, 1.5),
    }, threads);
  });

  it('scatterElementsAdd (the gradients of gatherElements and topk) with repeated indices', async () => {
    await repeatable((g) => {
      const w = g.input('w', 'f32', [40, 128]);
      const x = g.input('x', 'f32', [64, 512]);
      const idx = g.input('idx', 'i64', [2048, 128]);
      return {
        s: scatterElementsAdd(w, idx, g.input('u', 'f32', [2048, 128]), 0),
        dw: gradOf(w, g.input('r', 'f32', [2048, 128]), gatherElements(w, idx, 0)),
        dx: gradOf(x, g.input('rk', 'f32', [64, 256]), topk(x, 256, -1)[0]),
      };
    }, {
      w: randn([40, 128], 14, 0.5, 1.5), x: randn([64, 512], 15), idx: randInt([2048, 128], 16, 0, 39),
      u: randn([2048, 128], 17, 0.5, 1.5),
      r: randn([2048, 128], 18, 0.5, 1.5), rk: randn([64, 256], 19, 0.5, 1.5),
    }, threads);
  });
});
