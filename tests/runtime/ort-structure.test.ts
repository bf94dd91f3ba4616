/** ORT vs reference: layout, indexing, nonzero (incl. zero-token experts), random, loops, constants, symbolic sizes. */
import { split } from '../../src/core/index.ts';
import { concatRows, splitRows } from '../../src/core/index.ts';
import { describe, expect, it } from 'vitest';
import {
  add, broadcastLike, cast, concat, constant, expand, fullLike, gather, gatherElements, gatherND, identity, less, loop, matmul, mul, nonzero,
  numel, oneHot, pad, randomUniformLike, reduceSum, relu, reshape, scalar, scatterElementsAdd, scatterNDAdd, slice, stopGradient, topk,
  transpose, unsqueeze, zerosLike,
} from '../../src/core/index.ts';
import { compareOrtWithReference, expectFamilyCovered, ortCase, randInt, randn, tensor } from './ort-helpers.ts';

describe('ORT vs reference: layout', () => {
  it('reshape with -1 and with two symbolic dims, at several sizes incl. an empty batch (one compile)', async () => {
    const c = await ortCase((g) => {
      const x = g.input('x', 'f32', ['b', 't', 8]);
      const flat = reshape(x, [-1, 8]);
      return {
        split: reshape(x, ['b', 't', 2, 4]), flat, back: reshape(relu(flat), ['b', 't', 8]), swapped: reshape(x, ['t', 'b', 8]),
        hole: reshape(x, ['t', -1]), holeMid: reshape(x, [2, 't', -1, 2]), static: reshape(slice(x, 2, 0, 6), [2, -1, 3]),
      };
    });
    for (const [b, t, seed] of [[2, 3, 1], [1, 5, 2], [4, 1, 3], [0, 3, 4]]) {
      const { ort } = await c.check({ x: randn([b, t, 8], seed) });
      expect(ort.split.shape).toEqual([b, t, 2, 4]);
      expect(ort.swapped.shape).toEqual([t, b, 8]);
    }
    await c.release();
  });

  it('reshape of an empty tensor to a shape with a static 0', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', [3]);
      const [, stacked] = loop(0, [x], (_i, c) => ({ carried: [c], scans: [c] }));
      return { r: reshape(stacked, [3, 0]), r2: reshape(stacked, [0, 1, 3]) };
    }, { x: randn([3], 5) });
  });

  it('transpose (default last two, 3-D and 4-D permutations, i64)', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', [2, 3, 4]);
      const y = g.input('y', 'f32', [2, 3, 4, 5]);
      const i = g.input('i', 'i64', [3, 2]);
      return { t: transpose(x), p: transpose(x, [2, 0, 1]), q: transpose(y, [3, 1, 0, 2]), ti: transpose(i) };
    }, { x: randn([2, 3, 4], 6), y: randn([2, 3, 4, 5], 7), i: randInt([3, 2], 8, -5, 5) });
  });

  it('slice, pad and concat (several axes, negative starts, three inputs, i64 and bool)', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', [3, 4, 5]);
      const i = g.input('i', 'i64', [2, 3]);
      const m = g.input('m', 'bool', [2, 2]);
      return {
        s0: slice(x, 0, 1), s1: slice(x, 1, 1, 3), s2: slice(x, -1, -2), p: pad(x, [1, 0, 2], [0, 3, 1]), pi: pad(i, [0, 1], [2, 0]),
        c0: concat([x, slice(x, 0, 0, 1), x], 0), c2: concat([slice(x, 2, 0, 2), x], -1), ci: concat([i, i], 1), cm: concat([m, m, m], 0),
        sp0: split(x, 2, [1, 3, 1])[1], sp1: split(x, 0, [2, 1])[0], spi: split(i, 1, [1, 2])[1],
      };
    }, { x: randn([3, 4, 5], 9), i: randInt([2, 3], 10, -9, 9), m: tensor([1, 0, 0, 1], [2, 2], 'bool') });
  });

  it('broadcastLike to a symbolic batch, expand, identity, stopGradient (one compile, two batch sizes)', async () => {
    const c = await ortCase((g) => {
      const v = g.input('v', 'f32', [3]);
      const r = g.input('r', 'f32', [1, 3]);
      const like = g.input('like', 'f32', ['batch', 2, 3]);
      const col = g.input('col', 'f32', [2, 1]);
      const i = g.input('i', 'i64', [3]);
      return {
        b: broadcastLike(v, like), br: broadcastLike(r, like), bi: broadcastLike(i, like), e: expand(col, [2, 3]), e3: expand(col, [4, 2, 5]),
        id: identity(v), sg: stopGradient(add(like, 1)),
      };
    });
    for (const [batch, seed] of [[1, 11], [5, 12]]) {
      await c.check({ v: randn([3], seed), r: randn([1, 3], seed + 1), like: randn([batch, 2, 3], seed + 2), col: randn([2, 1], seed + 3), i: randInt([3], seed, -4, 4) });
    }
    await c.release();
  });
});

describe('ORT vs reference: indexing', () => {
  it('gather on axis 0 and 1 with scalar, 1-d and 2-d (negative) indices', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', [4, 3, 2]);
      const i2 = g.input('i2', 'i64', [2, 3]);
      const k = g.input('k', 'i64', []);
      const j = g.input('j', 'i64', [4]);
      const t = g.input('t', 'i64', [5, 2]);
      const m = g.input('m', 'i64', [2, 2]);
      return { a0: gather(x, i2, 0), s0: gather(x, k, 0), a1: gather(x, j, 1), s1: gather(x, k, 1), m1: gather(x, m, 1), int: gather(t, j, 0) };
    }, {
      x: randn([4, 3, 2], 13), i2: tensor([3, 0, -1, 1, -4, 2], [2, 3], 'i64'), k: tensor([1], [], 'i64'), j: tensor([2, 0, -1, 2], [4], 'i64'),
      m: tensor([2, -3, 1, 1], [2, 2], 'i64'),
      t: randInt([5, 2], 14, -100, 100),
    });
  });

  it('gatherElements and scatterElementsAdd with repeated indices on axis 0 and 1', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', [3, 4]);
      const i0 = g.input('i0', 'i64', [2, 4]);
      const i1 = g.input('i1', 'i64', [3, 5]);
      const u0 = g.input('u0', 'f32', [2, 4]);
      const u1 = g.input('u1', 'f32', [3, 5]);
      return { g0: gatherElements(x, i0, 0), g1: gatherElements(x, i1, 1), s0: scatterElementsAdd(x, i0, u0, 0), s1: scatterElementsAdd(x, i1, u1, 1) };
    }, {
      x: randn([3, 4], 15), i0: tensor([0, 2, 2, 1, 0, 2, 2, 1], [2, 4], 'i64'), i1: tensor([3, 3, 3, 0, 1, 0, 0, 2, 2, 2, 1, 1, 1, 1, 3], [3, 5], 'i64'),
      u0: randn([2, 4], 16), u1: randn([3, 5], 17),
    });
  });

  it('gatherND and scatterNDAdd with repeated indices (depth 1 and 2, batched indices)', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', [4, 3, 2]);
      const q1 = g.input('q1', 'i64', [5, 1]);
      const q2 = g.input('q2', 'i64', [2, 3, 2]);
      const u1 = g.input('u1', 'f32', [5, 3, 2]);
      const u2 = g.input('u2', 'f32', [2, 3, 2]);
      return { g1: gatherND(x, q1), g2: gatherND(x, q2), s1: scatterNDAdd(x, q1, u1), s2: scatterNDAdd(x, q2, u2) };
    }, {
      x: randn([4, 3, 2], 18), q1: tensor([1, 3, 1, 1, 0], [5, 1], 'i64'), q2: tensor([0, 1, 3, 2, 0, 1, 0, 1, 2, 2, 0, 1], [2, 3, 2], 'i64'),
      u1: randn([5, 3, 2], 19), u2: randn([2, 3, 2], 20),
    });
  });

  it('topk largest and smallest on both axes, ties keep the lower index first', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', [3, 6]);
      const t = g.input('t', 'f32', [2, 5]);
      const out: Record<string, ReturnType<typeof relu>> = {};
      for (const largest of [true, false]) {
        const s = largest ? 'L' : 'S';
        [out[`v${s}`], out[`i${s}`]] = topk(x, 3, -1, largest);
        [out[`v0${s}`], out[`i0${s}`]] = topk(x, 2, 0, largest);
        [out[`tv${s}`], out[`ti${s}`]] = topk(t, 4, 1, largest);
      }
      return out;
    }, { x: randn([3, 6], 21), t: tensor([1, 2, 2, 1, 2, 0, 0, 3, 0, 3], [2, 5]) });
  });

  it('oneHot, incl. negative and out-of-range indices', async () => {
    await compareOrtWithReference((g) => ({ h: oneHot(g.input('i', 'i64', [2, 4]), 5) }), { i: tensor([0, 4, -1, -5, 2, 5, -6, 3], [2, 4], 'i64') });
  });

  it('splitRows / concatRows by run-time sizes, incl. empty pieces (one compile)', async () => {
    const c = await ortCase((g) => {
      const x = g.input('x', 'f32', [6, 4]);
      const n = g.input('n', 'i64', [3]);
      const w = g.input('w', 'f32', [4, 4]);
      const [a, b, d] = splitRows(x, n);
      return { a, y: concatRows(n, [matmul(a, w), mul(b, 2), d], 6) };
    });
    for (const n of [[2, 0, 4], [0, 6, 0], [1, 2, 3]]) {
      const { ort } = await c.check({ x: randn([6, 4], 24), n: tensor(n, [3], 'i64'), w: randn([4, 4], 25) });
      expect(ort.a.shape).toEqual([n[0], 4]);
    }
    await c.release();
  });

  it('nonzero routing: gather, expert matmul, scatterNDAdd back, incl. an expert with zero tokens (one compile)', async () => {
    const c = await ortCase((g) => {
      const x = g.input('x', 'f32', [6, 4]);
      const w = g.input('w', 'f32', [4, 3]);
      const thr = g.input('thr', 'f32', []);
      const idx = nonzero(less(reduceSum(x, 1), thr));
      const rows = gather(x, idx, 0);
      const y = matmul(rows, w);
      return { idx, rows, y, out: scatterNDAdd(zerosLike(matmul(x, w)), unsqueeze(idx, -1), y), count: numel(rows, [0]), total: reduceSum(y) };
    });
    const x = randn([6, 4], 22);
    const w = randn([4, 3], 23);
    for (const thr of [0, 10, -10]) {
      const { ort } = await c.check({ x, w, thr: tensor([thr], []) });
      if (thr === -10) {
        expect(ort.idx.shape).toEqual([0]);
        expect(ort.rows.shape).toEqual([0, 4]);
        expect([...ort.out.data].every((v) => v === 0)).toBe(true);
      }
    }
    await c.release();
  });
});

describe('ORT vs reference: random, loops, constants, symbolic sizes', () => {
  it('randomUniformLike agrees element by element for several seeds, incl. ~1e15 (one compile)', async () => {
    const c = await ortCase((g) => ({ u: randomUniformLike(g.input('x', 'f32', ['b', 5, 7]), g.input('seed', 'i64', [])) }));
    const seen = new Map<number, number>();
    for (const seed of [0, 1, 2, 42, 2 ** 31 - 2, 2 ** 31 - 1, 2 ** 31, 123456789012, 1e15, 999999999999989]) {
      // float32 precision: the cast of the hash to f32 rounds once (and ORT divides by fround(2^31 - 1) = 2^31).
      const { ort } = await c.check({ x: randn([3, 5, 7], 24), seed: tensor([seed], [], 'i64') }, { rtol: 2 ** -22, atol: 0 });
      const u = ort.u.data as Float32Array;
      expect(u.every((v) => v >= 0 && v <= 1)).toBe(true);
      seen.set(seed, u[0]);
    }
    // The seed enters modulo 2^31 - 1: congruent seeds share a stream, the others differ.
    expect(seen.get(2 ** 31 - 1)).toBe(seen.get(0));
    expect(seen.get(2 ** 31)).toBe(seen.get(1));
    expect(new Set(seen.values()).size).toBe(seen.size - 2);
    await c.release();
  });

  it('loop with a numeric trip count: carried values, scans, a captured outer tensor, a nested loop', async () => {
    await compareOrtWithReference((g) => {
      const w = g.input('w', 'f32', [3]);
      const z = g.input('z', 'f32', [3]);
      const k = g.input('k', 'i64', []);
      const [acc, cnt, before] = loop(4, [z, k], (i, c, n) => ({ carried: [add(c, mul(w, cast(i, 'f32'))), add(n, i)], scans: [mul(c, 2)] }));
      const [nested] = loop(2, [z], (i, c) => {
        const [inner] = loop(3, [c], (_j, d) => ({ carried: [add(d, add(w, cast(i, 'f32')))], scans: [] }));
        return { carried: [inner], scans: [] };
      });
      const [zero, none] = loop(0, [z], (_i, c) => ({ carried: [add(c, 1)], scans: [c] }));
      return { acc, cnt, before, nested, zero, none };
    }, { w: randn([3], 25), z: randn([3], 26), k: tensor([5], [], 'i64') });
  });

  it('loop with a symbolic trip count taken from an input dim, reading rows of a captured input (one compile)', async () => {
    const c = await ortCase((g) => {
      const x = g.input('x', 'f32', ['n', 3]);
      const z = g.input('z', 'f32', [3]);
      const [sum, rows] = loop('n', [z], (i, acc) => {
        const row = gather(x, i, 0);
        return { carried: [add(acc, row)], scans: [mul(row, acc)] };
      });
      return { sum, rows, direct: reduceSum(x, 0) };
    });
    for (const [n, seed] of [[4, 27], [1, 28], [0, 29]]) {
      const { ort } = await c.check({ x: randn([n, 3], seed), z: tensor([0, 0, 0], [3]) });
      expect(ort.rows.shape).toEqual([n, 3]);
    }
    await c.release();
  });

  it('numel over symbolic dims, fullLike with a symbolic shape (each dtype), constants of each dtype', async () => {
    const c = await ortCase((g) => {
      const x = g.input('x', 'f32', ['b', 't', 4]);
      return {
        n0: numel(x, [0]), n01: numel(x, [0, 1]), nAll: numel(x), nStatic: numel(x, [2]), mean: mul(reduceSum(x), scalar(1)),
        f: fullLike(x, 2.5), fi: fullLike(x, -3, 'i64'), fb: fullLike(x, 1, 'bool'), z: zerosLike(x),
        cf: constant(Float32Array.of(1.5, -2, 3e-8), [3]), ci: constant(BigInt64Array.of(-7n, 2n ** 40n), [2, 1]), cb: constant(Uint8Array.of(1, 0, 1, 1), [2, 2]),
        sf: scalar(0.25), si: scalar(-4, 'i64'), sb: scalar(1, 'bool'),
      };
    });
    await c.check({ x: randn([2, 3, 4], 30) });
    await c.check({ x: randn([5, 1, 4], 31) });
    await c.release();
  });
});

describe('ORT coverage', () => {
  it('ran every layout/indexing/control op on ORT, and the families cover opNames()', () => expectFamilyCovered('structure'));
});
