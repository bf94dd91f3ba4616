import { describe, expect, it } from 'vitest';
import {
  apply1, broadcastLike, concat, concatRows, factorShape, pad, reshape, slice, split, splitRows, squeeze, transpose,
  unsqueeze,
} from '../../src/core/index.ts';
import { broadcastShapes, isStatic, normAxis, sameShape, sizeOf } from '../../src/core/shape.ts';
import { expectRejects, input, inTrace, typeOf } from './rules.ts';

describe('shape helpers', () => {
  it('isStatic, sizeOf and sameShape', () => {
    expect(isStatic([2, 3])).toBe(true);
    expect(isStatic([])).toBe(true);
    expect(isStatic([2, 'b'])).toBe(false);
    expect(sizeOf([2, 3, 4])).toBe(24);
    expectRejects(() => sizeOf([2, 'b']), 'E_SHAPE', /^shape \[2, b\] is not static$/,
      /^this operation needs concrete sizes; bind the symbolic dimension first$/);
    expect(sameShape([2, 'b'], [2, 'b'])).toBe(true);
    expect(sameShape([2, 3], [2, 4])).toBe(false);
    expect(sameShape([2, 3], [3, 3])).toBe(false);
    expect(sameShape([2, 3], [2, 3, 1])).toBe(false);
  });

  it('normAxis accepts [-rank, rank - 1] and names the place otherwise', () => {
    expect(normAxis(-3, 3, 'w')).toBe(0);
    expect(normAxis(2, 3, 'w')).toBe(2);
    for (const axis of [3, -4, 1.5]) {
      expectRejects(() => normAxis(axis, 3, 'where'), 'E_SHAPE',
        new RegExp(`^where: axis ${axis} is out of range for rank 3$`), /^use an axis in \[-3, 2\]$/);
    }
  });

  it('broadcastShapes: equal dims or 1; the hint says so', () => {
    expect(broadcastShapes([2, 1, 'b'], [3, 1], 'w')).toEqual([2, 3, 'b']);
    expectRejects(() => broadcastShapes([2, 3], [4], 'add'), 'E_SHAPE',
      /^add: shapes \[2, 3\] and \[4\] do not broadcast \(dim 1: 3 vs 4\)$/,
      /^check the layer sizes; broadcasting needs equal dims or 1$/);
  });

  it('factorShape splits numeric factors from symbols, sorted', () => {
    expect(factorShape([2, '12*b', 'a'])).toEqual({ coeff: 24, syms: ['a', 'b'] });
    expect(factorShape(['2b', 'z*a'])).toEqual({ coeff: 1, syms: ['2b', 'a', 'z'] });
  });
});

describe('reshape', () => {
  it('infers -1, symbolic products included', () => {
    inTrace((g) => {
      const x = input(g, 'x', ['b', 6]);
      expect(typeOf(reshape(x, [-1]))).toEqual({ dtype: 'f32', shape: ['6*b'] });
      expect(typeOf(reshape(x, [6, -1]))).toEqual({ dtype: 'f32', shape: [6, 'b'] });
      expect(typeOf(reshape(x, ['b', 2, -1]))).toEqual({ dtype: 'f32', shape: ['b', 2, 3] });
      expect(typeOf(reshape(input(g, 'z', [0, 3]), [0, 7]))).toEqual({ dtype: 'f32', shape: [0, 7] });
      expect(typeOf(reshape(input(g, 'i', [2, 3], 'i64'), [3, 2]))).toEqual({ dtype: 'i64', shape: [3, 2] });
    });
  });

  it('returns the same tensor only for the same shape', () => {
    inTrace((g) => {
      const x = input(g, 'x', [2, 3, 4]);
      expect(reshape(x, [2, 3, 4])).toBe(x);
      const y = reshape(x, [2, 4, 3]);
      expect(y).not.toBe(x);
      expect(y.shape).toEqual([2, 4, 3]);
      expect(reshape(x, [2, 3, 4, 1]).shape).toEqual([2, 3, 4, 1]);
    });
  });

  it('rejects bad targets with a message and a hint', () => {
    inTrace((g) => {
      const x = input(g, 'x', [2, 3]);
      expectRejects(() => reshape(x, [-1, -1]), 'E_SHAPE', /^reshape: reshape target \[-1, -1\] has more than one -1$/,
        /^leave at most one dimension to be inferred$/);
      expectRejects(() => reshape(x, [2.5, -1]), 'E_SHAPE',
        /^reshape: reshape target \[2.5, -1\] has an invalid dimension$/, /^use sizes >= 0, symbols, or one -1$/);
      const counts = /^the element counts must match$/;
      expectRejects(() => reshape(x, [4, 2]), 'E_SHAPE',
        /^reshape: cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]$/, counts);
      expectRejects(() => reshape(x, [3]), 'E_SHAPE', /cannot reshape \[2, 3\] \(6 elements\) to \[3\]/, counts);
      expectRejects(() => reshape(x, [0, -1]), 'E_SHAPE', /to \[0, -1\]/, counts);
      const s = input(g, 's', ['b', 6]);
      expectRejects(() => reshape(s, [6]), 'E_SHAPE',
        /^reshape: cannot reshape \[b, 6\] \(6\*b elements\) to \[6\]$/, counts);
      expectRejects(() => reshape(s, [-1, 4]), 'E_SHAPE', /\(6\*b elements\) to \[-1, 4\]/, counts);
      expectRejects(() => reshape(s, ['seq', -1]), 'E_SHAPE',
        /^reshape: cannot reshape \[b, 6\] to \[seq, -1\]: symbol 'seq' is not in the input$/,
        /^reshape with -1 or the input's own dimensions$/);
    });
  });
});

describe('transpose, slice, pad', () => {
  it('transpose hint lists the permutation range', () => {
    inTrace((g) => {
      const x = input(g, 'x', [2, 3]);
      expectRejects(() => transpose(x, [1, 1]), 'E_SHAPE', /^transpose: permutation \[1,1\] does not fit rank 2$/,
        /^give a permutation of 0\.\.1$/);
    });
  });

  it('slice bounds: 0 <= start < end <= size', () => {
    inTrace((g) => {
      const x = input(g, 'x', [4, 3]);
      const hint = /^use 0 <= start < end <= size$/;
      const raw = (start: number, end: number) => apply1('slice', [x], { axes: [0], starts: [start], ends: [end] });
      expectRejects(() => raw(-1, 2), 'E_SHAPE', /^slice: slice \[-1:2\] is outside axis 0 of size 4$/, hint);
      expectRejects(() => raw(0, 5), 'E_SHAPE', /slice \[0:5\] is outside axis 0 of size 4/, hint);
      expectRejects(() => raw(2, 2), 'E_SHAPE', /slice \[2:2\]/, hint);
      expect(typeOf(raw(0, 4))).toEqual({ dtype: 'f32', shape: [4, 3] });
      expectRejects(() => slice(x, 0, 0, 0), 'E_SHAPE', /slice \[0:0\] is outside axis 0/, hint);
      expect(typeOf(slice(x, 0, -3, -1))).toEqual({ dtype: 'f32', shape: [2, 3] });
      expect(typeOf(slice(x, -1, 1, 9))).toEqual({ dtype: 'f32', shape: [4, 2] });
      expectRejects(() => slice(x, 2, 0), 'E_SHAPE', /^slice: axis 2 is out of range for rank 2$/, /axis in/);
      expectRejects(() => slice(input(g, 's', ['b', 3]), 0, 0, 1), 'E_SHAPE',
        /^slice: cannot slice symbolic dimension 'b' \(axis 0\)$/,
        /^slice static dimensions only$/);
    });
  });

  it('pad widths: one non-negative integer per axis; symbolic dims only unpadded', () => {
    inTrace((g) => {
      const x = input(g, 'x', [2, 3]);
      expectRejects(() => pad(x, [0, 1], [1]), 'E_SHAPE', /^pad: pad widths \[0,1\] \/ \[1\] do not fit f32\[2, 3\]$/,
        /^give 2 non-negative integers before and after$/);
      const s = input(g, 's', ['b', 3]);
      expectRejects(() => pad(s, [0, 0], [1, 0]), 'E_SHAPE', /^pad: cannot pad symbolic dimension 'b'$/,
        /^pad static dimensions only$/);
      expect(typeOf(pad(s, [0, 1], [0, 2]))).toEqual({ dtype: 'f32', shape: ['b', 6] });
    });
  });
});

describe('concat, broadcastLike, squeeze, unsqueeze', () => {
  it('concat needs inputs of the same dtype and rank, equal off the axis, static on it', () => {
    inTrace((g) => {
      expectRejects(() => apply1('concat', [], { axis: 0 }), 'E_SHAPE', /^concat: concat of nothing$/,
        /^pass at least one tensor$/);
      const x = input(g, 'x', [2, 3, 1]);
      const hint = /^all inputs need the same dtype and the same dims except the concat axis$/;
      expectRejects(() => concat([x, input(g, 'y', [2, 3])], 0), 'E_SHAPE',
        /^concat: cannot concat f32\[2, 3, 1\], f32\[2, 3\] on axis 0$/, hint);
      expectRejects(() => concat([x, input(g, 'i', [2, 3, 1], 'i64')], 0), 'E_SHAPE',
        /cannot concat f32\[2, 3, 1\], i64\[2, 3, 1\] on axis 0/, hint);
      expect(typeOf(concat([x, input(g, 'z', [2, 5, 1])], 1))).toEqual({ dtype: 'f32', shape: [2, 8, 1] });
      expect(concat([x])).toBe(x);
      const s = input(g, 's', ['b', 3]);
      expectRejects(() => concat([s, s], 0), 'E_SHAPE', /^concat: cannot concat along symbolic dimension 'b'$/,
        /^concat along static dimensions$/);
    });
  });

  it('broadcastLike returns the same tensor only when the shapes are equal', () => {
    inTrace((g) => {
      const x = input(g, 'x', [1, 3]);
      const like = input(g, 'like', [2, 3]);
      expect(broadcastLike(like, like)).toBe(like);
      const y = broadcastLike(x, like);
      expect(y).not.toBe(x);
      expect(y.shape).toEqual([2, 3]);
      expect(broadcastLike(input(g, 'v', [3]), like).shape).toEqual([2, 3]);
      const same = input(g, 'same', [2, 3]);
      expect(broadcastLike(same, like)).toBe(same);
    });
  });

  it('squeeze only size-1 axes; unsqueeze at 0, the end and negative axes', () => {
    inTrace((g) => {
      const x = input(g, 'x', [2, 1, 3]);
      expect(typeOf(squeeze(x, 1))).toEqual({ dtype: 'f32', shape: [2, 3] });
      expect(typeOf(squeeze(x, -2))).toEqual({ dtype: 'f32', shape: [2, 3] });
      expectRejects(() => squeeze(x, 2), 'E_SHAPE', /^squeeze: axis 2 of f32\[2, 1, 3\] has size 3, not 1$/,
        /^squeeze only size-1 axes$/);
      expectRejects(() => squeeze(x, 3), 'E_SHAPE', /^squeeze: axis 3 is out of range for rank 3$/, /axis in/);
      expect(unsqueeze(x, 0).shape).toEqual([1, 2, 1, 3]);
      expect(unsqueeze(x, 3).shape).toEqual([2, 1, 3, 1]);
      expect(unsqueeze(x, -1).shape).toEqual([2, 1, 3, 1]);
      expect(unsqueeze(x, -4).shape).toEqual([1, 2, 1, 3]);
    });
  });
});

describe('split, splitRows, concatRows', () => {
  it('split sizes are positive integers that add up to a static axis', () => {
    inTrace((g) => {
      const x = input(g, 'x', [2, 3]);
      expect(split(x, -1, [1, 2]).map(typeOf)).toEqual([{ dtype: 'f32', shape: [2, 1] },
        { dtype: 'f32', shape: [2, 2] }]);
      expect(split(x, 0, [2]).map(typeOf)).toEqual([{ dtype: 'f32', shape: [2, 3] }]);
      const hint = /^give positive sizes that sum to the \(static\) axis length$/;
      for (const sizes of [[1, 1], [0, 3], [-1, 4], [1.5, 1.5], [1, 2, 1]]) {
        expectRejects(() => split(x, 1, sizes), 'E_SHAPE',
          new RegExp(`^split: split sizes \\[${sizes}\\] do not add up to axis 1 of f32\\[2, 3\\]$`), hint);
      }
      expectRejects(() => split(input(g, 's', ['b', 3]), 0, [1, 1]), 'E_SHAPE',
        /split sizes \[1,1\] do not add up to axis 0 of f32\[b, 3\]/, hint);
      expectRejects(() => split(x, 2, [1]), 'E_SHAPE', /^split: axis 2 is out of range for rank 2$/, /axis in/);
    });
  });

  it('splitRows needs an i64 vector of static length and data of rank >= 1', () => {
    inTrace((g) => {
      const x = input(g, 'x', [6, 4]);
      const sizes = input(g, 'sizes', [2], 'i64');
      const pieces = splitRows(x, sizes);
      expect(pieces).toHaveLength(2);
      const names = pieces.map((p) => p.shape[0]);
      for (const d of names) expect(d).toMatch(/^\?rows\d+$/);
      expect(names[0]).not.toBe(names[1]);
      expect(pieces.map((p) => p.shape.slice(1))).toEqual([[4], [4]]);
      expect(typeOf(splitRows(input(g, 'v', [6]), sizes, [2, 4])[1])).toEqual({ dtype: 'f32', shape: [4] });
      const hint = /^pass one i64 row count per piece$/;
      expectRejects(() => splitRows(x, input(g, 'f', [2]), [2, 4]), 'E_SHAPE',
        /^splitRows: splitRows needs i64 sizes \[2\] and data of rank >= 1, got f32\[2\] and f32\[6, 4\]$/, hint);
      expectRejects(() => splitRows(x, input(g, 'm', [2, 1], 'i64'), [2, 4]), 'E_SHAPE',
        /got i64\[2, 1\] and f32\[6, 4\]/, hint);
      expectRejects(() => splitRows(x, sizes, [6]), 'E_SHAPE', /needs i64 sizes \[1\]/, hint);
      expectRejects(() => splitRows(input(g, 'scalar', []), sizes, [1, 1]), 'E_SHAPE',
        /got i64\[2\] and f32\[\]/, hint);
      expectRejects(() => splitRows(x, input(g, 'k', ['k'], 'i64')), 'E_SHAPE',
        /^splitRows: the number of pieces must be static, got i64\[k\]$/,
        /^use a sizes vector of static length$/);
    });
  });

  it('concatRows pieces agree after axis 0; sizes are i64, one per piece', () => {
    inTrace((g) => {
      const sizes = input(g, 'sizes', [2], 'i64');
      const a = input(g, 'a', [2, 3]);
      expect(typeOf(concatRows(sizes, [a, input(g, 'b', [5, 3])], 'n'))).toEqual({ dtype: 'f32', shape: ['n', 3] });
      const hint = /^all pieces need the same dtype and the same dims after axis 0$/;
      expectRejects(() => concatRows(sizes, [], 0), 'E_SHAPE', /^concatRows: cannot concatRows $/, hint);
      expectRejects(() => concatRows(sizes, [a, input(g, 'w', [2, 4])], 4), 'E_SHAPE',
        /^concatRows: cannot concatRows f32\[2, 3\], f32\[2, 4\]$/, hint);
      expectRejects(() => concatRows(sizes, [a, input(g, 'r', [2, 3, 1])], 4), 'E_SHAPE',
        /cannot concatRows f32\[2, 3\], f32\[2, 3, 1\]/, hint);
      expectRejects(() => concatRows(sizes, [a, input(g, 'i', [2, 3], 'i64')], 4), 'E_SHAPE',
        /cannot concatRows f32\[2, 3\], i64\[2, 3\]/, hint);
      const sizesHint = /^pass the sizes the pieces were split by$/;
      expectRejects(() => concatRows(input(g, 'f', [2]), [a, a], 4), 'E_SHAPE',
        /^concatRows: concatRows needs i64 sizes \[2\], got f32\[2\]$/, sizesHint);
      expectRejects(() => concatRows(sizes, [a], 2), 'E_SHAPE',
        /concatRows needs i64 sizes \[1\], got i64\[2\]/, sizesHint);
    });
  });
});
