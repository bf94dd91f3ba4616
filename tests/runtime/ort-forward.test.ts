/** ORT vs reference: elementwise, casts, reductions, normalisations, cumsum and matmul forward values. */
import { describe, expect, it } from 'vitest';
import {
  abs, add, argmax, cast, cos, cumsum, div, equal, erf, exp, greater, greaterEqual, isInf, isNaN, layerNorm, less, lessEqual, log, logicalAnd,
  logicalNot, logicalOr, logSoftmax, matmul, maximum, minimum, mul, neg, pow, reduceMax, reduceMean, reduceSum, relu, sigmoid, sign, sin,
  softmax, sqrt, sub, tanh, where,
} from '../../src/core/index.ts';
import { compareOrtWithReference, expectFamilyCovered, randInt, randn, tensor } from './ort-helpers.ts';

describe('ORT vs reference: elementwise', () => {
  it('f32 binary ops with numpy broadcasting (rank 3 x rank 2 x rank 1 x scalar)', async () => {
    await compareOrtWithReference((g) => {
      const a = g.input('a', 'f32', [2, 3, 4]);
      const b = g.input('b', 'f32', [3, 1]);
      const c = g.input('c', 'f32', [4]);
      const p = g.input('p', 'f32', [2, 1, 4]);
      return {
        add: add(a, b), sub: sub(c, a), mul: mul(a, c), div: div(a, b), divS: div(2, b), pow: pow(p, b), powS: pow(p, 3),
        max: maximum(a, c), min: minimum(b, a), mixed: add(mul(a, 0.5), sub(c, 1)),
      };
    }, { a: randn([2, 3, 4], 1), b: randn([3, 1], 2, 0.5, 2), c: randn([4], 3), p: randn([2, 1, 4], 4, 0.2, 3) });
  });

  it('i64 add/sub/mul/div: division truncates toward zero in both (one semantics for the IR)', async () => {
    const { ref } = await compareOrtWithReference((g) => {
      const a = g.input('a', 'i64', [8]);
      const b = g.input('b', 'i64', [8]);
      const m = g.input('m', 'i64', [2, 1]);
      return {
        add: add(a, b), sub: sub(a, b), mul: mul(a, b), div: div(a, b), bcast: div(add(a, m), m), byTwo: div(a, 2),
        max: maximum(a, b), min: minimum(a, b), neg: neg(a), abs: abs(a), sign: sign(a),
      };
    }, {
      a: tensor([-7, 7, -7, 0, 6, -6, 9, -1], [8], 'i64'),
      b: tensor([2, -2, -2, 3, 4, 4, 3, 5], [8], 'i64'),
      m: tensor([3, -4], [2, 1], 'i64'),
    });
    expect([...ref.div.data]).toEqual([-3, -3, 3, 0, 1, -1, 3, 0]);
    expect([...ref.byTwo.data]).toEqual([-3, 3, -3, 0, 3, -3, 4, 0]);
  });

  it('comparisons (f32 with ties, i64), where with broadcasting, logical ops', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', [3, 4]);
      const y = g.input('y', 'f32', [4]);
      const i = g.input('i', 'i64', [3, 4]);
      const j = g.input('j', 'i64', [1, 4]);
      const c = g.input('c', 'bool', [3, 1]);
      const lt = less(x, y);
      const ge = greaterEqual(i, j);
      return {
        eq: equal(x, y), lt, gt: greater(x, 0), le: lessEqual(x, y), ge, eqI: equal(i, j), ltI: less(i, 2),
        where: where(c, x, y), whereS: where(lt, x, -1), whereI: where(ge, i, j),
        and: logicalAnd(lt, c), or: logicalOr(c, ge), not: logicalNot(lt),
      };
    }, {
      x: tensor([0.5, -1, 2, 0.25, 0, 1, -2, 0.25, 3, -1, 0.5, 1], [3, 4]),
      y: tensor([0.5, 0, -2, 0.25], [4]),
      i: randInt([3, 4], 5, -3, 3),
      j: tensor([0, 1, -1, 2], [1, 4], 'i64'),
      c: tensor([1, 0, 1], [3, 1], 'bool'),
    });
  });

  it('every f32 unary op on random data, plus edge values', async () => {
    const edge = [0, -0, 1e-30, -3.5, 2.25, 50, -50, 100, Infinity, -Infinity, NaN, 0.75];
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', [4, 5]);
      const pos = g.input('pos', 'f32', [4, 5]);
      const e = g.input('e', 'f32', [12]);
      return {
        neg: neg(x), exp: exp(x), log: log(pos), sqrt: sqrt(pos), tanh: tanh(x), sigmoid: sigmoid(x), relu: relu(x), abs: abs(x), erf: erf(x),
        sin: sin(x), cos: cos(x), sign: sign(x),
        eNeg: neg(e), eExp: exp(e), eLog: log(e), eSqrt: sqrt(e), eTanh: tanh(e), eSigmoid: sigmoid(e), eRelu: relu(e), eAbs: abs(e),
        eErf: erf(e), eSign: sign(e), eIsNaN: isNaN(e), eIsInf: isInf(e),
      };
    }, { x: randn([4, 5], 6, -4, 4), pos: randn([4, 5], 7, 0.01, 10), e: tensor(edge, [12]) });
  });

  it('casts: f32 -> i64 truncates toward zero, bool -> f32/i64, i64 -> f32/bool, f32 -> bool', async () => {
    const { ref } = await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', [8]);
      const m = g.input('m', 'bool', [4]);
      const i = g.input('i', 'i64', [4]);
      return {
        toI: cast(x, 'i64'), toB: cast(x, 'bool'), bToF: cast(m, 'f32'), bToI: cast(m, 'i64'), iToF: cast(i, 'f32'), iToB: cast(i, 'bool'),
        roundTrip: cast(cast(x, 'i64'), 'f32'),
      };
    }, { x: tensor([-2.7, -0.5, 0.5, 2.7, 3, -3, 0, 1e6 + 0.5], [8]), m: tensor([1, 0, 0, 1], [4], 'bool'), i: tensor([0, -3, 5, 1], [4], 'i64') });
    expect([...ref.toI.data]).toEqual([-2, 0, 0, 2, 3, -3, 0, 1e6]);
  });
});

describe('ORT vs reference: reductions', () => {
  it('reduceSum/Mean/Max over one, several and all axes, keepdims on and off, symbolic batch', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', ['b', 3, 4]);
      const i = g.input('i', 'i64', [3, 4]);
      const out: Record<string, ReturnType<typeof reduceSum>> = {};
      const axesList: [string, number[] | undefined][] = [['a0', [0]], ['a1', [1]], ['a2', [-1]], ['a02', [0, 2]], ['a12', [1, 2]], ['all', undefined]];
      for (const [k, axes] of axesList) {
        for (const keep of [false, true]) {
          const s = `${k}${keep ? 'K' : ''}`;
          out[`sum${s}`] = reduceSum(x, axes, keep);
          out[`mean${s}`] = reduceMean(x, axes, keep);
          out[`max${s}`] = reduceMax(x, axes, keep);
        }
      }
      out.sumI = reduceSum(i, 1);
      out.maxI = reduceMax(i, [0, 1], true);
      return out;
    }, { x: randn([5, 3, 4], 8), i: randInt([3, 4], 9, -10, 10) });
  });

  it('argmax on each axis, keepdims, first index on ties, i64 input', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', [3, 4, 5]);
      const t = g.input('t', 'f32', [2, 4]);
      const i = g.input('i', 'i64', [2, 4]);
      return { a0: argmax(x, 0), a1: argmax(x, 1, true), a2: argmax(x), ties: argmax(t, 1), tiesK: argmax(t, 0, true), int: argmax(i, -1) };
    }, { x: randn([3, 4, 5], 10), t: tensor([1, 3, 3, 0, 2, 2, 2, 2], [2, 4]), i: tensor([4, 9, 9, 1, -1, -5, -1, -2], [2, 4], 'i64') });
  });

  it('softmax and logSoftmax on every axis (large logits)', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', [2, 3, 4]);
      const out: Record<string, ReturnType<typeof softmax>> = {};
      for (const a of [0, 1, 2]) {
        out[`sm${a}`] = softmax(x, a);
        out[`lsm${a}`] = logSoftmax(x, a);
      }
      return out;
    }, { x: randn([2, 3, 4], 11, -30, 30) }, { atol: 1e-5 });
  });

  it('layerNorm over the last axis (symbolic batch, affine)', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', ['b', 3, 8]);
      const w = g.input('w', 'f32', [8]);
      const bias = g.input('bias', 'f32', [8]);
      return { y: layerNorm(x, w, bias), y2: layerNorm(x, w, bias, 0.1) };
    }, { x: randn([2, 3, 8], 12, -3, 3), w: randn([8], 13), bias: randn([8], 14) }, { atol: 1e-5 });
  });

  it('cumsum: inclusive/exclusive x forward/reverse on two axes, i64', async () => {
    await compareOrtWithReference((g) => {
      const x = g.input('x', 'f32', [3, 5]);
      const i = g.input('i', 'i64', [6]);
      const out: Record<string, ReturnType<typeof cumsum>> = {};
      for (const axis of [0, 1]) for (const ex of [false, true]) for (const rev of [false, true]) out[`c${axis}${ex ? 'x' : ''}${rev ? 'r' : ''}`] = cumsum(x, axis, ex, rev);
      out.ci = cumsum(i, 0);
      out.ciExRev = cumsum(i, 0, true, true);
      return out;
    }, { x: randn([3, 5], 15), i: tensor([3, -1, 4, -1, 5, -9], [6], 'i64') });
  });

  it('matmul: 2-D, batched, batch broadcasting both ways, symbolic batch', async () => {
    await compareOrtWithReference((g) => {
      const a = g.input('a', 'f32', [2, 1, 3, 4]);
      const b = g.input('b', 'f32', [5, 4, 2]);
      const w = g.input('w', 'f32', [4, 6]);
      const m = g.input('m', 'f32', [3, 4]);
      const s = g.input('s', 'f32', ['batch', 3, 4]);
      return { bb: matmul(a, b), aw: matmul(a, w), mb: matmul(m, b), mw: matmul(m, w), sw: matmul(s, w) };
    }, { a: randn([2, 1, 3, 4], 16), b: randn([5, 4, 2], 17), w: randn([4, 6], 18), m: randn([3, 4], 19), s: randn([7, 3, 4], 20) });
  });
});

describe('ORT coverage', () => {
  it('ran every forward op on ORT', () => expectFamilyCovered('forward'));
});
