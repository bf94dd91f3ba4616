import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, broadcastLike, concat, concatRows, type Dim, exp, expand, mul, pad, reduceSum, reshape, slice, split, splitRows, squeeze, transpose, unsqueeze } from '../../src/core/index.ts';
import { broadcastPairArb, check, checkedOps, GRAD_FAMILIES, gradCheck, seedArb, shapeArb } from './gradcheck.ts';

/** A shape and a permutation of its axes. */
const permArb = shapeArb(1, 3).chain((shape) =>
  fc.tuple(fc.constant(shape), fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }), seedArb),
);

describe('gradients of layout ops', () => {
  it('reshape to a permutation of the dims with one -1', () => {
    check(permArb.chain(([s, p, seed]) => fc.tuple(fc.constant(s), fc.constant(p), fc.nat(s.length - 1), fc.constant(seed))), ([shape, perm, hole, seed]) => {
      const target: Dim[] = perm.map((p) => shape[p]);
      target[hole] = -1;
      gradCheck((x) => exp(reshape(x, target)), [{ shape }], { seed });
    });
  });

  it('reshape [2, 3, 4] -> [-1, 4] -> [4, 6]; unsqueeze and squeeze', () => {
    gradCheck((x) => reshape(mul(reshape(x, [-1, 4]), reshape(x, [6, 4])), [4, 6]), [{ shape: [2, 3, 4] }]);
    gradCheck((x) => squeeze(exp(unsqueeze(x, 1)), 1), [{ shape: [2, 3] }]);
  });

  it('reshape of a symbolic batch to [-1, C] and back', () => {
    check(fc.tuple(fc.integer({ min: 1, max: 3 }), seedArb), ([b, seed]) => {
      gradCheck((x) => reshape(mul(reshape(x, [-1, 4]), reshape(x, [-1, 4])), ['batch', 3, 4]), [{ shape: [b, 3, 4], declared: ['batch', 3, 4] }], { seed });
    });
  });

  it('transpose with random permutations', () => {
    check(permArb, ([shape, perm, seed]) => gradCheck((x) => transpose(x, perm), [{ shape }], { seed }));
  });

  it('transpose default (last two axes) and a 3-cycle', () => {
    gradCheck((x) => transpose(x), [{ shape: [2, 3, 4] }]);
    gradCheck((x) => mul(transpose(x, [1, 2, 0]), transpose(x, [1, 2, 0])), [{ shape: [2, 3, 4] }]);
  });

  it('slice at random bounds', () => {
    const arb = shapeArb(1, 3).chain((shape) =>
      fc.nat(shape.length - 1).chain((axis) =>
        fc.tuple(fc.constant(shape), fc.constant(axis), fc.integer({ min: 0, max: shape[axis] - 1 }), fc.integer({ min: 1, max: shape[axis] }), seedArb),
      ),
    );
    check(arb, ([shape, axis, a, b, seed]) => {
      const [s, e] = a < b ? [a, b] : [b - 1, a + 1];
      gradCheck((x) => slice(x, axis, s, e), [{ shape }], { seed });
    });
  });

  it('slice with negative bounds and two slices of one value', () => {
    gradCheck((x) => slice(x, -1, -3, -1), [{ shape: [2, 4] }]);
    gradCheck((x) => mul(slice(x, 0, 0, 2), slice(x, 0, 1, 3)), [{ shape: [3, 2] }]);
  });

  it('pad with random widths', () => {
    const arb = shapeArb(1, 3).chain((shape) =>
      fc.tuple(fc.constant(shape), fc.array(fc.nat(2), { minLength: shape.length, maxLength: shape.length }), fc.array(fc.nat(2), { minLength: shape.length, maxLength: shape.length }), seedArb),
    );
    check(arb, ([shape, before, after, seed]) => gradCheck((x) => exp(pad(x, before, after)), [{ shape }], { seed }));
  });

  it('concat of 1..3 inputs on a random axis', () => {
    const arb = shapeArb(1, 3).chain((shape) =>
      fc.tuple(fc.constant(shape), fc.nat(shape.length - 1), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), seedArb),
    );
    check(arb, ([shape, axis, sizes, seed]) => {
      const specs = sizes.map((d) => ({ shape: shape.map((s, i) => (i === axis ? d : s)) }));
      gradCheck((...xs) => concat(xs, axis), specs, { seed });
    });
  });

  it('split into 1..3 pieces on a random axis, with pieces used twice or not at all', () => {
    const arb = shapeArb(1, 3).chain((shape) => fc.tuple(fc.constant(shape), fc.nat(shape.length - 1), seedArb));
    check(arb, ([shape, axis, seed]) => {
      const d = shape[axis];
      const sizes = d >= 3 ? [1, d - 2, 1] : d === 2 ? [1, 1] : [1];
      gradCheck((x) => {
        const parts = split(x, axis, sizes);
        // the last piece unused when there are several: its gradient is zeros
        return concat(parts.length > 1 ? [parts[0], ...parts.slice(0, -1)] : parts, axis);
      }, [{ shape }], { seed });
    });
  });

  it('slice, pad and concat on the static axis of a symbolic batch', () => {
    check(fc.tuple(fc.integer({ min: 1, max: 3 }), seedArb), ([b, seed]) => {
      const spec = { shape: [b, 4], declared: ['batch', 4] as Dim[] };
      gradCheck((x) => concat([pad(slice(x, 1, 1, 3), [0, 2], [0, 1]), x], 1), [spec], { seed });
    }, 5);
  });

  it('splitRows / concatRows by run-time sizes, with an empty piece and a piece left unused', () => {
    for (const sizes of [[2, 0, 3], [0, 5, 0], [1, 1, 3]]) {
      gradCheck((x, n) => {
        const [a, b, c] = splitRows(x, n);
        return concatRows(n, [exp(a), mul(b, b), c], x.shape[0]);
      }, [{ shape: [5, 2] }, { shape: [3], dtype: 'i64', gen: sizes }]);
      gradCheck((x, n) => {
        const [a, b] = splitRows(x, n); // the last piece unused: its gradient is zeros
        return add(reduceSum(mul(a, a), 0), reduceSum(exp(b), 0));
      }, [{ shape: [5, 2] }, { shape: [3], dtype: 'i64', gen: sizes }]);
    }
  });

  it('concat of a value with itself', () => {
    gradCheck((x, y) => concat([x, y, x], 1), [{ shape: [2, 1] }, { shape: [2, 3] }]);
  });

  it('broadcastLike sums the gradient back; the template gets none', () => {
    check(fc.tuple(broadcastPairArb(), seedArb), ([[sx, sl], seed]) => {
      gradCheck((x, like) => broadcastLike(x, like), [{ shape: sx }, { shape: sl }], { seed });
    });
    gradCheck((x, like) => broadcastLike(x, like), [{ shape: [3, 1] }, { shape: [2, 3, 4] }]);
  });

  it('expand to a static shape', () => {
    check(fc.tuple(broadcastPairArb(), seedArb), ([[sx, sy], seed]) => {
      const target = sy.length > sx.length ? sy.map((d, i) => Math.max(d, sx[i - (sy.length - sx.length)] ?? 1)) : sx.map((d, i) => Math.max(d, sy[i - (sx.length - sy.length)] ?? 1));
      gradCheck((x) => expand(x, target), [{ shape: sx }], { seed });
    });
    gradCheck((x) => expand(x, [2, 3, 4]), [{ shape: [3, 1] }]);
  });
});

it('checks every layout op with a gradient rule', () => {
  expect(GRAD_FAMILIES.layout.filter((op) => !checkedOps.has(op))).toEqual([]);
});
