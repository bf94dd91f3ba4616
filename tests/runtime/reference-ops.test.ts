import { split } from '../../src/core/index.ts';
import { concatRows, splitRows } from '../../src/core/index.ts';
import { describe, expect, it } from 'vitest';
import {
  add, broadcastLike, cast, concat, expand, gather, gatherElements, gatherND, hashUniform, identity, less, loop, mul, nonzero, oneHot, pad, randomUniformLike,
  reduceSum, reshape,
  scatterElementsAdd, scatterNDAdd, slice, stopGradient, topk, trace, transpose,
} from '../../src/core/index.ts';
import { refTensor, runReference } from '../../src/runtime/reference/index.ts';
import { expectCode, FORWARD_FAMILIES, ranOps, record, run, vals } from './reference-helpers.ts';

const x23 = refTensor([1, 2, 3, 4, 5, 6], [2, 3]);
const iota = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('layout forward values', () => {
  it('reshape with -1 and with symbolic dims', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      const s = g.input('s', 'f32', ['batch', 2, 2]);
      return { r: reshape(x, [3, -1]), flat: reshape(s, [-1, 2]), back: reshape(reshape(s, ['batch', -1]), ['batch', 2, 2]) };
    }, { x: x23, s: refTensor(iota(12), [3, 2, 2]) });
    expect(out.r.shape).toEqual([3, 2]);
    expect(vals(out.r)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(out.flat.shape).toEqual([6, 2]);
    expect(out.back.shape).toEqual([3, 2, 2]);
    expect(vals(out.back)).toEqual(iota(12));
  });
  it('transpose of a matrix and a 3-D permutation', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      const y = g.input('y', 'f32', [2, 3, 4]);
      return { t: transpose(x), p: transpose(y, [2, 0, 1]) };
    }, { x: x23, y: refTensor(iota(24), [2, 3, 4]) });
    expect(out.t.shape).toEqual([3, 2]);
    expect(vals(out.t)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(out.p.shape).toEqual([4, 2, 3]);
    // p[k, i, j] = y[i, j, k] = 12 i + 4 j + k
    for (const [k, i, j] of [[0, 0, 0], [3, 1, 2], [1, 0, 2], [2, 1, 0]]) expect(out.p.data[k * 6 + i * 3 + j]).toBe(12 * i + 4 * j + k);
  });
  it('slice, pad and concat', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      return {
        s: slice(x, 1, 1, 3), s0: slice(x, 0, -1), p: pad(x, [1, 0], [0, 2]),
        c0: concat([x, slice(x, 0, 0, 1)], 0), c1: concat([x, x], -1), sp: split(x, 1, [1, 2])[1],
      };
    }, { x: x23 });
    expect(vals(out.sp)).toEqual([2, 3, 5, 6]);
    expect(out.s.shape).toEqual([2, 2]);
    expect(vals(out.s)).toEqual([2, 3, 5, 6]);
    expect(vals(out.s0)).toEqual([4, 5, 6]);
    expect(out.p.shape).toEqual([3, 5]);
    expect(vals(out.p)).toEqual([0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0]);
    expect(vals(out.c0)).toEqual([1, 2, 3, 4, 5, 6, 1, 2, 3]);
    expect(out.c1.shape).toEqual([2, 6]);
    expect(vals(out.c1)).toEqual([1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
  });
  it('broadcastLike (to a symbolic shape), expand, identity, stopGradient', () => {
    const out = run((g) => {
      const v = g.input('v', 'f32', [3]);
      const like = g.input('like', 'f32', ['batch', 3]);
      const c = g.input('c', 'f32', [2, 1]);
      return { b: broadcastLike(v, like), e: expand(c, [2, 3]), e3: expand(c, [2, 2, 1]), i: identity(v), s: stopGradient(v) };
    }, { v: refTensor([1, 2, 3], [3]), like: refTensor(iota(6), [2, 3]), c: refTensor([7, 8], [2, 1]) });
    expect(out.b.shape).toEqual([2, 3]);
    expect(vals(out.b)).toEqual([1, 2, 3, 1, 2, 3]);
    expect(vals(out.e)).toEqual([7, 7, 7, 8, 8, 8]);
    expect(out.e3.shape).toEqual([2, 2, 1]);
    expect(vals(out.e3)).toEqual([7, 8, 7, 8]);
    expect(vals(out.i)).toEqual([1, 2, 3]);
    expect(vals(out.s)).toEqual([1, 2, 3]);
  });
});

describe('indexing forward values', () => {
  const x32 = refTensor([1, 2, 3, 4, 5, 6], [3, 2]);
  it('gather on axis 0 (negative indices count from the end), axis 1, scalar index', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [3, 2]);
      return { a0: gather(x, g.input('i', 'i64', [2, 2]), 0), a1: gather(x, g.input('j', 'i64', [1]), 1), s: gather(x, g.input('k', 'i64', []), 0) };
    }, { x: x32, i: refTensor([2, 0, 1, -1], [2, 2], 'i64'), j: refTensor([1], [1], 'i64'), k: refTensor([1], [], 'i64') });
    expect(out.a0.shape).toEqual([2, 2, 2]);
    expect(vals(out.a0)).toEqual([5, 6, 1, 2, 3, 4, 5, 6]);
    expect(out.a1.shape).toEqual([3, 1]);
    expect(vals(out.a1)).toEqual([2, 4, 6]);
    expect(out.s.shape).toEqual([2]);
    expect(vals(out.s)).toEqual([3, 4]);
  });
  it('an index out of range is an E_INDEX error', () => {
    const g = trace((g) => ({ y: gather(g.input('x', 'f32', [3, 2]), g.input('i', 'i64', [1])) }));
    expectCode(() => runReference(g, { x: x32, i: refTensor([3], [1], 'i64') }), 'E_INDEX');
    expectCode(() => runReference(g, { x: x32, i: refTensor([-4], [1], 'i64') }), 'E_INDEX');
  });
  it('gatherElements and scatterElementsAdd (repeated indices accumulate)', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [2, 2]);
      const base = g.input('base', 'f32', [2, 3]);
      return {
        g1: gatherElements(x, g.input('i', 'i64', [2, 2]), 1), g0: gatherElements(x, g.input('j', 'i64', [1, 2]), 0),
        s: scatterElementsAdd(base, g.input('k', 'i64', [2, 3]), g.input('u', 'f32', [2, 3]), 1),
      };
    }, {
      x: refTensor([1, 2, 3, 4], [2, 2]), i: refTensor([0, 0, 1, 0], [2, 2], 'i64'), j: refTensor([1, 0], [1, 2], 'i64'),
      base: refTensor([0, 0, 0, 0, 0, 100], [2, 3]), k: refTensor([0, 0, 2, 1, 1, 1], [2, 3], 'i64'), u: refTensor([1, 2, 3, 4, 5, 6], [2, 3]),
    });
    expect(vals(out.g1)).toEqual([1, 1, 4, 3]);
    expect(vals(out.g0)).toEqual([3, 2]);
    expect(vals(out.s)).toEqual([3, 0, 3, 0, 15, 100]);
  });
  it('gatherND and scatterNDAdd (repeated addresses accumulate)', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [2, 2]);
      const v = g.input('v', 'f32', [3]);
      return {
        full: gatherND(x, g.input('i', 'i64', [2, 2])), rows: gatherND(x, g.input('r', 'i64', [1, 1])),
        s1: scatterNDAdd(v, g.input('k', 'i64', [3, 1]), g.input('u', 'f32', [3])), s2: scatterNDAdd(x, g.input('r2', 'i64', [1, 1]), g.input('w', 'f32', [1, 2])),
      };
    }, {
      x: refTensor([1, 2, 3, 4], [2, 2]), i: refTensor([1, 0, 0, 1], [2, 2], 'i64'), r: refTensor([1], [1, 1], 'i64'),
      v: refTensor([0, 0, 0], [3]), k: refTensor([1, 1, 2], [3, 1], 'i64'), u: refTensor([1, 2, 3], [3]),
      r2: refTensor([1], [1, 1], 'i64'), w: refTensor([5, 6], [1, 2]),
    });
    expect(vals(out.full)).toEqual([3, 2]);
    expect(out.rows.shape).toEqual([1, 2]);
    expect(vals(out.rows)).toEqual([3, 4]);
    expect(vals(out.s1)).toEqual([0, 3, 3]);
    expect(vals(out.s2)).toEqual([1, 2, 8, 10]);
  });
  it('topk: sorted, ties to the lower index, largest or smallest, any axis', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [2, 4]);
      const [v, i] = topk(x, 2);
      const [sv, si] = topk(x, 2, -1, false);
      const [v0, i0] = topk(x, 1, 0);
      return { v, i, sv, si, v0, i0 };
    }, { x: refTensor([1, 3, 2, 3, 4, 4, 0, 1], [2, 4]) });
    expect(vals(out.v)).toEqual([3, 3, 4, 4]);
    expect(out.i.dtype).toBe('i64');
    expect(vals(out.i)).toEqual([1, 3, 0, 1]);
    expect(vals(out.sv)).toEqual([1, 2, 0, 1]);
    expect(vals(out.si)).toEqual([0, 2, 2, 3]);
    expect(out.v0.shape).toEqual([1, 4]);
    expect(vals(out.v0)).toEqual([4, 4, 2, 3]);
    expect(vals(out.i0)).toEqual([1, 1, 0, 0]);
  });
  it('oneHot (negative indices wrap, out-of-range rows are all zero)', () => {
    const out = run((g) => ({ y: oneHot(g.input('i', 'i64', [4]), 3) }), { i: refTensor([0, 2, -1, 5], [4], 'i64') });
    expect(out.y.shape).toEqual([4, 3]);
    expect(out.y.dtype).toBe('f32');
    expect(vals(out.y)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0]);
  });
});

describe('splitRows and concatRows', () => {
  it('split rows by run-time sizes (an empty piece included) and join them back', () => {
    const g = trace((g) => {
      const x = g.input('x', 'f32', [5, 2]);
      const n = g.input('n', 'i64', [3]);
      const [a, b, c] = splitRows(x, n);
      return { a, b, c, y: concatRows(n, [mul(a, 2), b, c], 5) };
    });
    record(g);
    const out = runReference(g, { x: refTensor(iota(10), [5, 2]), n: refTensor([2, 0, 3], [3], 'i64') });
    expect(out.a.shape).toEqual([2, 2]);
    expect(out.b.shape).toEqual([0, 2]);
    expect(vals(out.c)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(vals(out.y)).toEqual([0, 2, 4, 6, 4, 5, 6, 7, 8, 9]);
    expect(() => runReference(g, { x: refTensor(iota(10), [5, 2]), n: refTensor([2, 4, 0], [3], 'i64') })).toThrow(/splitRows/);
  });
});

describe('nonzero', () => {
  it('lists the true positions; the length is bound at run time and may be 0', () => {
    const g = trace((g) => {
      const m = g.input('m', 'bool', [5]);
      const at = nonzero(m);
      return { at, rows: gather(g.input('x', 'f32', [5, 2]), at, 0) };
    });
    const x = refTensor(iota(10), [5, 2]);
    const out = runReference(g, { m: refTensor([0, 1, 1, 0, 1], [5], 'bool'), x });
    expect(out.at.dtype).toBe('i64');
    expect(vals(out.at)).toEqual([1, 2, 4]);
    expect(out.rows.shape).toEqual([3, 2]);
    expect(vals(out.rows)).toEqual([2, 3, 4, 5, 8, 9]);
    const none = runReference(g, { m: refTensor([0, 0, 0, 0, 0], [5], 'bool'), x });
    expect(none.at.shape).toEqual([0]);
    expect(none.rows.shape).toEqual([0, 2]);
  });
  it('may have a different length in every loop iteration', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [4]);
      const z = g.input('z', 'f32', []);
      const [total] = loop(4, [z], (i, c) => ({ carried: [add(c, reduceSum(gather(x, nonzero(less(x, cast(i, 'f32'))))))], scans: [] }));
      return { total };
    }, { x: refTensor([0, 1, 2, 3], [4]), z: refTensor([0], []) });
    expect(vals(out.total)).toEqual([0 + 0 + 1 + 3]);
  });
});

describe('randomUniformLike', () => {
  const g = trace((g) => ({ u: randomUniformLike(g.input('x', 'f32', ['batch', 100]), g.input('seed', 'i64', [])) }));
  record(g);
  const draw = (seed: number, batch = 100) => runReference(g, { x: refTensor(new Array(batch * 100).fill(0), [batch, 100]), seed: refTensor([seed], [], 'i64') }).u;

  it('is hashUniform(flat index, seed), deterministic per seed', () => {
    const a = draw(42, 2);
    expect(a.shape).toEqual([2, 100]);
    expect(vals(a)).toEqual(vals(draw(42, 2)));
    expect(vals(a)).not.toEqual(vals(draw(43, 2)));
    for (const i of [0, 1, 57, 199]) expect(a.data[i]).toBe(hashUniform(BigInt(i), 42n));
  });
  it('is roughly uniform on [0, 1): mean ~1/2, variance ~1/12 over 10k elements', () => {
    for (const seed of [0, 7, 123456789]) {
      const u = vals(draw(seed));
      expect(u.every((v) => v >= 0 && v < 1)).toBe(true);
      const mean = u.reduce((a, b) => a + b, 0) / u.length;
      const variance = u.reduce((a, b) => a + (b - mean) ** 2, 0) / u.length;
      expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
      expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.004);
      const low = u.filter((v) => v < 0.1).length;
      expect(low).toBeGreaterThan(850);
      expect(low).toBeLessThan(1150);
    }
  });
  it('rejects a negative seed', () => {
    expectCode(() => draw(-1, 1), 'E_REF');
  });
});

describe('loop', () => {
  it('carries values, stacks scans and reads captured outer tensors', () => {
    const out = run((g) => {
      const w = g.input('w', 'f32', [2]);
      const z = g.input('z', 'f32', [2]);
      const [acc, before] = loop(4, [z], (i, c) => ({ carried: [add(c, mul(w, cast(i, 'f32')))], scans: [mul(c, 2)] }));
      return { acc, before };
    }, { w: refTensor([1, 10], [2]), z: refTensor([0, 0], [2]) });
    expect(vals(out.acc)).toEqual([6, 60]);
    expect(out.before.shape).toEqual([4, 2]);
    expect(vals(out.before)).toEqual([0, 0, 0, 0, 2, 20, 6, 60]);
  });
  it('nested loops capture from the grandparent graph and the enclosing body', () => {
    const out = run((g) => {
      const w = g.input('w', 'f32', [2]);
      const z = g.input('z', 'f32', [2]);
      const [acc] = loop(2, [z], (i, c) => {
        const [inner] = loop(3, [c], (_j, d) => ({ carried: [add(d, add(w, cast(i, 'f32')))], scans: [] }));
        return { carried: [inner], scans: [] };
      });
      return { acc };
    }, { w: refTensor([1, 10], [2]), z: refTensor([0, 0], [2]) });
    expect(vals(out.acc)).toEqual([9, 63]);
  });
  it('zero trips return the initial values and empty scans; symbolic shapes resolve', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', ['batch', 2]);
      const [c0, s0] = loop(0, [x], (_i, c) => ({ carried: [c], scans: [c] }));
      const [c3, s3] = loop(3, [x], (_i, c) => ({ carried: [add(c, 1)], scans: [c] }));
      return { c0, s0, c3, s3 };
    }, { x: refTensor([1, 2, 3, 4, 5, 6], [3, 2]) });
    expect(vals(out.c0)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(out.s0.shape).toEqual([0, 3, 2]);
    expect(vals(out.c3)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(out.s3.shape).toEqual([3, 3, 2]);
    expect(vals(out.s3).slice(6, 12)).toEqual([2, 3, 4, 5, 6, 7]);
  });
});

it('this file ran every op of its family', () => {
  expect(FORWARD_FAMILIES.structure.filter((op) => !ranOps.has(op))).toEqual([]);
});
