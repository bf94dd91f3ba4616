import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cumsum, layerNorm, logSoftmax, matmul, mul, reduceMax, reduceMean, reduceSum, softmax, type Tensor } from '../../src/core/index.ts';
import { broadcastArb, check, checkedOps, GRAD_FAMILIES, gradCheck, type Gen, seedArb, shapeArb } from './gradcheck.ts';

/** A shape, a subset of its axes and a keepdims flag. */
const axesArb = shapeArb(0, 3).chain((shape) => fc.tuple(fc.constant(shape), fc.subarray([...shape.keys()]), fc.boolean(), seedArb));
/** A shape of rank >= 1 and one of its axes. */
const axisArb = shapeArb(1, 3).chain((shape) => fc.tuple(fc.constant(shape), fc.nat(shape.length - 1), seedArb));

const reductions: [string, (x: Tensor, axes?: number | number[], keep?: boolean) => Tensor, Gen][] = [
  ['reduceSum', reduceSum, 'any'],
  ['reduceMean', reduceMean, 'any'],
  ['reduceMax', reduceMax, 'distinct'],
];

describe('gradients of reductions', () => {
  for (const [name, op, gen] of reductions) {
    it(`${name}: random axes, with and without keepdims`, () => {
      check(axesArb, ([shape, axes, keep, seed]) => gradCheck((x) => op(x, axes, keep), [{ shape, gen }], { seed }));
    });
    it(`${name}: all axes to a scalar, negative axis`, () => {
      gradCheck((x) => op(x), [{ shape: [2, 3], gen }]);
      gradCheck((x) => op(x, -1, true), [{ shape: [2, 3, 2], gen }]);
    });
  }
  it('reduceMax of a value reused in the same expression', () => {
    gradCheck((x) => mul(reduceMax(x, 1, true), x), [{ shape: [3, 4], gen: 'distinct' }]);
  });
});

describe('gradients of matmul', () => {
  it('random sizes and broadcast batch dims', () => {
    const arb = fc.tuple(broadcastArb(2, 2, 3), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), seedArb);
    check(arb, ([[ba, bb], m, k, n, seed]) => gradCheck(matmul, [{ shape: [...ba, m, k] }, { shape: [...bb, k, n] }], { seed }));
  });
  it('[2, 3, 4] @ [4, 5] and [3, 4] @ [2, 4, 5] (shared weight summed over the batch)', () => {
    gradCheck(matmul, [{ shape: [2, 3, 4] }, { shape: [4, 5] }]);
    gradCheck(matmul, [{ shape: [3, 4] }, { shape: [2, 4, 5] }]);
  });
  it('[1, 3, 4] @ [2, 4, 5] and [2, 1, 3, 4] @ [3, 4, 2]', () => {
    gradCheck(matmul, [{ shape: [1, 3, 4] }, { shape: [2, 4, 5] }]);
    gradCheck(matmul, [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }]);
  });
  it('[batch, 3, 4] @ [4, 5] with a symbolic batch (the flattened-GEMM weight gradient)', () => {
    check(fc.tuple(fc.integer({ min: 1, max: 3 }), seedArb), ([b, seed]) => {
      gradCheck(matmul, [{ shape: [b, 3, 4], declared: ['batch', 3, 4] }, { shape: [4, 5] }], { seed });
      gradCheck(matmul, [{ shape: [b, 2, 3, 4], declared: ['batch', 'seq', 3, 4] }, { shape: [4, 2] }], { seed });
    }, 5);
  });
  it('x @ x for a square matrix (both operands the same value)', () => {
    gradCheck((x) => matmul(x, x), [{ shape: [3, 3] }]);
  });
});

describe('gradients of softmax, logSoftmax, layerNorm and cumsum', () => {
  for (const [name, op] of [['softmax', softmax], ['logSoftmax', logSoftmax]] as const) {
    it(`${name} along a random axis`, () => {
      check(axisArb, ([shape, axis, seed]) => gradCheck((x) => op(x, axis), [{ shape }], { seed }));
    });
  }
  it('layerNorm w.r.t. input, weight and bias', () => {
    const arb = fc.tuple(shapeArb(0, 2), fc.integer({ min: 2, max: 4 }), fc.constantFrom(1e-5, 0.1), seedArb);
    check(arb, ([lead, c, eps, seed]) => {
      gradCheck((x, w, b) => layerNorm(x, w, b, eps), [{ shape: [...lead, c], gen: 'distinct' }, { shape: [c] }, { shape: [c] }], { seed });
    });
  });
  it('cumsum along a random axis, exclusive and/or reverse', () => {
    check(fc.tuple(axisArb, fc.boolean(), fc.boolean()), ([[shape, axis, seed], exclusive, reverse]) => {
      gradCheck((x) => cumsum(x, axis, exclusive, reverse), [{ shape }], { seed });
    });
  });
  it('cumsum exclusive + reverse on a fixed case', () => {
    gradCheck((x) => mul(cumsum(x, 1, true, true), cumsum(x, 0, true)), [{ shape: [3, 4] }]);
  });
});

it('checks every nn op with a gradient rule', () => {
  expect(GRAD_FAMILIES.nn.filter((op) => !checkedOps.has(op))).toEqual([]);
});
