import { describe, expect, it } from 'vitest';
import {
  add, backward, broadcastShapes, concat, exp, factorShape, gatherElements, type Graph, layerNorm, logSoftmax, loop, matmul, oneHot, pad, reduceMean,
  reduceSum, relu, reshape, scatterNDAdd, slice, type Tensor, topk, trace, transpose, withScope,
} from '../../src/core/index.ts';
import { refTensor, runReference } from '../../src/runtime/reference/index.ts';
import { expectCode } from '../expect-error.ts';


/** Traces `fn` over an f32 input x of `shape` (and i64 input i of shape [2]) and expects it to throw. */
function rejects(shape: (number | string)[], fn: (x: Tensor, g: Graph) => unknown, code: string, re?: RegExp): void {
  trace((g) => {
    const x = g.input('x', 'f32', shape);
    expectCode(() => fn(x, g), code, re);
    return { x };
  });
}

describe('shape rules reject bad graphs', () => {
  it('broadcast mismatch names the op and both shapes', () => {
    rejects([2, 3], (x, g) => add(x, g.input('y', 'f32', [4])), 'E_SHAPE', /^add: shapes \[2, 3\] and \[4\] do not broadcast/);
    rejects(['batch', 3], (x, g) => add(x, g.input('y', 'f32', [2, 3])), 'E_SHAPE', /batch vs 2/);
  });
  it('dtype mismatch in add', () => {
    rejects([2], (x, g) => add(x, g.input('i', 'i64', [2])), 'E_DTYPE', /right operand has dtype i64, expected f32/);
    rejects([2], (x, g) => matmul(g.input('i', 'i64', [2, 2]), x), 'E_DTYPE');
  });
  it('bad reshapes', () => {
    rejects([2, 3], (x) => reshape(x, [4, 2]), 'E_SHAPE', /cannot reshape \[2, 3\]/);
    rejects([2, 3], (x) => reshape(x, [-1, -1]), 'E_SHAPE', /more than one -1/);
    rejects([2, 3], (x) => reshape(x, [-1, 4]), 'E_SHAPE');
    rejects([2, 3], (x) => reshape(x, [-2, -3]), 'E_SHAPE', /invalid dimension/);
    rejects(['batch', 6], (x) => reshape(x, ['seq', -1]), 'E_SHAPE', /symbol 'seq' is not in the input/);
    rejects(['batch', 6], (x) => reshape(x, [-1, 4]), 'E_SHAPE');
    rejects(['batch', 6], (x) => reshape(x, [6, 'batch', 2]), 'E_SHAPE');
  });
  it('bad transpose permutations', () => {
    rejects([2, 3], (x) => transpose(x, [0, 0]), 'E_SHAPE', /permutation \[0,0\] does not fit rank 2/);
    rejects([2, 3], (x) => transpose(x, [1, 0, 2]), 'E_SHAPE');
  });
  it('bad slice bounds', () => {
    rejects([4, 3], (x) => slice(x, 0, 3, 2), 'E_SHAPE', /slice \[3:2\] is outside axis 0 of size 4/);
    rejects([4, 3], (x) => slice(x, 1, 5), 'E_SHAPE');
    rejects([4, 3], (x) => slice(x, 2, 0, 1), 'E_SHAPE', /axis 2 is out of range/);
    rejects(['batch', 3], (x) => slice(x, 0, 0, 1), 'E_SHAPE', /symbolic dimension 'batch'/);
  });
  it('bad pads', () => {
    rejects([2, 3], (x) => pad(x, [1], [1]), 'E_SHAPE', /pad widths/);
    rejects([2, 3], (x) => pad(x, [-1, 0], [0, 0]), 'E_SHAPE');
    rejects(['batch', 3], (x) => pad(x, [1, 0], [0, 0]), 'E_SHAPE', /symbolic/);
  });
  it('concat mismatches', () => {
    rejects([2, 3], (x, g) => concat([x, g.input('y', 'f32', [3, 3])], 1), 'E_SHAPE', /cannot concat f32\[2, 3\], f32\[3, 3\] on axis 1/);
    rejects([2, 3], (x, g) => concat([x, g.input('y', 'f32', [2, 3, 1])], 0), 'E_SHAPE');
    rejects([2, 3], (x, g) => concat([x, g.input('i', 'i64', [2, 3])], 0), 'E_SHAPE');
    rejects(['batch', 3], (x) => concat([x, x], 0), 'E_SHAPE', /symbolic dimension 'batch'/);
  });
  it('topk with k too big or too small', () => {
    rejects([2, 3], (x) => topk(x, 4), 'E_SHAPE', /top-k with k=4 on an axis of size 3/);
    rejects([2, 3], (x) => topk(x, 0, 0), 'E_SHAPE');
  });
  it('other rules: matmul rank and inner dims, layer norm sizes, reductions, indices, loops', () => {
    rejects([3], (x, g) => matmul(x, g.input('w', 'f32', [3, 2])), 'E_SHAPE', /rank >= 2/);
    rejects([2, 3], (x, g) => matmul(x, g.input('w', 'f32', [4, 2])), 'E_SHAPE', /inner dims 3 vs 4/);
    rejects([2, 4], (x, g) => layerNorm(x, g.input('w', 'f32', [3]), g.input('b', 'f32', [4])), 'E_SHAPE', /weight has shape \[3\], expected \[4\]/);
    rejects([2, 3], (x) => reduceSum(x, [0, -2]), 'E_SHAPE', /repeated axis/);
    rejects([2, 3], (x) => reduceSum(x, 2), 'E_SHAPE', /out of range/);
    rejects([2, 3], (x, g) => gatherElements(x, g.input('i', 'i64', [2]), 1), 'E_SHAPE', /rank of data/);
    rejects([2, 3], (x, g) => gatherElements(x, g.input('i', 'f32', [2, 1]), 1), 'E_DTYPE');
    rejects([2, 3], (x, g) => scatterNDAdd(x, g.input('i', 'i64', [4, 1]), g.input('u', 'f32', [4, 2])), 'E_SHAPE', /should be \[4, 3\]/);
    rejects([2], (x, g) => oneHot(g.input('i', 'i64', [2]), 0), 'E_SHAPE');
    rejects([2], (x) => loop(2, [x], (_i, c) => ({ carried: [reduceSum(c)], scans: [] })), 'E_SHAPE', /carried value 0/);
  });
  it('errors inside nested scopes name the module path', () => {
    rejects([2, 3], (x, g) => withScope('encoder', () => withScope('proj', () => add(x, g.input('b', 'f32', [5])))), 'E_SHAPE', /^encoder\.proj: add:/);
  });
  it('tracing errors: ops outside a trace, mixed traces, duplicate inputs', () => {
    let outer: Tensor | undefined;
    trace((g) => (outer = g.input('x', 'f32', [2])));
    expectCode(() => exp(outer!), 'E_TRACE');
    rejects([2], (x) => add(x, outer!), 'E_GRAPH');
    rejects([2], (_x, g) => g.input('x', 'f32', [2]), 'E_GRAPH', /declared twice/);
  });
});

describe('symbolic dimensions', () => {
  it('broadcasting and factoring helpers', () => {
    expect(broadcastShapes(['batch', 1], [1, 'seq'], 'w')).toEqual(['batch', 'seq']);
    expect(factorShape(['batch', 4, '2*seq'])).toEqual({ coeff: 8, syms: ['batch', 'seq'] });
  });

  it('a symbolic batch flows through an MLP, its loss and its gradients', () => {
    const g = trace((g) => {
      const x = g.input('x', 'f32', ['batch', 6]);
      const labels = g.input('labels', 'i64', ['batch', 1]);
      const w1 = g.input('w1', 'f32', [6, 5]);
      const b1 = g.input('b1', 'f32', [5]);
      const w2 = g.input('w2', 'f32', [5, 3]);
      const h = relu(add(matmul(x, w1), b1));
      const logits = matmul(h, w2);
      expect(h.shape).toEqual(['batch', 5]);
      expect(logits.shape).toEqual(['batch', 3]);
      const loss = reduceMean(gatherElements(logSoftmax(logits), labels, 1));
      expect(loss.shape).toEqual([]);
      const [dx, dw1, db1] = backward(loss, [x, w1, b1]);
      expect(dx.shape).toEqual(['batch', 6]);
      expect(dw1.shape).toEqual([6, 5]);
      expect(db1.shape).toEqual([5]);
      return { loss, logits, dx, dw1 };
    });
    for (const batch of [1, 4]) {
      const feeds = {
        x: refTensor(Array.from({ length: batch * 6 }, (_, i) => Math.sin(i)), [batch, 6]),
        labels: refTensor(Array.from({ length: batch }, (_, i) => i % 3), [batch, 1], 'i64'),
        w1: refTensor(Array.from({ length: 30 }, (_, i) => Math.cos(i)), [6, 5]),
        b1: refTensor([0.1, 0.2, 0.3, 0.4, 0.5], [5]),
        w2: refTensor(Array.from({ length: 15 }, (_, i) => Math.sin(2 * i)), [5, 3]),
      };
      const out = runReference(g, feeds);
      expect(out.logits.shape).toEqual([batch, 3]);
      expect(out.dx.shape).toEqual([batch, 6]);
      expect(Number.isFinite(out.loss.data[0])).toBe(true);
    }
  });

  it('reshape to [-1, C] and back keeps the symbols', () => {
    const g = trace((g) => {
      const x = g.input('x', 'f32', ['batch', 'seq', 4]);
      const flat = reshape(x, [-1, 4]);
      expect(flat.shape).toEqual(['batch*seq', 4]);
      const y = reshape(exp(flat), ['batch', 'seq', 4]);
      expect(y.shape).toEqual(['batch', 'seq', 4]);
      const z = reshape(x, ['batch', -1]);
      expect(z.shape).toEqual(['batch', '4*seq']);
      const w = reshape(reshape(x, [-1, 2, 2]), ['seq', 'batch', 4]);
      return { y, z, w, flat };
    });
    const x = refTensor(Array.from({ length: 24 }, (_, i) => i / 10), [2, 3, 4]);
    const out = runReference(g, { x });
    expect(out.flat.shape).toEqual([6, 4]);
    expect(out.y.shape).toEqual([2, 3, 4]);
    expect(out.z.shape).toEqual([2, 12]);
    expect(out.w.shape).toEqual([3, 2, 4]);
    expect([...out.y.data]).toEqual([...x.data].map(Math.exp));
  });

  it('reshape [batch, 3, 4] -> [-1, 4] infers 3*batch', () => {
    trace((g) => {
      const x = g.input('x', 'f32', ['batch', 3, 4]);
      const y = reshape(x, [-1, 4]);
      expect(y.shape).toEqual(['3*batch', 4]);
      expect(reshape(y, ['batch', 12]).shape).toEqual(['batch', 12]);
      return { y };
    });
  });

  it('a symbolic dim that cannot broadcast against a number is rejected', () => {
    rejects(['batch', 3], (x, g) => matmul(x, g.input('w', 'f32', ['seq', 3])), 'E_SHAPE', /inner dims 3 vs seq/);
  });
});
