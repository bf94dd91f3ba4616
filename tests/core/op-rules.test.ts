import { describe, expect, it } from 'vitest';
import {
  argmax, backward, layerNorm, logSoftmax, matmul, reduceMax, reduceMean, reduceSum, softmax, type Tensor, trace,
} from '../../src/core/index.ts';
import { refTensor, runReference } from '../../src/runtime/reference/index.ts';
import { expectRejects, input, inTrace, typeOf } from './rules.ts';

/** The ops `fn` appends to the current graph of `t`. */
function opsAdded(t: Tensor, fn: () => unknown): string[] {
  const before = t.graph.nodes.length;
  fn();
  return t.graph.nodes.slice(before).map((n) => n.op);
}

describe('matmul rules', () => {
  it('operands are f32 matrices (rank >= 2) with matching inner dims', () => {
    inTrace((g) => {
      const a = input(g, 'a', [2, 3]);
      const cast = /^cast the value first/;
      expectRejects(() => matmul(input(g, 'ai', [2, 3], 'i64'), input(g, 'b', [3, 2])), 'E_DTYPE',
        /^matmul: left operand has dtype i64, expected f32$/, cast);
      expectRejects(() => matmul(a, input(g, 'bi', [3, 2], 'i64')), 'E_DTYPE',
        /^matmul: right operand has dtype i64, expected f32$/, cast);
      const vectors = /^reshape vectors to \[1, n\] or \[n, 1\]$/;
      expectRejects(() => matmul(a, input(g, 'v', [3])), 'E_SHAPE',
        /^matmul: matmul needs rank >= 2, got f32\[2, 3\] and f32\[3\]$/, vectors);
      expectRejects(() => matmul(input(g, 'u', [3]), input(g, 'm', [3, 2])), 'E_SHAPE',
        /got f32\[3\] and f32\[3, 2\]/, vectors);
      expect(typeOf(matmul(input(g, 'bat', ['b', 1, 2, 3]), input(g, 'w',
        [4, 3, 5])))).toEqual({ dtype: 'f32', shape: ['b', 4, 2, 5] });
    });
  });

  it('weight gradient: one flattened GEMM for a batched left operand and a matrix right operand, else a plain product',
    () => {
    inTrace((g) => {
      const a3 = input(g, 'a3', [2, 2, 3]);
      const a2 = input(g, 'a2', [2, 3]);
      const w = input(g, 'w', [3, 4]);
      const y3 = reduceSum(matmul(a3, w));
      const flat = opsAdded(w, () => backward(y3, [w]));
      expect(flat.filter((op) => op === 'reshape').length).toBeGreaterThanOrEqual(2);
      expect(flat).not.toContain('reduceSum');
      const y2 = reduceSum(matmul(a2, w));
      const plain = opsAdded(w, () => backward(y2, [w]));
      expect(plain.filter((op) => op === 'matmul')).toHaveLength(1);
      expect(plain.filter((op) => op === 'reshape').length).toBeLessThan(flat.filter((op) => op === 'reshape').length);
      // Only the left operand wanted: one product, no gradient of the weight.
      const left = opsAdded(a2, () => backward(y2, [a2]));
      expect(left.filter((op) => op === 'matmul')).toHaveLength(1);
    });
  });

  it('the flattened weight gradient is right (float64 reference)', () => {
    const graph = trace((g) => {
      const a = g.input('a', 'f32', [2, 2, 2]);
      const w = g.input('w', 'f32', [2, 1]);
      const [gw] = backward(reduceSum(matmul(a, w)), [w]);
      return { gw };
    });
    const out = runReference(graph, { a: refTensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]), w: refTensor([1, 1],
      [2, 1]) });
    expect(out.gw.shape).toEqual([2, 1]);
    expect([...out.gw.data]).toEqual([16, 20]);
  });
});

describe('reduction rules', () => {
  it('axes are in range and listed once; messages name the op', () => {
    inTrace((g) => {
      const x = input(g, 'x', [2, 3]);
      expectRejects(() => reduceSum(x, [1, -1]), 'E_SHAPE', /^reduceSum: repeated axis in \[1,1\]$/,
        /^list each axis once$/);
      expectRejects(() => reduceMax(x, 2), 'E_SHAPE', /^reduce: axis 2 is out of range for rank 2$/,
        /^use an axis in \[-2, 1\]$/);
      expectRejects(() => argmax(x, 5), 'E_SHAPE', /^argmax: axis 5 is out of range for rank 2$/, /axis in/);
      expectRejects(() => reduceMean(input(g, 'i', [2], 'i64')), 'E_DTYPE',
        /reduceMean: input has dtype i64, expected f32$/, /cast/);
    });
  });

  it('defaults: reduceMax and argmax drop the axis; argmax takes the last axis; i64 inputs are fine', () => {
    inTrace((g) => {
      const x = input(g, 'x', [2, 3, 4]);
      expect(typeOf(reduceMax(x, 1))).toEqual({ dtype: 'f32', shape: [2, 4] });
      expect(typeOf(reduceMax(x, 1, true))).toEqual({ dtype: 'f32', shape: [2, 1, 4] });
      expect(typeOf(argmax(x))).toEqual({ dtype: 'i64', shape: [2, 3] });
      expect(typeOf(argmax(x, 0, true))).toEqual({ dtype: 'i64', shape: [1, 3, 4] });
      const i = input(g, 'i', [2, 3], 'i64');
      expect(typeOf(reduceMax(i, 0))).toEqual({ dtype: 'i64', shape: [3] });
      expect(typeOf(argmax(i))).toEqual({ dtype: 'i64', shape: [2] });
      expect(typeOf(reduceSum(i))).toEqual({ dtype: 'i64', shape: [] });
    });
  });
});

describe('softmax and layer norm rules', () => {
  it('softmax and logSoftmax default to the last axis and check it', () => {
    inTrace((g) => {
      const x = input(g, 'x', [2, 3, 4]);
      expect(softmax(x).node!.attrs.axis).toBe(2);
      expect(logSoftmax(x).node!.attrs.axis).toBe(2);
      expect(typeOf(softmax(x, 0))).toEqual({ dtype: 'f32', shape: [2, 3, 4] });
      expectRejects(() => softmax(x, 3), 'E_SHAPE', /^softmax: axis 3 is out of range for rank 3$/, /axis in/);
      expectRejects(() => logSoftmax(x, -4), 'E_SHAPE', /^logSoftmax: axis -4 is out of range for rank 3$/, /axis in/);
      expectRejects(() => softmax(input(g, 'i', [2], 'i64')), 'E_DTYPE', /^softmax: input has dtype i64/, /cast/);
    });
  });

  it('softmax values (float64 reference)', () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [2, 2]);
      return { s: softmax(x), l: logSoftmax(x, 0) };
    });
    const out = runReference(graph, { x: refTensor([0, Math.log(3), 1, 1], [2, 2]) });
    expect([...out.s.data].map((v) => Number(v.toFixed(12)))).toEqual([0.25, 0.75, 0.5, 0.5]);
    const l = [...out.l.data];
    expect(Math.exp(l[0]) + Math.exp(l[2])).toBeCloseTo(1, 12);
    expect(l[0] - l[2]).toBeCloseTo(-1, 12);
  });

  it('layer norm weight and bias are vectors of the last dim', () => {
    inTrace((g) => {
      const x = input(g, 'x', [2, 4]);
      const b = input(g, 'b', [4]);
      const hint = /^the norm size must equal the last dim of the input$/;
      expectRejects(() => layerNorm(x, input(g, 'w', [4, 4]), b), 'E_SHAPE',
        /^layerNorm: layer norm weight has shape \[4,4\], expected \[4\]$/, hint);
      expectRejects(() => layerNorm(x, b, input(g, 'bb', [4, 1])), 'E_SHAPE',
        /layer norm bias has shape \[4,1\], expected \[4\]/, hint);
      expect(typeOf(layerNorm(x, b, b))).toEqual({ dtype: 'f32', shape: [2, 4] });
    });
  });
});
