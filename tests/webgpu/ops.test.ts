/** Every op with a WebGPU kernel, checked against the float64 reference interpreter on small random inputs. */
import { describe, it } from 'vitest';
import {
  abs, add, argmax, broadcastLike, cast, concat, cos, cumsum, div, equal, erf, exp, expand, fullLike, greater,
  layerNorm,
  less, log, logSoftmax, matmul, maximum, minimum, mul, neg, numel, pad, pow, reduceMax, reduceMean, reduceSum, relu,
  reshape, sigmoid, sign, sin, slice, softmax, sqrt, sub, tanh, transpose, where,
} from '../../src/core/index.ts';
import {
  gather, gatherElements, gatherND, greaterEqual, identity, isInf, isNaN, lessEqual, logicalAnd, logicalNot, logicalOr,
  oneHot,
  scatterElementsAdd, scatterNDAdd, split, stopGradient, topk,
} from '../../src/core/index.ts';
import { randInt, randn, tensor } from '../runtime/ort-helpers.ts';
import { expectGpuFamilyCovered, gpuCase, probeDevice } from './helpers.ts';

const { gpu, title } = await probeDevice();

describe.skipIf(!gpu)(title('WebGPU vs reference: ops'), () => {
  it('binary ops with broadcasting, comparisons, where', async () => {
    await gpuCase(gpu!, (g) => {
      const a = g.input('a', 'f32', [2, 3]);
      const b = g.input('b', 'f32', [2, 1]);
      const c = g.input('c', 'f32', [3]);
      const m = g.input('m', 'bool', [3]);
      return {
        add: add(a, b), sub: sub(b, a), mul: mul(a, c), div: div(a, b), pow: pow(b, c), max: maximum(a, c),
        min: minimum(b, a), lt: less(a, c), gt: greater(a, b), eq: equal(a, a), where: where(m, a, c),
      };
    }, { a: randn([2, 3], 1), b: randn([2, 1], 2, 0.5, 2), c: randn([3], 3), m: tensor([1, 0, 1], [3], 'bool') });
  });

  it('logic ops, NaN/infinity tests, pass-throughs', async () => {
    await gpuCase(gpu!, (g) => {
      const x = g.input('x', 'f32', [6]);
      const p = g.input('p', 'bool', [6]);
      const q = g.input('q', 'bool', [6]);
      return {
        le: lessEqual(x, identity(x)), ge: greaterEqual(x, fullLike(x, 0)), and: logicalAnd(p, q), or: logicalOr(p, q),
        not: logicalNot(p), nan: isNaN(x), inf: isInf(x), sg: stopGradient(x),
      };
    }, { x: tensor([0, NaN, Infinity, -Infinity, 1, -2], [6]), p: tensor([1, 1, 0, 0, 1, 0], [6], 'bool'),
      q: tensor([1, 0, 1, 0, 0, 0], [6], 'bool') });
  });

  it('gathers, scatter-adds, oneHot, topk (repeated and negative indices, ties)', async () => {
    await gpuCase(gpu!, (g) => {
      const x = g.input('x', 'f32', [3, 4]);
      const rows = g.input('rows', 'i64', [2, 2]);
      const cols = g.input('cols', 'i64', [3, 1]);
      const upd = g.input('upd', 'f32', [3, 2]);
      const both = g.input('both', 'i64', [3, 2]);
      const pairs = g.input('pairs', 'i64', [2, 2]);
      const rows2 = g.input('rows2', 'i64', [3, 1]);
      const rowUpd = g.input('rowUpd', 'f32', [3, 4]);
      const ties = g.input('ties', 'f32', [4, 2]);
      return {
        g0: gather(x, rows, 0), g1: gather(x, cols, 1), ge: gatherElements(x, cols, 1), oh: oneHot(rows, 3),
        sa: scatterElementsAdd(x, both, upd, 1), gnd: gatherND(x, pairs), snd: scatterNDAdd(x, rows2, rowUpd),
        topV: topk(x, 2)[0], topI: topk(x, 2)[1], lowV: topk(ties, 2, 0, false)[0], lowI: topk(ties, 2, 0, false)[1],
      };
    }, {
      x: randn([3, 4], 18), rows: tensor([0, 2, -1, 1], [2, 2], 'i64'), cols: tensor([3, -4, 1], [3, 1], 'i64'),
      upd: randn([3, 2], 19), both: tensor([1, 1, 0, -1, 2, 3], [3, 2], 'i64'),
      pairs: tensor([0, 3, -1, 1], [2, 2], 'i64'), rows2: tensor([2, 0, 2], [3, 1], 'i64'), rowUpd: randn([3, 4], 20),
      ties: tensor([1, 2, 0, 2, 1, 2, 0, 5], [4, 2]),
    });
  });

  it('unary ops', async () => {
    await gpuCase(gpu!, (g) => {
      const x = g.input('x', 'f32', [4, 5]);
      const p = g.input('p', 'f32', [4, 5]);
      return {
        neg: neg(x), exp: exp(x), log: log(p), sqrt: sqrt(p), tanh: tanh(mul(x, fullLike(x, 30))), sigmoid: sigmoid(x),
        relu: relu(x), abs: abs(x), erf: erf(x), sin: sin(x), cos: cos(x), sign: sign(x),
      };
    }, { x: randn([4, 5], 4, -3, 3), p: randn([4, 5], 5, 0.1, 4) }, { rtol: 2e-4, atol: 2e-6 });
  });

  it('casts, fills, numel', async () => {
    await gpuCase(gpu!, (g) => {
      const x = g.input('x', 'f32', [3, 2]);
      const k = g.input('k', 'i64', [4]);
      return {
        toInt: cast(x, 'i64'), toBool: cast(x, 'bool'), back: cast(k, 'f32'), full: fullLike(x, 2.5), n: numel(x, [0]),
      };
    }, { x: randn([3, 2], 6, -3, 3), k: randInt([4], 7, -5, 5) });
  });

  it('reductions, argmax, softmax, logSoftmax, cumsum, layerNorm', async () => {
    await gpuCase(gpu!, (g) => {
      const x = g.input('x', 'f32', [2, 3, 4]);
      const w = g.input('w', 'f32', [4]);
      const b = g.input('b', 'f32', [4]);
      return {
        sum: reduceSum(x, [0, 2]), mean: reduceMean(x, [1], true), max: reduceMax(x, [2]), all: reduceSum(x),
        argmax: argmax(x, 1), sm: softmax(x, 1), lsm: logSoftmax(x, -1), cs: cumsum(x, 2), ln: layerNorm(x, w, b),
      };
    }, { x: randn([2, 3, 4], 8, -2, 2), w: randn([4], 9), b: randn([4], 10) });
  });

  it('matmul: plain and batched with broadcasting', async () => {
    await gpuCase(gpu!, (g) => {
      const a = g.input('a', 'f32', [5, 7]);
      const b = g.input('b', 'f32', [7, 3]);
      const c = g.input('c', 'f32', [2, 1, 3, 4]);
      const d = g.input('d', 'f32', [3, 4, 2]);
      return { ab: matmul(a, b), cd: matmul(c, d) };
    }, { a: randn([5, 7], 11), b: randn([7, 3], 12), c: randn([2, 1, 3, 4], 13), d: randn([3, 4, 2], 14) });
  });

  it('layout: reshape, transpose, slice, pad, concat, split, expand, broadcastLike', async () => {
    await gpuCase(gpu!, (g) => {
      const x = g.input('x', 'f32', ['batch', 3, 4]);
      const y = g.input('y', 'f32', ['batch', 1, 4]);
      const w = g.input('w', 'f32', [1, 4]);
      const [s0, s1] = split(x, 2, [1, 3]);
      return {
        r: reshape(x, [-1, 4]), t: transpose(x, [2, 0, 1]), s: slice(slice(x, 1, 1, 3), 2, 1, 4),
        p: pad(w, [1, 2], [0, 1]),
        c: concat([x, neg(x)], 2), s0, s1, e: expand(w, [3, 4]), bl: broadcastLike(y, x),
        n: numel(x, [0, 2]), // a symbolic dim: a numel node (static shapes fold to a constant)
      };
    }, { x: randn([2, 3, 4], 15), y: randn([2, 1, 4], 16), w: randn([1, 4], 17) });
  });
});

describe.skipIf(!gpu)(title('WebGPU vs reference: family'), () => {
  it('this file ran every op of its family on WebGPU', () => expectGpuFamilyCovered('ops'));
});
