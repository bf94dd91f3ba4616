import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  add, argmax, backward, cast, exp, gatherElements, getOp, grad, logSoftmax, loop, matmul, mul, neg, opNames, reduceMean, reduceSum, relu, softmax,
  stopGradient, tanh, type Tensor, trace, valueAndGrad, withScope,
} from '../../src/core/index.ts';
import { refTensor, runReference } from '../../src/runtime/reference/index.ts';
import { check, GRAD_FAMILIES, gradCheck, makeFeeds, NON_DIFFERENTIABLE, prng, seedArb } from './gradcheck.ts';
import { expectCode } from '../expect-error.ts';


describe('gradient coverage', () => {
  it('every registered op either has a gradient rule checked by a grad test file or is declared non-differentiable', () => {
    const families = Object.values(GRAD_FAMILIES).flat();
    expect(new Set(families).size).toBe(families.length);
    const withRule = opNames().filter((n) => getOp(n).grad);
    const without = opNames().filter((n) => !getOp(n).grad);
    expect([...withRule].sort()).toEqual([...families].sort());
    expect([...without].sort()).toEqual([...NON_DIFFERENTIABLE].sort());
  });
});

describe('backward', () => {
  it('throws E_GRAD for a non-scalar output without a seed', () => {
    trace((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      const e = expectCode(() => backward(exp(x), [x]), 'E_GRAD');
      expect(e.message).toMatch(/scalar/);
      return { x };
    });
  });

  it('throws E_GRAD for an integer output', () => {
    trace((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      expectCode(() => backward(reduceSum(argmax(x, 1)), [x]), 'E_GRAD');
      return { x };
    });
  });

  it('throws E_GRAD instead of returning zeros through a loop (carried or captured values)', () => {
    trace((g) => {
      const x = g.input('x', 'f32', [2]);
      const w = g.input('w', 'f32', [2]);
      const [y] = withScope('sampler', () => loop(3, [x], (_i, c) => ({ carried: [mul(c, w)], scans: [] })));
      expect(expectCode(() => backward(reduceSum(y), [x]), 'E_GRAD').message).toBe("sampler: cannot differentiate through 'loop'");
      expectCode(() => backward(reduceSum(y), [w]), 'E_GRAD');
      const [z] = loop(2, [stopGradient(x)], (_i, c) => ({ carried: [exp(c)], scans: [] }));
      const [dx] = backward(reduceSum(mul(z, x)), [x]);
      expect(dx.shape).toEqual([2]);
      return { x };
    });
  });

  it('a seed gradient equals differentiating reduceSum(y * seed)', () => {
    const g = trace((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      const s = g.input('s', 'f32', [2, 3]);
      const y = tanh(mul(x, x));
      const [a] = backward(y, [x], s);
      const [b] = backward(reduceSum(mul(y, s)), [x]);
      return { a, b };
    });
    const feeds = makeFeeds([{ shape: [2, 3] }, { shape: [2, 3] }], 5);
    const out = runReference(g, { x: feeds.x0, s: feeds.x1 });
    [...out.a.data].forEach((v, i) => expect(v).toBeCloseTo(out.b.data[i], 12));
  });

  it('gives zeros to inputs without a path to the output, and stopGradient cuts the path', () => {
    const g = trace((g) => {
      const x = g.input('x', 'f32', [3]);
      const u = g.input('u', 'f32', [2]);
      const [dx, du] = backward(reduceSum(mul(stopGradient(x), x)), [x, u]);
      const [dz] = backward(reduceSum(exp(stopGradient(x))), [x]);
      return { dx, du, dz };
    });
    const out = runReference(g, { x: refTensor([1, -2, 3], [3]), u: refTensor([5, 6], [2]) });
    expect([...out.dx.data]).toEqual([1, -2, 3]);
    expect([...out.du.data]).toEqual([0, 0]);
    expect([...out.dz.data]).toEqual([0, 0, 0]);
  });

  it('grad and valueAndGrad wrap backward', () => {
    const g = trace((g) => {
      const x = g.input('x', 'f32', [3]);
      const [dx] = grad((x) => reduceSum(mul(x, x)))(x);
      const { value, grads } = valueAndGrad((x) => reduceSum(mul(x, x)))(x);
      return { dx, value, dv: grads[0] };
    });
    const out = runReference(g, { x: refTensor([1, 2, 3], [3]) });
    expect([...out.dx.data]).toEqual([2, 4, 6]);
    expect([...out.dv.data]).toEqual([2, 4, 6]);
    expect(out.value.data[0]).toBe(14);
  });

  it('tags gradient nodes with grad(<scope>)', () => {
    const g = trace((g) => {
      const x = g.input('x', 'f32', [2, 2]);
      const y = withScope('blocks.0', () => withScope('mlp', () => exp(x)));
      const [dx] = backward(reduceSum(y), [x]);
      return { dx };
    });
    const gradNodes = g.nodes.filter((n) => n.scope.startsWith('grad('));
    expect(gradNodes.map((n) => n.scope)).toContain('grad(blocks.0.mlp)');
  });
});

describe('shape errors name the module path', () => {
  it('blocks.2.attn: matmul ... 128 vs 64', () => {
    trace((g) => {
      const x = g.input('x', 'f32', ['batch', 128]);
      const w = g.input('w', 'f32', [64, 32]);
      const e = expectCode(() => withScope('blocks.2', () => withScope('attn', () => matmul(x, w))), 'E_SHAPE');
      expect(e.message.startsWith('blocks.2.attn: matmul')).toBe(true);
      expect(e.message).toContain('128 vs 64');
      expect(e.hint).not.toBe('');
      return { x };
    });
  });
});

describe('losses and small models', () => {
  const crossEntropy = (logits: Tensor, labels: Tensor) => neg(reduceMean(gatherElements(logSoftmax(logits, -1), labels, 1)));

  it('logSoftmax + gatherElements (cross-entropy) on random batches and class counts', () => {
    check(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 5 }), seedArb), ([b, c, seed]) => {
      const rnd = prng(seed);
      const labels = Array.from({ length: b }, () => Math.floor(rnd() * c));
      gradCheck(crossEntropy, [{ shape: [b, c] }, { shape: [b, 1], dtype: 'i64', gen: labels }], { seed });
    });
  });

  it('cross-entropy gradient is (softmax - onehot) / batch', () => {
    const g = trace((g) => {
      const logits = g.input('logits', 'f32', ['batch', 3]);
      const labels = g.input('labels', 'i64', ['batch', 1]);
      const [d] = backward(crossEntropy(logits, labels), [logits]);
      return { d, p: softmax(logits) };
    });
    const out = runReference(g, { logits: refTensor([1, 2, 3, 0, -1, 0.5], [2, 3]), labels: refTensor([2, 0], [2, 1], 'i64') });
    const want = [...out.p.data].map((p, i) => (p - (i === 2 || i === 3 ? 1 : 0)) / 2);
    [...out.d.data].forEach((v, i) => expect(v).toBeCloseTo(want[i], 12));
  });

  it('a two-layer MLP with symbolic batch, every parameter checked', () => {
    const mlp = (x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, labels: Tensor) =>
      crossEntropy(add(matmul(tanh(add(matmul(x, w1), b1)), w2), 0.1), labels);
    gradCheck(mlp, [
      { shape: [3, 4], declared: ['batch', 4] },
      { shape: [4, 5] },
      { shape: [5] },
      { shape: [5, 3] },
      { shape: [3, 1], declared: ['batch', 1], dtype: 'i64', gen: [0, 2, 1] },
    ]);
  });

  it('relu MLP with the same weight used twice (gradients accumulate)', () => {
    const f = (x: Tensor, w: Tensor) => reduceSum(matmul(relu(matmul(x, w)), w));
    gradCheck(f, [{ shape: [2, 3], gen: 'pos' }, { shape: [3, 3], gen: 'pos' }]);
  });

  it('casts of float masks do not break the gradient of the float path', () => {
    gradCheck((x) => mul(x, cast(cast(x, 'bool'), 'f32')), [{ shape: [3], gen: 'away' }]);
  });
});
