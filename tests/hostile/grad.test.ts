/**
 * Hostile inputs to the scatter-adds behind gradients (issue 11), at 2 ORT threads: every id the same, negative ids,
 * addresses out of range, non-finite updates, an empty batch. Each must give the reference interpreter's answer (or
 * its error), the same on every run — never a silently wrong or run-dependent one.
 */
import { describe, expect, it } from 'vitest';
import {
  backward, gather, type Graph, mul, reduceSum, scatterNDAdd, type Tensor, trace,
} from '../../src/core/index.ts';
import type { RefTensor } from '../../src/runtime/reference/index.ts';
import { runReference } from '../../src/runtime/reference/index.ts';
import { expectRepeatable, ortCase, randInt, randn, roundFeeds, tensor, toHost } from '../runtime/ort-helpers.ts';

const THREADS = 2;

/** The embedding gradient dw of sum(gather(w, ids) * r), w [V, D], ids [N] (N symbolic). */
function embeddingGrad(v: number, d: number): (g: Graph) => Record<string, Tensor> {
  return (g) => {
    const w = g.input('w', 'f32', [v, d]);
    const y = gather(w, g.input('ids', 'i64', ['n']));
    return { dw: backward(reduceSum(mul(y, g.input('r', 'f32', ['n', d]))), [w])[0] };
  };
}

/** Runs `fn` 4 times at THREADS: the first run matches the reference (NaN where it has NaN), the rest the first. */
async function sameAsReference(fn: (g: Graph) => Record<string, Tensor>, feeds: Record<string, RefTensor>) {
  await expectRepeatable(fn, feeds, THREADS, 4, { rtol: 1e-5, atol: 1e-6 });
}

describe('hostile scatter-adds at 2 threads', () => {
  it('every one of 4096 ids the same row', async () => {
    await sameAsReference(embeddingGrad(8, 128), {
      w: randn([8, 128], 1), ids: tensor(new Array(4096).fill(5), [4096], 'i64'), r: randn([4096, 128], 2, 0.5, 1.5),
    });
  });

  it('negative ids count from the end, as in the forward gather', async () => {
    const ids = randInt([2048], 3, -40, 39);
    await sameAsReference(embeddingGrad(40, 128), { w: randn([40, 128], 4), ids, r: randn([2048, 128], 5, 0.5, 1.5) });
  });

  it('a NaN or an infinity in one update reaches only its own row (rows repeated, and a permutation)', async () => {
    const repeated = tensor(Array.from({ length: 2048 }, (_, i) => (i * 7) % 40), [2048], 'i64');
    const permutation = tensor(Array.from({ length: 2048 }, (_, i) => (i * 7) % 2048), [2048], 'i64');
    const cases = [[repeated, Number.NaN], [repeated, Number.POSITIVE_INFINITY], [permutation, Number.NaN]] as const;
    for (const [ids, bad] of cases) {
      const v = ids === repeated ? 40 : 2048;
      const r = randn([2048, 128], 6, 0.5, 1.5);
      r.data[3 * 128 + 9] = bad; // token 3 -> row 21, column 9
      const feeds = { w: randn([v, 128], 7), ids, r };
      const { dw } = runReference(trace(embeddingGrad(v, 128)), roundFeeds(feeds));
      expect(dw.data.filter((x) => !Number.isFinite(x)).length).toBe(1);
      await sameAsReference(embeddingGrad(v, 128), feeds);
    }
  });

  it('an empty batch gives a zero gradient', async () => {
    const feeds = { w: randn([40, 16], 8), ids: tensor([], [0], 'i64'), r: randn([0, 16], 9) };
    await sameAsReference(embeddingGrad(40, 16), feeds);
  });

  it('an address out of range fails as in the reference instead of landing in another row', async () => {
    // [0, 7] in a [6, 7, 4] base would be row 1, column 0 if the two parts were simply flattened.
    const fn = (g: Graph) => {
      const base = g.input('base', 'f32', [6, 7, 4]);
      return { s: scatterNDAdd(base, g.input('idx', 'i64', [3, 2]), g.input('u', 'f32', [3, 4])) };
    };
    const c = await ortCase(fn, THREADS);
    try {
      for (const idx of [[0, 0, 2, 3, 0, 7], [0, 0, 6, 0, 1, 1], [-7, 0, 1, 1, 2, 2], [0, -8, 1, 1, 2, 2]]) {
        const feeds = { base: randn([6, 7, 4], 10), idx: tensor(idx, [3, 2], 'i64'), u: randn([3, 4], 11) };
        expect(() => runReference(c.graph, feeds), `reference, ${idx}`).toThrow();
        const host = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, toHost(t)]));
        await expect(c.compiled.run(host), `ORT, ${idx}`).rejects.toThrow();
      }
      // In range, negative parts count from the end.
      const idx = tensor([-1, -7, 5, 6, -6, 0], [3, 2], 'i64');
      await c.check({ base: randn([6, 7, 4], 12), idx, u: randn([3, 4], 13) });
    } finally {
      await c.release();
    }
  });
});
