import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  abs, add, cast, cos, div, erf, exp, fullLike, identity, log, maximum, minimum, mul, neg, numel, pow, randomUniformLike, reduceMean, reduceSum, relu, sigmoid, sign, sin, sqrt, sub,
  tanh, type Tensor, where,
} from '../../src/core/index.ts';
import { broadcastArb, broadcastPairArb, check, checkedOps, GRAD_FAMILIES, gradCheck, type Gen, seedArb, shapeArb } from './gradcheck.ts';

type Bin = (a: Tensor, b: Tensor) => Tensor;

const binaries: [string, Bin, Gen, Gen][] = [
  ['add', add, 'any', 'any'],
  ['sub', sub, 'any', 'any'],
  ['mul', mul, 'any', 'any'],
  ['div', div, 'any', 'away'],
  ['pow', pow, 'pos', 'any'],
  ['maximum', maximum, 'distinct', 'distinct'],
  ['minimum', minimum, 'distinct', 'distinct'],
];

describe('gradients of binary ops (with broadcasting)', () => {
  for (const [name, op, ga, gb] of binaries) {
    it(`${name}: random broadcast pairs`, () => {
      check(fc.tuple(broadcastPairArb(), seedArb), ([[sa, sb], seed]) => {
        gradCheck(op, [{ shape: sa, gen: ga }, { shape: sb, gen: gb }], { seed });
      });
    });
    it(`${name}: [3, 1] with [4] and a scalar with [2, 3]`, () => {
      gradCheck(op, [{ shape: [3, 1], gen: ga }, { shape: [4], gen: gb }], { seed: 7 });
      gradCheck(op, [{ shape: [], gen: ga }, { shape: [2, 3], gen: gb }], { seed: 8 });
    });
  }

  it('a value used as both operands accumulates both gradients', () => {
    gradCheck((x) => mul(x, x), [{ shape: [2, 3] }]);
    gradCheck((x) => div(x, x), [{ shape: [3], gen: 'away' }]);
    gradCheck((x) => pow(x, x), [{ shape: [2, 2], gen: 'pos' }]);
  });

  it('a value reused by several consumers sums its gradients', () => {
    gradCheck((x, y) => add(mul(exp(x), y), sub(mul(x, x), tanh(mul(x, y)))), [{ shape: [2, 3] }, { shape: [3] }]);
  });

  it('number operands lift to scalar constants', () => {
    gradCheck((x) => add(mul(x, 3), div(2, x)), [{ shape: [4], gen: 'away' }]);
    gradCheck((x) => sub(1, pow(x, 0.5)), [{ shape: [4], gen: 'pos' }]);
  });
});

describe('gradient of where', () => {
  it('random broadcast of condition and branches', () => {
    check(fc.tuple(broadcastArb(3), seedArb), ([[sc, sa, sb], seed]) => {
      gradCheck((c, a, b) => where(c, a, b), [{ shape: sc, dtype: 'bool', gen: 'bool' }, { shape: sa }, { shape: sb }], { seed });
    });
  });
  it('mixes constant and tensor branches', () => {
    gradCheck((c, a) => where(c, a, 0), [{ shape: [2, 3], dtype: 'bool', gen: 'bool' }, { shape: [3] }]);
    gradCheck((c, a) => where(c, 1, a), [{ shape: [3], dtype: 'bool', gen: [1, 0, 1] }, { shape: [2, 3] }]);
  });
});

const unaries: [string, (x: Tensor) => Tensor, Gen][] = [
  ['neg', neg, 'any'],
  ['exp', exp, 'any'],
  ['log', log, 'pos'],
  ['sqrt', sqrt, 'pos'],
  ['tanh', tanh, 'any'],
  ['sigmoid', sigmoid, 'any'],
  ['relu', relu, 'away'],
  ['abs', abs, 'away'],
  ['erf', erf, 'any'],
  ['sin', sin, 'any'],
  ['cos', cos, 'any'],
  ['sign', sign, 'away'],
  ['identity', identity, 'any'],
];

describe('gradients of unary ops', () => {
  for (const [name, op, gen] of unaries) {
    it(`${name}: random shapes of rank 0..3`, () => {
      check(fc.tuple(shapeArb(), seedArb), ([shape, seed]) => gradCheck(op, [{ shape, gen }], { seed }));
    });
  }
  it('relu and abs pass zero / sign-flipped gradients on the negative side', () => {
    gradCheck((x) => relu(x), [{ shape: [4], gen: [-1, -0.5, 0.5, 1] }]);
    gradCheck((x) => abs(x), [{ shape: [4], gen: [-1, -0.5, 0.5, 1] }]);
  });
  it('composite activations (gelu via erf, softplus via log/exp)', () => {
    const gelu = (x: Tensor) => mul(mul(x, 0.5), add(1, erf(mul(x, Math.SQRT1_2))));
    gradCheck(gelu, [{ shape: [3, 4] }], { seed: 3 });
    gradCheck((x) => log(add(1, exp(x))), [{ shape: [3, 4] }], { seed: 4 });
  });
});

describe('gradients through cast, fullLike and numel', () => {
  it('an f32 -> i64 -> f32 path carries no gradient (piecewise constant)', () => {
    gradCheck((x) => mul(x, cast(cast(x, 'i64'), 'f32')), [{ shape: [5], gen: [0.5, 1.5, -1.5, 2.5, -0.4] }]);
  });
  it('bool -> f32 masks', () => {
    gradCheck((x) => mul(x, cast(sign(x), 'f32')), [{ shape: [4], gen: 'away' }]);
  });
  it('noise from randomUniformLike(x) does not depend on x (diffusion-style x + noise)', () => {
    gradCheck((x, seed) => add(mul(x, x), randomUniformLike(x, seed)), [{ shape: [2, 3] }, { shape: [], dtype: 'i64', gen: [11] }]);
  });
  it('fullLike contributes no gradient', () => {
    gradCheck((x) => mul(x, fullLike(x, 3)), [{ shape: [2, 2] }]);
  });
  it('reduceMean and numel over a symbolic batch (counted at run time)', () => {
    check(fc.tuple(fc.integer({ min: 1, max: 4 }), seedArb), ([b, seed]) => {
      gradCheck((x) => mul(div(reduceSum(x, 0), numel(x, [0])), reduceMean(mul(x, x))), [{ shape: [b, 3], declared: ['batch', 3] }], { seed });
    });
  });
});

it('checks every elementwise op with a gradient rule', () => {
  expect(GRAD_FAMILIES.elementwise.filter((op) => !checkedOps.has(op))).toEqual([]);
});
