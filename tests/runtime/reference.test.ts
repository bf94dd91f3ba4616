import { describe, expect, it } from 'vitest';
import {
  abs, add, argmax, cast, constant, cos, cumsum, div, equal, erf, exp, fullLike, greater, greaterEqual, isInf, isNaN, layerNorm, less, lessEqual, log,
  logicalAnd, logicalNot, logicalOr, logSoftmax, matmul, maximum, minimum, mul, neg, numel, opNames, pow, reduceMax, reduceMean, reduceSum, relu,
  scalar, sigmoid, sign, sin, softmax, sqrt, sub, tanh, trace, where,
} from '../../src/core/index.ts';
import { erf as erf64, referenceOps, refTensor, runReference } from '../../src/runtime/reference/index.ts';
import { close, expectCode, FORWARD_FAMILIES, ranOps, run, vals } from './reference-helpers.ts';

const x23 = refTensor([1, 2, 3, 4, 5, 6], [2, 3]);

describe('runReference feeds', () => {
  const g = trace((g) => ({ y: exp(g.input('x', 'f32', ['batch', 4])), z: g.input('z', 'f32', ['batch']) }));
  const ok = { x: refTensor(new Array(8).fill(0), [2, 4]), z: refTensor([1, 2], [2]) };

  it('binds symbols from the fed shapes and keys outputs by name', () => {
    const out = runReference(g, ok);
    expect(Object.keys(out)).toEqual(['y', 'z']);
    expect(out.y.shape).toEqual([2, 4]);
    expect(out.y.dtype).toBe('f32');
    expect(vals(out.y)).toEqual(new Array(8).fill(1));
  });
  it('rejects a shape that does not match the declaration', () => {
    const e = expectCode(() => runReference(g, { ...ok, x: refTensor(new Array(10).fill(0), [2, 5]) }), 'E_FEED');
    expect(e.message).toBe("input 'x': expected [batch, 4], got [2, 5]");
  });
  it('rejects a symbol bound to two sizes', () => {
    const e = expectCode(() => runReference(g, { ...ok, z: refTensor([1, 2, 3], [3]) }), 'E_FEED');
    expect(e.message).toBe("input 'z': expected [batch], got [3] (batch is 2)");
  });
  it('rejects missing, unknown, mistyped and short feeds', () => {
    expect(expectCode(() => runReference(g, { x: ok.x }), 'E_FEED').message).toMatch(/input 'z': no feed/);
    expect(expectCode(() => runReference(g, { ...ok, w: ok.z }), 'E_FEED').message).toMatch(/unknown feed 'w'/);
    expect(expectCode(() => runReference(g, { ...ok, z: refTensor([1, 2], [2], 'i64') }), 'E_FEED').message).toMatch(/expected dtype f32, got i64/);
    expect(expectCode(() => runReference(g, { ...ok, z: { dtype: 'f32', shape: [2], data: new Float64Array(3) } }), 'E_FEED').message).toMatch(/needs 2 values/);
    expectCode(() => refTensor([1, 2, 3], [2]), 'E_REF');
  });
  it('binds compound symbols (batch*seq) against their factors, in either order', () => {
    const h = trace((g) => ({ y: exp(g.input('b', 'f32', ['batch', 'seq'])), a: exp(g.input('a', 'f32', ['batch*seq'])) }));
    const b = refTensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(runReference(h, { b, a: refTensor([1, 2, 3, 4, 5, 6], [6]) }).a.shape).toEqual([6]);
    expect(expectCode(() => runReference(h, { b, a: refTensor([1, 2, 3, 4], [4]) }), 'E_FEED').message).toMatch(/batch\*seq is 6/);
    const k = trace((g) => ({ a: exp(g.input('a', 'f32', ['batch*seq'])), y: exp(g.input('b', 'f32', ['batch', 'seq'])) }));
    expect(runReference(k, { b, a: refTensor([1, 2, 3, 4, 5, 6], [6]) }).y.shape).toEqual([2, 3]);
    expectCode(() => runReference(k, { b, a: refTensor([1, 2, 3, 4], [4]) }), 'E_FEED');
  });
});

describe('elementwise forward values', () => {
  it('binary arithmetic with broadcasting ([2, 1] with [3])', () => {
    const out = run((g) => {
      const a = g.input('a', 'f32', [2, 1]);
      const b = g.input('b', 'f32', [3]);
      return { add: add(a, b), sub: sub(a, b), mul: mul(a, b), div: div(a, b), pow: pow(a, b), max: maximum(a, b), min: minimum(a, b) };
    }, { a: refTensor([1, 2], [2, 1]), b: refTensor([0.5, 2, 4], [3]) });
    expect(out.add.shape).toEqual([2, 3]);
    expect(vals(out.add)).toEqual([1.5, 3, 5, 2.5, 4, 6]);
    expect(vals(out.sub)).toEqual([0.5, -1, -3, 1.5, 0, -2]);
    expect(vals(out.mul)).toEqual([0.5, 2, 4, 1, 4, 8]);
    expect(vals(out.div)).toEqual([2, 0.5, 0.25, 4, 1, 0.5]);
    close(out.pow, [1, 1, 1, Math.SQRT2, 4, 16]);
    expect(vals(out.max)).toEqual([1, 2, 4, 2, 2, 4]);
    expect(vals(out.min)).toEqual([0.5, 1, 1, 0.5, 2, 2]);
  });
  it('i64 arithmetic; division truncates toward zero and rejects zero divisors', () => {
    const g = trace((g) => {
      const a = g.input('a', 'i64', [4]);
      const b = g.input('b', 'i64', [4]);
      return { q: div(a, b), s: add(a, b), n: neg(a), m: abs(b) };
    });
    const out = runReference(g, { a: refTensor([7, -7, 7, -7], [4], 'i64'), b: refTensor([2, 2, -2, -2], [4], 'i64') });
    expect(out.q.dtype).toBe('i64');
    expect(vals(out.q)).toEqual([3, -3, -3, 3]);
    expect(vals(out.s)).toEqual([9, -5, 5, -9]);
    expect(vals(out.n)).toEqual([-7, 7, -7, 7]);
    expect(vals(out.m)).toEqual([2, 2, 2, 2]);
    expectCode(() => runReference(g, { a: refTensor([1, 1, 1, 1], [4], 'i64'), b: refTensor([1, 0, 1, 1], [4], 'i64') }), 'E_REF');
  });
  it('comparisons, logic and where', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [3]);
      const lt = less(x, 2);
      const gt = greater(x, 2);
      return {
        eq: equal(x, 2), lt, gt, le: lessEqual(x, 2), ge: greaterEqual(x, 2),
        and: logicalAnd(lt, logicalNot(gt)), or: logicalOr(lt, gt), not: logicalNot(lt), w: where(gt, x, neg(x)),
      };
    }, { x: refTensor([1, 2, 3], [3]) });
    expect(out.eq.dtype).toBe('bool');
    expect(vals(out.eq)).toEqual([0, 1, 0]);
    expect(vals(out.lt)).toEqual([1, 0, 0]);
    expect(vals(out.gt)).toEqual([0, 0, 1]);
    expect(vals(out.le)).toEqual([1, 1, 0]);
    expect(vals(out.ge)).toEqual([0, 1, 1]);
    expect(vals(out.and)).toEqual([1, 0, 0]);
    expect(vals(out.or)).toEqual([1, 0, 1]);
    expect(vals(out.not)).toEqual([0, 1, 1]);
    expect(vals(out.w)).toEqual([-1, -2, 3]);
  });
  it('unary functions', () => {
    const xs = [-1, 0, 0.5, 2];
    const out = run((g) => {
      const x = g.input('x', 'f32', [4]);
      return { neg: neg(x), exp: exp(x), tanh: tanh(x), sig: sigmoid(x), relu: relu(x), abs: abs(x), erf: erf(x), sin: sin(x), cos: cos(x), sign: sign(x) };
    }, { x: refTensor(xs, [4]) });
    expect(vals(out.neg)).toEqual([1, -0, -0.5, -2]);
    close(out.exp, xs.map(Math.exp));
    close(out.tanh, xs.map(Math.tanh));
    close(out.sig, xs.map((v) => 1 / (1 + Math.exp(-v))));
    expect(vals(out.relu)).toEqual([0, 0, 0.5, 2]);
    expect(vals(out.abs)).toEqual([1, 0, 0.5, 2]);
    close(out.erf, [-0.8427007929497149, 0, 0.5204998778130465, 0.9953222650189527], 14);
    close(out.sin, xs.map(Math.sin));
    close(out.cos, xs.map(Math.cos));
    expect(vals(out.sign)).toEqual([-1, 0, 1, 1]);
    const pos = run((g) => {
      const x = g.input('x', 'f32', [3]);
      return { log: log(x), sqrt: sqrt(x), sig: sigmoid(neg(mul(x, 10))) };
    }, { x: refTensor([1, 4, 9], [3]) });
    close(pos.log, [0, Math.log(4), Math.log(9)]);
    expect(vals(pos.sqrt)).toEqual([1, 2, 3]);
    expect(pos.sig.data[2]).toBeCloseTo(Math.exp(-90), 50);
  });
  it('erf is accurate to ~1e-15 over the whole line', () => {
    const known: [number, number][] = [[1e-5, 1.1283791670578999e-5], [0.1, 0.1124629160182849], [1.5, 0.9661051464753108], [2.9, 0.9999589021219005], [3.5, 0.9999992569016276], [6, 1]];
    for (const [x, v] of known) expect(Math.abs(erf64(x) - v) / v).toBeLessThan(2e-15);
    expect(erf64(-2)).toBe(-erf64(2));
    expect(erf64(Infinity)).toBe(1);
  });
  it('isNaN, isInf and casts (f32 -> i64 truncates toward zero)', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [5]);
      return { nan: isNaN(x), inf: isInf(x), i: cast(x, 'i64'), b: cast(x, 'bool'), back: cast(cast(x, 'bool'), 'f32') };
    }, { x: refTensor([1.7, -1.7, -0.5, NaN, -Infinity], [5]) });
    expect(vals(out.nan)).toEqual([0, 0, 0, 1, 0]);
    expect(vals(out.inf)).toEqual([0, 0, 0, 0, 1]);
    expect(out.i.dtype).toBe('i64');
    expect(vals(out.i).slice(0, 3)).toEqual([1, -1, 0]);
    expect(vals(out.b)).toEqual([1, 1, 1, 1, 1]);
    expect(out.back.dtype).toBe('f32');
  });
  it('constants (f32 data is float32), fullLike and numel over symbolic dims', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', ['batch', 3]);
      return {
        c: constant(Float32Array.of(0.1, 2), [2]), i: constant(BigInt64Array.of(-3n, 5n), [1, 2]), b: constant(Uint8Array.of(1, 0), [2]), s: scalar(4, 'i64'),
        f: fullLike(x, 2.5), fi: fullLike(x, 7, 'i64'), n: numel(x), n0: numel(x, [0]),
      };
    }, { x: refTensor(new Array(12).fill(0), [4, 3]) });
    expect(vals(out.c)).toEqual([Math.fround(0.1), 2]);
    expect(out.i.dtype).toBe('i64');
    expect(out.i.shape).toEqual([1, 2]);
    expect(vals(out.i)).toEqual([-3, 5]);
    expect(vals(out.b)).toEqual([1, 0]);
    expect(out.s.shape).toEqual([]);
    expect(vals(out.s)).toEqual([4]);
    expect(out.f.shape).toEqual([4, 3]);
    expect(vals(out.f)).toEqual(new Array(12).fill(2.5));
    expect(out.fi.dtype).toBe('i64');
    expect(vals(out.n)).toEqual([12]);
    expect(vals(out.n0)).toEqual([4]);
  });
});

describe('reduction and nn forward values', () => {
  it('reduceSum, reduceMean, reduceMax with axes and keepdims', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      return {
        s0: reduceSum(x, 0), s1: reduceSum(x, 1, true), s: reduceSum(x), none: reduceSum(x, []), m0: reduceMean(x, 0), m: reduceMean(x),
        mx: reduceMax(x, -1), mxk: reduceMax(x, [0, 1], true),
      };
    }, { x: x23 });
    expect(vals(out.s0)).toEqual([5, 7, 9]);
    expect(out.s1.shape).toEqual([2, 1]);
    expect(vals(out.s1)).toEqual([6, 15]);
    expect(out.s.shape).toEqual([]);
    expect(vals(out.s)).toEqual([21]);
    expect(out.none.shape).toEqual([2, 3]);
    expect(vals(out.m0)).toEqual([2.5, 3.5, 4.5]);
    expect(vals(out.m)).toEqual([3.5]);
    expect(vals(out.mx)).toEqual([3, 6]);
    expect(out.mxk.shape).toEqual([1, 1]);
  });
  it('argmax takes the first maximum', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      return { a1: argmax(x, 1), a0: argmax(x, 0, true) };
    }, { x: refTensor([1, 3, 3, 5, 0, 5], [2, 3]) });
    expect(out.a1.dtype).toBe('i64');
    expect(vals(out.a1)).toEqual([1, 0]);
    expect(out.a0.shape).toEqual([1, 3]);
    expect(vals(out.a0)).toEqual([1, 0, 1]);
  });
  it('softmax and logSoftmax along an axis (stable for large inputs)', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [3]);
      const y = g.input('y', 'f32', [2, 2]);
      return { s: softmax(x), l: logSoftmax(x), s0: softmax(y, 0), big: softmax(mul(x, 1000)) };
    }, { x: refTensor([1, 2, 3], [3]), y: refTensor([0, 1, 0, 3], [2, 2]) });
    close(out.s, [0.09003057317038046, 0.24472847105479767, 0.6652409557748219]);
    close(out.l, [-2.4076059644443806, -1.4076059644443806, -0.4076059644443806]);
    close(out.s0, [0.5, 1 / (1 + Math.exp(2)), 0.5, 1 / (1 + Math.exp(-2))]);
    close(out.big, [0, 0, 1]);
  });
  it('layerNorm over the last axis with biased variance', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      return { y: layerNorm(x, g.input('w', 'f32', [3]), g.input('b', 'f32', [3]), 0) };
    }, { x: refTensor([1, 2, 3, 10, 10, 13], [2, 3]), w: refTensor([2, 1, 1], [3]), b: refTensor([0, 1, 0], [3]) });
    const r = Math.sqrt(1.5);
    close(out.y, [-2 * r, 1, r, -2 / Math.SQRT2, 1 - 1 / Math.SQRT2, Math.SQRT2]);
  });
  it('cumsum: inclusive, exclusive, reverse, both; along axis 0', () => {
    const out = run((g) => {
      const x = g.input('x', 'f32', [4]);
      const m = g.input('m', 'f32', [2, 2]);
      return { i: cumsum(x, 0), e: cumsum(x, 0, true), r: cumsum(x, 0, false, true), er: cumsum(x, -1, true, true), m0: cumsum(m, 0) };
    }, { x: refTensor([1, 2, 3, 4], [4]), m: refTensor([1, 2, 3, 4], [2, 2]) });
    expect(vals(out.i)).toEqual([1, 3, 6, 10]);
    expect(vals(out.e)).toEqual([0, 1, 3, 6]);
    expect(vals(out.r)).toEqual([10, 9, 7, 4]);
    expect(vals(out.er)).toEqual([9, 7, 4, 0]);
    expect(vals(out.m0)).toEqual([1, 2, 4, 6]);
  });
  it('matmul, plain and with broadcast batch dims', () => {
    const out = run((g) => {
      const a = g.input('a', 'f32', [2, 3]);
      const b = g.input('b', 'f32', [3, 2]);
      const c = g.input('c', 'f32', [2, 1, 2]);
      const d = g.input('d', 'f32', [1, 2, 2]);
      const e = g.input('e', 'f32', [3, 2, 2]);
      return { ab: matmul(a, b), cI: matmul(c, g.input('i', 'f32', [2, 2])), de: matmul(d, e) };
    }, {
      a: x23, b: refTensor([7, 8, 9, 10, 11, 12], [3, 2]), c: refTensor([1, 2, 3, 4], [2, 1, 2]), i: refTensor([1, 0, 0, 2], [2, 2]),
      d: refTensor([1, 2, 3, 4], [1, 2, 2]), e: refTensor([1, 0, 0, 1, 2, 0, 0, 2, 3, 0, 0, 3], [3, 2, 2]),
    });
    expect(vals(out.ab)).toEqual([58, 64, 139, 154]);
    expect(out.cI.shape).toEqual([2, 1, 2]);
    expect(vals(out.cI)).toEqual([1, 4, 3, 8]);
    expect(out.de.shape).toEqual([3, 2, 2]);
    expect(vals(out.de)).toEqual([1, 2, 3, 4, 2, 4, 6, 8, 3, 6, 9, 12]);
  });
});

describe('coverage', () => {
  it('the interpreter has a kernel for every registered op', () => {
    expect(opNames().filter((n) => !referenceOps().includes(n))).toEqual([]);
    expect(referenceOps().filter((n) => !opNames().includes(n))).toEqual([]);
  });
  it('the forward-value tests cover every op', () => {
    expect([...Object.values(FORWARD_FAMILIES).flat()].sort()).toEqual([...opNames()].sort());
  });
  it('this file ran every op of its family', () => {
    expect(FORWARD_FAMILIES.basic.filter((op) => !ranOps.has(op))).toEqual([]);
  });
});
