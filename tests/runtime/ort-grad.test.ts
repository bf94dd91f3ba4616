/**
 * ORT vs reference for gradient graphs: for each differentiable op, `backward(sum_k reduceSum(op_k(...) * r_k))`
 * is lowered and run on ORT, so the ops the gradient rules emit (scatters, pads, broadcasts, numel, ...) are
 * checked there too. Finite differences are the reference tests' job; here the reference values are the truth.
 */
import { split } from '../../src/core/index.ts';
import { concatRows, splitRows } from '../../src/core/index.ts';
import { describe, it } from 'vitest';
import {
  abs, add, broadcastLike, cast, concat, cos, cumsum, div, type DType, erf, exp, expand, fullLike, gather, gatherElements,
  gatherND, identity, layerNorm, less, log, logSoftmax, matmul, maximum, minimum, mul, neg, nonzero, numel, pad, pow, randomUniformLike,
  reduceMax, reduceMean, reduceSum, relu, reshape, scatterElementsAdd, scatterNDAdd, sigmoid, sign, sin, slice, softmax, sqrt, sub, tanh, type Tensor,
  topk, transpose, unsqueeze, where,
} from '../../src/core/index.ts';
import { expectFamilyCovered, f32, fixed, gradCase } from './ort-helpers.ts';

describe('ORT vs reference gradients: elementwise', () => {
  it('binary ops with broadcasting, where', async () => {
    await gradCase(
      (a, b, c, p, m) => [add(a, b), sub(b, a), mul(a, c), div(a, b), div(c, a), pow(p, c), maximum(a, c), minimum(b, a), where(m, a, c)],
      [[f32([2, 3], 1, 0.3, 2), f32([2, 1], 2, 0.5, 2), f32([3], 3), f32([2, 3], 4, 0.5, 2), fixed([1, 0, 1], [3], 'bool')]],
    );
  });

  it('every unary op (each on its own input), sign, cast of an i64 factor', async () => {
    const ops = [neg, exp, tanh, sigmoid, relu, abs, erf, sin, cos, sign];
    await gradCase(
      (pos, i, ...xs) => [log(pos), sqrt(pos), mul(xs[0], cast(i, 'f32')), ...ops.map((op, k) => op(xs[k]))],
      [[f32([2, 3], 5, 0.2, 3), fixed([1, -2, 3, 0, 2, 1], [2, 3]), ...ops.map((_, k) => f32([2, 3], 10 + k, -2, 2))]],
    );
  });

  it('fullLike, numel, identity, randomUniformLike over a symbolic batch (two batch sizes)', async () => {
    const sets = [2, 5].map((b) => [f32([b, 3], 30 + b, -1, 1, ['b', 3]), fixed([7], [])]);
    await gradCase((x, s) => [div(mul(add(identity(x), fullLike(x, 2)), randomUniformLike(x, s)), numel(x, [0]))], sets);
  });
});

describe('ORT vs reference gradients: layout', () => {
  it('reshape (symbolic), transpose, slice, pad, concat, broadcastLike, expand', async () => {
    const sets = [2, 3].map((b) => [f32([b, 4, 6], 40 + b, -1, 1, ['b', 4, 6]), f32([6], 41), f32([2, 1], 42), f32([2, 4, 3], 43)]);
    await gradCase(
      (x, v, col, y) => [
        reshape(x, ['b', 4, 2, 3]), reshape(x, [-1, 6]), transpose(x, [2, 0, 1]), slice(y, 2, 1, 3), pad(y, [0, 1, 2], [1, 0, 0]),
        concat([y, slice(y, 1, 0, 2), y], 1), broadcastLike(v, x), expand(col, [3, 2, 5]), split(y, 1, [1, 3])[1], split(x, 2, [2, 4])[0],
      ],
      sets,
    );
  });
});

describe('ORT vs reference gradients: reductions, nn, matmul', () => {
  it('reduceSum/Mean/Max (keepdims, several axes, ties, symbolic batch)', async () => {
    const tied = { value: { dtype: 'f32' as DType, shape: [2, 4], data: Float64Array.from([1, 3, 3, 0, 2, 2, 2, 2]) } };
    const sets = [2, 4].map((b) => [f32([b, 3, 4], 50 + b, -1, 1, ['b', 3, 4]), tied]);
    await gradCase(
      (x, t) => [reduceSum(x, [0, 2]), reduceSum(x, 1, true), reduceMean(x), reduceMean(x, [0], true), reduceMax(x, [1, 2]), reduceMax(t, 1), reduceMax(t)],
      sets,
    );
  });

  it('matmul: 2-D, batched, rank-3 @ rank-2 (flattened weight gradient), batch broadcasting', async () => {
    await gradCase(
      (a, b, w, c, d) => [matmul(a, b), matmul(a, w), matmul(c, d)],
      [[f32([2, 3, 4], 60), f32([2, 4, 5], 61), f32([4, 2], 62), f32([2, 1, 3, 4], 63), f32([5, 4, 2], 64)]],
    );
  });

  it('softmax, logSoftmax (two axes), layerNorm, cumsum (all four modes)', async () => {
    await gradCase(
      (x, w, b) => [
        softmax(x, -1), softmax(x, 0), logSoftmax(x, 1), logSoftmax(x, 0), layerNorm(x, w, b), cumsum(x, 1), cumsum(x, 0, true),
        cumsum(x, 1, false, true), cumsum(x, 1, true, true),
      ],
      [[f32([3, 5], 70, -3, 3), f32([5], 71), f32([5], 72)]],
      { atol: 1e-5 },
    );
  });
});

describe('ORT vs reference gradients: indexing', () => {
  it('gather (axis 0 and 1, repeated indices), gatherElements, gatherND, topk', async () => {
    await gradCase(
      (x, i0, i1, e, q) => [gather(x, i0, 0), gather(x, i1, 1), gatherElements(x, e, 1), gatherND(x, q), ...topk(x, 2, -1).slice(0, 1), ...topk(x, 3, 0, false).slice(0, 1)],
      [[f32([4, 3], 80), fixed([2, 0, 2, 3, -1, 2], [2, 3]), fixed([1, 1, 0, -1], [2, 2]), fixed([0, 0, 2, 1, 1, 1, 2, 2], [4, 2]), fixed([3, 1, 3, 0, 1, 2], [3, 2])]],
    );
  });

  it('scatterElementsAdd and scatterNDAdd (base and updates, repeated indices)', async () => {
    await gradCase(
      (base, u, i, nd, v) => [scatterElementsAdd(base, i, u, 1), scatterNDAdd(base, nd, v)],
      [[f32([3, 4], 90), f32([3, 2], 91), fixed([3, 3, 0, 1, 2, 2], [3, 2]), fixed([1, 1, 2], [3, 1]), f32([3, 4], 92)]],
    );
  });

  it('splitRows / concatRows with per-piece matmuls, incl. empty pieces (one compile)', async () => {
    const experts = (x: Tensor, n: Tensor, w: Tensor) => {
      const [a, b, c] = splitRows(x, n);
      return [concatRows(n, [tanh(matmul(a, w)), matmul(b, transpose(w)), c], 6)];
    };
    const x = f32([6, 4], 102);
    const w = f32([4, 4], 103);
    await gradCase(experts, [[x, fixed([2, 0, 4], [3]), w], [x, fixed([0, 6, 0], [3]), w], [x, fixed([3, 2, 1], [3]), w]]);
  });

  it('MoE-style routing through nonzero, incl. an expert that gets zero tokens (one compile)', async () => {
    const route = (x: Tensor, w: Tensor, thr: Tensor) => {
      const idx = nonzero(less(reduceSum(x, 1), thr));
      const y = tanh(matmul(gather(x, idx, 0), w));
      return [scatterNDAdd(mul(x, 0.5), unsqueeze(idx, -1), matmul(y, transpose(w)))];
    };
    const x = f32([6, 4], 100);
    const w = f32([4, 4], 101);
    await gradCase(route, [[x, w, fixed([0.5], [], 'f32')], [x, w, fixed([-10], [], 'f32')], [x, w, fixed([10], [], 'f32')]]);
  });
});

describe('ORT coverage', () => {
  it('ran the gradient graph of every differentiable op on ORT', () => expectFamilyCovered('grad'));
});
