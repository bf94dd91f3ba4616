import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exp, gather, gatherElements, gatherND, mul, nonzero, scatterElementsAdd, scatterNDAdd, topk } from '../../src/core/index.ts';
import { check, checkedOps, GRAD_FAMILIES, gradCheck, prng, seedArb, shapeArb } from './gradcheck.ts';

const dimArb = fc.integer({ min: 1, max: 4 });

/** Integer data with element k drawn from [0, hi(k)). */
function indices(n: number, hi: (k: number) => number, seed: number): number[] {
  const rnd = prng(seed ^ 0x2545f491);
  return Array.from({ length: n }, (_, k) => Math.floor(rnd() * hi(k)));
}
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** A data shape of rank 1..3, an axis, and an index shape whose dims fit the data outside the axis. */
const elementsArb = shapeArb(1, 3).chain((shape) =>
  fc.tuple(
    fc.constant(shape),
    fc.nat(shape.length - 1),
    fc.tuple(...shape.map((d) => fc.integer({ min: 1, max: d }))),
    dimArb,
    seedArb,
  ),
);

describe('gradients of gathers and scatters', () => {
  it('gather on a random axis with index tensors of rank 0..2 (repeats accumulate)', () => {
    check(fc.tuple(shapeArb(1, 3), fc.nat(2), shapeArb(0, 2), seedArb), ([shape, a, ishape, seed]) => {
      const axis = a % shape.length;
      const idx = indices(size(ishape), () => shape[axis], seed);
      gradCheck((x, i) => gather(x, i, axis), [{ shape }, { shape: ishape, dtype: 'i64', gen: idx }], { seed });
    });
  });

  it('gather on axis 0 (embedding lookup) and axis 1 with repeated indices', () => {
    gradCheck((x, i) => gather(x, i, 0), [{ shape: [4, 3] }, { shape: [2, 3], dtype: 'i64', gen: [0, 3, 3, 1, 0, 3] }]);
    gradCheck((x, i) => gather(x, i, 1), [{ shape: [2, 4, 3] }, { shape: [5], dtype: 'i64', gen: [1, 1, 3, 0, 1] }]);
    gradCheck((x, i) => gather(x, i, 2), [{ shape: [2, 2, 3] }, { shape: [], dtype: 'i64', gen: [2] }]);
  });

  it('embedding lookup with symbolic [batch, seq] token ids, and topk over a symbolic batch', () => {
    check(fc.tuple(fc.integer({ min: 1, max: 3 }), seedArb), ([b, seed]) => {
      const ids = { shape: [b, 2], declared: ['batch', 'seq'], dtype: 'i64' as const, gen: indices(2 * b, () => 5, seed) };
      gradCheck((e, i) => gather(e, i, 0), [{ shape: [5, 3] }, ids], { seed });
      gradCheck((x) => topk(x, 2)[0], [{ shape: [b, 4], declared: ['batch', 4], gen: 'distinct' }], { seed });
    }, 5);
  });

  it('gather at data-dependent positions (nonzero), including none', () => {
    gradCheck((x, m) => gather(x, nonzero(m), 0), [{ shape: [4, 3] }, { shape: [4], dtype: 'bool', gen: [1, 0, 1, 1] }]);
    gradCheck((x, m) => gather(x, nonzero(m), 0), [{ shape: [4, 3] }, { shape: [4], dtype: 'bool', gen: [0, 0, 0, 0] }]);
  });

  it('gatherElements on a random axis', () => {
    check(elementsArb, ([shape, axis, idims, along, seed]) => {
      const ishape = idims.map((d, i) => (i === axis ? along : d));
      const idx = indices(size(ishape), () => shape[axis], seed);
      gradCheck((x, i) => gatherElements(x, i, axis), [{ shape }, { shape: ishape, dtype: 'i64', gen: idx }], { seed });
    });
  });

  it('scatterElementsAdd w.r.t. base and updates', () => {
    check(elementsArb, ([shape, axis, idims, along, seed]) => {
      const ishape = idims.map((d, i) => (i === axis ? along : d));
      const idx = indices(size(ishape), () => shape[axis], seed);
      gradCheck((b, i, u) => exp(scatterElementsAdd(b, i, u, axis)), [{ shape }, { shape: ishape, dtype: 'i64', gen: idx }, { shape: ishape }], { seed });
    });
  });

  /** Data shape, index depth q and batch shape for the ND ops. */
  const ndArb = shapeArb(1, 3).chain((shape) => fc.tuple(fc.constant(shape), fc.integer({ min: 1, max: shape.length }), shapeArb(0, 2), seedArb));

  it('gatherND with random depth and batch (repeated addresses accumulate)', () => {
    check(ndArb, ([shape, q, batch, seed]) => {
      const idx = indices(size(batch) * q, (k) => shape[k % q], seed);
      gradCheck((x, i) => gatherND(x, i), [{ shape }, { shape: [...batch, q], dtype: 'i64', gen: idx }], { seed });
    });
  });

  it('scatterNDAdd w.r.t. base and updates', () => {
    check(ndArb, ([shape, q, batch, seed]) => {
      const idx = indices(size(batch) * q, (k) => shape[k % q], seed);
      const ushape = [...batch, ...shape.slice(q)];
      gradCheck((b, i, u) => exp(scatterNDAdd(b, i, u)), [{ shape }, { shape: [...batch, q], dtype: 'i64', gen: idx }, { shape: ushape }], { seed });
    });
  });

  it('gatherND / scatterNDAdd with the same address three times', () => {
    const idx = { shape: [3, 2], dtype: 'i64' as const, gen: [1, 2, 0, 0, 1, 2] };
    gradCheck((x, i) => gatherND(x, i), [{ shape: [2, 3, 2] }, idx]);
    const rep = { shape: [3, 1], dtype: 'i64' as const, gen: [1, 1, 1] };
    gradCheck((b, i, u) => mul(scatterNDAdd(b, i, u), scatterNDAdd(b, i, u)), [{ shape: [2, 3] }, rep, { shape: [3, 3] }]);
  });
});

describe('gradient of topk', () => {
  it('random axis, k and direction (values kept apart: no ties)', () => {
    const arb = shapeArb(1, 3).chain((shape) =>
      fc.nat(shape.length - 1).chain((axis) => fc.tuple(fc.constant(shape), fc.constant(axis), fc.integer({ min: 1, max: shape[axis] }), fc.boolean(), seedArb)),
    );
    check(arb, ([shape, axis, k, largest, seed]) => {
      gradCheck((x) => topk(x, k, axis, largest)[0], [{ shape, gen: 'distinct' }], { seed });
    });
  });
  it('top-2 of each row of [3, 4]', () => {
    gradCheck((x) => mul(topk(x, 2)[0], topk(x, 2, -1, false)[0]), [{ shape: [3, 4], gen: 'distinct' }]);
  });
});

it('checks every indexing op with a gradient rule', () => {
  expect(GRAD_FAMILIES.indexing.filter((op) => !checkedOps.has(op))).toEqual([]);
});
