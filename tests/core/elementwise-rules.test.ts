/** Rules of the elementwise, constant, random and registry code: dtype checks, defaults, sharing, the noise hash. */
import { describe, expect, it } from 'vitest';
import {
  add, apply1, backward, cast, constant, defineOp, fullLike, getOp, HASH_MOD, hashSeeds, hashUniform,
  isInf, isNaN, less,
  lift, logicalAnd, logicalNot, logicalOr, mul, numel, opNames, pow, randomUniformLike, reduceSum, scalar, square,
  sumTo, trace, where,
} from '../../src/core/index.ts';
import { refTensor, runReference } from '../../src/runtime/reference/index.ts';
import { expectCode } from '../expect-error.ts';

import { DTYPE_HINT, traced } from './rules.ts';

describe('elementwise dtype rules', () => {
  it('boolean ops take bools and give bools', () => {
    traced((g) => {
      const a = g.input('a', 'bool', [2, 1]);
      const b = g.input('b', 'bool', [3]);
      const f = g.input('f', 'f32', [3]);
      for (const t of [logicalAnd(a, b), logicalOr(a, b)]) expect([t.dtype, t.shape]).toEqual(['bool', [2, 3]]);
      expect([logicalNot(a).dtype, logicalNot(a).shape]).toEqual(['bool', [2, 1]]);
      expect(logicalAnd(a, b).node?.op).toBe('and');
      expect(logicalOr(a, b).node?.op).toBe('or');
      expectCode(() => logicalAnd(f, b), 'E_DTYPE', /^and: left operand has dtype f32, expected bool$/, DTYPE_HINT);
      expectCode(() => logicalOr(f, b), 'E_DTYPE', /^or: left operand has dtype f32, expected bool$/, DTYPE_HINT);
      expectCode(() => logicalAnd(b, f), 'E_DTYPE', /^and: right operand has dtype f32, expected bool$/, DTYPE_HINT);
      expectCode(() => logicalNot(f), 'E_DTYPE', /^not: input has dtype f32, expected bool$/, DTYPE_HINT);
    });
  });
  it('isNaN, isInf and comparisons give bools; isNaN/isInf take f32 only', () => {
    traced((g) => {
      const x = g.input('x', 'f32', [2]);
      const i = g.input('i', 'i64', [2]);
      for (const t of [isNaN(x), isInf(x), less(x, 1), less(i, i)]) expect([t.dtype, t.shape]).toEqual(['bool', [2]]);
      expect(isNaN(x).node?.op).toBe('isNaN');
      expect(isInf(x).node?.op).toBe('isInf');
      expect(less(x, 1).node?.op).toBe('less');
      expectCode(() => isNaN(i), 'E_DTYPE', /^isNaN: input has dtype i64, expected f32$/);
      expectCode(() => isInf(i), 'E_DTYPE', /^isInf: input has dtype i64, expected f32$/);
      expectCode(() => pow(i, i), 'E_DTYPE', /^pow: left operand has dtype i64, expected f32$/, DTYPE_HINT);
    });
  });
  it('where: a bool condition and branches of one dtype', () => {
    traced((g) => {
      const c = g.input('c', 'bool', [2]);
      const x = g.input('x', 'f32', [2]);
      const i = g.input('i', 'i64', [2]);
      expectCode(() => where(x, x, x), 'E_DTYPE', /^where: condition has dtype f32, expected bool$/, DTYPE_HINT);
      expectCode(() => where(c, x, i), 'E_DTYPE', /^where: else branch has dtype i64, expected f32$/, DTYPE_HINT);
      expect(where(c, i, 0).dtype).toBe('i64');
    });
  });
  it('two numbers make f32 scalars; square and cast', () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [3]);
      expect(cast(x, 'f32')).toBe(x);
      const s = add(2, 3);
      expect([s.dtype, s.shape]).toEqual(['f32', []]);
      return { s, sq: square(x) };
    });
    const out = runReference(graph, { x: refTensor([1, -2, 3], [3]) });
    expect([...out.s.data]).toEqual([5]);
    expect([...out.sq.data]).toEqual([1, 4, 9]);
  });
  it('an f32 -> f32 cast node passes the gradient through', () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [2]);
      const [dx] = backward(reduceSum(mul(apply1('cast', [x], { dtype: 'f32' }), 3)), [x]);
      return { dx };
    });
    expect([...runReference(graph, { x: refTensor([1, 2], [2]) }).dx.data]).toEqual([3, 3]);
  });
});

describe('sumTo adds only the nodes it needs', () => {
  it('same shape: the gradient itself; broadcast axes: one keepdims reduceSum; lead axes: a reshape', () => {
    traced((g) => {
      const t = g.input('t', 'f32', [2, 3]);
      expect(sumTo(t, [2, 3])).toBe(t);
      const ones = g.input('o', 'f32', [2, 1]);
      expect(sumTo(ones, [2, 1])).toBe(ones);
      const r = sumTo(t, [1, 3]);
      expect([r.node?.op, r.shape]).toEqual(['reduceSum', [1, 3]]);
      const l = sumTo(g.input('l', 'f32', [4, 2, 3]), [2, 3]);
      expect([l.node?.op, l.shape]).toEqual(['reshape', [2, 3]]);
      const l1 = sumTo(g.input('l1', 'f32', [4, 2, 3]), [1, 3]);
      expect([l1.node?.op, l1.shape]).toEqual(['reshape', [1, 3]]);
    });
  });
});

describe('constants', () => {
  it('data must match the shape; the dtype follows the array type', () => {
    traced(() => {
      expectCode(() => constant(Float32Array.of(1, 2), [3]),
        'E_SHAPE', /^const: constant has 2 values for shape \[3\]$/,
        /^pass data matching the shape$/);
      const f = constant(Float32Array.of(1, 2), [2]);
      expect([f.dtype, f.shape]).toEqual(['f32', [2]]);
      expect(constant(BigInt64Array.of(1n, 2n, 3n), [3]).dtype).toBe('i64');
      expect(constant(Uint8Array.of(1, 0), [1, 2]).dtype).toBe('bool');
    });
  });
  it('scalars are shared per value and dtype; -0 is its own scalar', () => {
    traced(() => {
      expect(scalar(2)).toBe(scalar(2));
      expect(scalar(2)).not.toBe(scalar(2, 'i64'));
      expect(scalar(0)).not.toBe(scalar(-0));
      const i = scalar(3, 'i64');
      expect([i.dtype, i.node?.attrs.data]).toEqual(['i64', BigInt64Array.of(3n)]);
      expect([scalar(1, 'bool').dtype, scalar(1, 'bool').node?.attrs.data]).toEqual(['bool', Uint8Array.of(1)]);
      expect(scalar(0, 'bool').node?.attrs.data).toEqual(Uint8Array.of(0));
      expect(Object.is((scalar(-0).node?.attrs.data as Float32Array)[0], -0)).toBe(true);
      expect(lift(2, 'i64').dtype).toBe('i64');
      expect(lift(2, 'bool').dtype).toBe('bool');
    });
  });
  it('fullLike takes an explicit dtype', () => {
    traced((g) => {
      const x = g.input('x', 'f32', ['n', 2]);
      const i = fullLike(x, 1, 'i64');
      expect([i.dtype, i.shape]).toEqual(['i64', ['n', 2]]);
      expect(fullLike(x, 1).dtype).toBe('f32');
    });
  });
  it('numel: a constant for static dims, a node over all axes for symbolic ones, axes checked', () => {
    traced((g) => {
      const s = numel(g.input('s', 'f32', [2, 3]));
      expect([s.node?.op, s.node?.attrs.data]).toEqual(['const', Float32Array.of(6)]);
      expect(numel(g.input('s2', 'f32', [2, 3]), [-1]).node?.attrs.data).toEqual(Float32Array.of(3));
      const x = g.input('x', 'f32', ['n', 3]);
      const n = numel(x);
      expect([n.node?.op, n.node?.attrs.axes, n.dtype, n.shape]).toEqual(['numel', [0, 1], 'f32', []]);
      expectCode(() => numel(x, [5]), 'E_SHAPE', /^numel: axis 5 is out of range for rank 2$/);
      expectCode(() => apply1('numel', [x], { axes: [2] }), 'E_SHAPE', /^numel: axis 2 is out of range/);
    });
  });
});

describe('the op registry', () => {
  it('names each op once and rejects unknown ones', () => {
    expect(() => defineOp({ name: 'gather', infer: () => [] })).toThrow(/^op gather defined twice$/);
    expect(getOp('gather').name).toBe('gather');
    expect(opNames()).toContain('gather');
    expectCode(() => getOp('noSuchOp'), 'E_OP', /^unknown op 'noSuchOp'$/, /^see core\/ops for the op set$/);
  });
});

describe('counter-based noise', () => {
  /** The documented hash, written out: seeds s1, s2 from s mod M, then four rounds on i mod M. */
  function documented(i: bigint, s: bigint): number {
    const M = 2147483647n;
    const s0 = s % M;
    const s1 = (s0 * s0 + 69621n * s0 + 1n) % M;
    const s2 = (s1 * s1 + 48271n) % M;
    let h = i % M;
    h = (h * 48271n + s1) % M;
    h = (h * h + s2) % M;
    h = (h * 16807n + 12345n) % M;
    h = (h * h + 11n) % M;
    return Number(h) / Number(M);
  }
  it('follows the documented formula, reduces i and s mod M', () => {
    expect(HASH_MOD).toBe(2147483647n);
    expect(hashSeeds(0n)).toEqual({ s1: 1n, s2: 48272n });
    expect(hashSeeds(3n)).toEqual({ s1: 208873n, s2: (208873n * 208873n + 48271n) % HASH_MOD });
    expect(hashSeeds(HASH_MOD + 3n)).toEqual(hashSeeds(3n));
    const pairs = [[0n, 0n], [1n, 0n], [7n, 42n], [123456n, 99n], [HASH_MOD + 5n, 1n], [HASH_MOD - 1n, HASH_MOD - 1n]];
    for (const [i, s] of pairs) {
      expect(hashUniform(i, s)).toBe(documented(i, s));
    }
    expect(hashUniform(HASH_MOD + 5n, 1n)).toBe(hashUniform(5n, 1n));
  });
  it('the reference op draws hashUniform per element; the seed is a scalar i64', () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      return { u: randomUniformLike(x, g.input('seed', 'i64', [])) };
    });
    const out = runReference(graph, { x: refTensor([0, 0, 0, 0, 0, 0], [2, 3]), seed: refTensor([5], [], 'i64') });
    expect([...out.u.data]).toEqual([0, 1, 2, 3, 4, 5].map((i) => hashUniform(BigInt(i), 5n)));
    traced((g) => {
      const x = g.input('x', 'f32', [2]);
      expectCode(() => randomUniformLike(x, g.input('s1', 'i64', [2])),
        'E_SHAPE', /^randomUniformLike: seed must be a scalar, got i64\[2\]$/,
        /^feed a scalar i64 seed$/);
      expectCode(() => randomUniformLike(x, g.input('s2', 'f32', [])),
        'E_DTYPE', /^randomUniformLike: seed has dtype f32, expected i64$/);
    });
  });
});
