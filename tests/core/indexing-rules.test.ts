/** Shape, dtype and attribute rules of the indexing ops: every check's code, message and hint, and boundaries. */
import { describe, expect, it } from 'vitest';
import {
  backward, cumsum, gather, gatherElements, gatherND, nonzero, oneHot, reduceSum, scatterElementsAdd,
  scatterNDAdd,
  type Tensor, topk, trace,
} from '../../src/core/index.ts';
import { refTensor, runReference } from '../../src/runtime/reference/index.ts';
import { expectCode } from '../expect-error.ts';

import { DTYPE_HINT, traced } from './rules.ts';

/** Expects `fn(x, i)` (x: f32 of `shape`, i: f32 [2] — the wrong dtype for indices) to fail on the indices dtype. */
function rejectsFloatIndices(op: string, fn: (x: Tensor, i: Tensor) => unknown, role = 'indices'): void {
  traced((g) => {
    const x = g.input('x', 'f32', [2, 3]);
    const i = g.input('i', 'f32', [2, 3]);
    expectCode(() => fn(x, i), 'E_DTYPE', new RegExp(`^${op}: ${role} has dtype f32, expected i64$`), DTYPE_HINT);
  });
}

describe('indexing ops reject bad indices', () => {
  it('indices must be i64', () => {
    rejectsFloatIndices('gather', (x, i) => gather(x, i));
    rejectsFloatIndices('gatherElements', (x, i) => gatherElements(x, i, 0));
    rejectsFloatIndices('gatherND', (x, i) => gatherND(x, i));
    rejectsFloatIndices('oneHot', (_x, i) => oneHot(i, 3));
  });
  it('axis errors name the op', () => {
    traced((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      const i = g.input('i', 'i64', [2, 3]);
      const range = /^use an axis in \[-2, 1\]$/;
      expectCode(() => gather(x, i, 2), 'E_SHAPE', /^gather: axis 2 is out of range for rank 2$/, range);
      expectCode(() => gatherElements(x, i, -3), 'E_SHAPE', /^gatherElements: axis -3 is out of range/, range);
      expectCode(() => scatterElementsAdd(x, i, x, 2), 'E_SHAPE', /^scatterElementsAdd: axis 2 is out/, range);
      expectCode(() => topk(x, 1, 2), 'E_SHAPE', /^topk: axis 2 is out of range/, range);
      expectCode(() => cumsum(x, 5), 'E_SHAPE', /^cumsum: axis 5 is out of range/, range);
    });
  });
  it('gatherElements: rank and dims outside the axis', () => {
    traced((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      expectCode(() => gatherElements(x, g.input('i1', 'i64', [2]), 0), 'E_SHAPE',
        /^gatherElements: indices \[2\] must have the rank of data \[2, 3\]$/, /^use indices of the same rank$/);
      expectCode(() => gatherElements(x, g.input('i2', 'i64', [3, 3]), 1), 'E_SHAPE',
        /^gatherElements: indices dim 0 is 3, data has 2$/, /^indices may not exceed the data outside the axis$/);
      // Larger than the data along the axis itself, smaller or equal elsewhere: fine.
      expect(gatherElements(x, g.input('i3', 'i64', [2, 5]), 1).shape).toEqual([2, 5]);
      expect(gatherElements(x, g.input('i4', 'i64', [1, 3]), 0).shape).toEqual([1, 3]);
      expect(gatherElements(x, g.input('i5', 'i64', [4, 2]), 0).shape).toEqual([4, 2]);
      // Symbolic dims are not compared.
      expect(gatherElements(x, g.input('i6', 'i64', ['n', 3]), 1).shape).toEqual(['n', 3]);
    });
  });
  it('scatterElementsAdd: updates must match the indices', () => {
    traced((g) => {
      const base = g.input('b', 'f32', [2, 3]);
      const idx = g.input('i', 'i64', [2, 2]);
      const hint = /^one update per index$/;
      expectCode(() => scatterElementsAdd(base, idx, g.input('u1', 'f32', [2, 3]), 1), 'E_SHAPE',
        /^scatterElementsAdd: updates \[2, 3\] must match indices \[2, 2\]$/, hint);
      expectCode(() => scatterElementsAdd(base, idx, g.input('u2', 'f32', [2]), 1),
        'E_SHAPE', /updates \[2\] must match/, hint);
      expectCode(() => scatterElementsAdd(base, idx, g.input('u3', 'f32', [2, 2, 1]), 1),
        'E_SHAPE', /updates \[2, 2, 1\]/, hint);
      const out = scatterElementsAdd(base, idx, g.input('u4', 'f32', [2, 2]), 1);
      expect([out.dtype, out.shape]).toEqual(['f32', [2, 3]]);
      const tall = g.input('i5', 'i64', [3, 1]);
      expectCode(() => scatterElementsAdd(base, tall, g.input('u5', 'f32', [3, 1]), 1), 'E_SHAPE',
        /indices dim 0 is 3, data has 2/);
    });
  });
  it('gatherND / scatterNDAdd: the index depth and the updates shape', () => {
    traced((g) => {
      const x = g.input('x', 'f32', [2, 3]);
      const hint = /^the last dim of indices addresses leading data dims$/;
      expectCode(() => gatherND(x, g.input('i1', 'i64', [1, 3])),
        'E_SHAPE', /^gatherND: index depth 3 exceeds data rank 2$/, hint);
      expectCode(() => gatherND(x, g.input('i2', 'i64', [1, 'q'])),
        'E_SHAPE', /^gatherND: index depth q exceeds data rank 2$/, hint);
      expect(gatherND(x, g.input('i3', 'i64', [4, 2])).shape).toEqual([4]);
      expect(gatherND(x, g.input('i4', 'i64', [4, 1])).shape).toEqual([4, 3]);
      const idx = g.input('i5', 'i64', [4, 1]);
      expectCode(() => scatterNDAdd(x, idx, g.input('u1', 'f32', [4, 2])), 'E_SHAPE',
        /^scatterNDAdd: updates \[4, 2\] should be \[4, 3\]$/,
        /^updates = indices\.shape\[:-1\] \+ data\.shape\[q:\]$/);
      expectCode(() => scatterNDAdd(x, idx, g.input('u2', 'f32', [4])), 'E_SHAPE', /updates \[4\] should be \[4, 3\]/);
      expectCode(() => scatterNDAdd(x, g.input('i6', 'i64', [1, 3]), x),
        'E_SHAPE', /^scatterNDAdd: index depth 3 exceeds/);
      expect(scatterNDAdd(x, idx, g.input('u3', 'f32', [4, 3])).shape).toEqual([2, 3]);
    });
  });
});

describe('topk, oneHot, cumsum, nonzero', () => {
  it('topk checks k against the axis: 1 <= k <= size', () => {
    traced((g) => {
      const x = g.input('x', 'f32', [2, 3, 4]);
      expectCode(() => topk(x, 0), 'E_SHAPE', /^topk: top-k with k=0 on an axis of size 4$/, /^use 1 <= k <= 4$/);
      expectCode(() => topk(x, 5), 'E_SHAPE', /k=5 on an axis of size 4/, /^use 1 <= k <= 4$/);
      // The default axis is the last one.
      const [v, i] = topk(x, 4);
      expect([v.dtype, v.shape, i.dtype, i.shape]).toEqual(['f32', [2, 3, 4], 'i64', [2, 3, 4]]);
      expect(topk(x, 1)[0].shape).toEqual([2, 3, 1]);
      expect(topk(x, 3, 1)[1].shape).toEqual([2, 3, 4]);
      expect(topk(g.input('s', 'f32', [2, 'n']), 7)[0].shape).toEqual([2, 7]);
    });
  });
  it('topk takes the largest values by default', () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [4]);
      const [big] = topk(x, 2);
      const [small] = topk(x, 2, 0, false);
      return { big, small };
    });
    const out = runReference(graph, { x: refTensor([3, 9, 1, 5], [4]) });
    expect([...out.big.data]).toEqual([9, 5]);
    expect([...out.small.data]).toEqual([1, 3]);
  });
  it('oneHot needs a positive integer depth and appends it as the last f32 axis', () => {
    traced((g) => {
      const i = g.input('i', 'i64', [2, 3]);
      const hint = /^use the number of classes$/;
      expectCode(() => oneHot(i, 0), 'E_SHAPE', /^oneHot: one-hot depth 0 is not a positive integer$/, hint);
      expectCode(() => oneHot(i, -2), 'E_SHAPE', /depth -2 is not/, hint);
      expectCode(() => oneHot(i, 2.5), 'E_SHAPE', /depth 2\.5 is not/, hint);
      const one = oneHot(i, 1);
      expect([one.dtype, one.shape]).toEqual(['f32', [2, 3, 1]]);
      expect(oneHot(i, 4).shape).toEqual([2, 3, 4]);
    });
  });
  it('cumsum takes f32 or i64 and defaults to an inclusive forward sum', () => {
    traced((g) => {
      expectCode(() => cumsum(g.input('b', 'bool', [3]), 0),
        'E_DTYPE', /^cumsum: input has dtype bool, expected f32 or i64$/, DTYPE_HINT);
      const n = cumsum(g.input('n', 'i64', [2, 3]), -1);
      expect([n.dtype, n.shape]).toEqual(['i64', [2, 3]]);
    });
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [3]);
      return { plain: cumsum(x, 0), excl: cumsum(x, 0, true), rev: cumsum(x, 0, false, true) };
    });
    const out = runReference(graph, { x: refTensor([1, 2, 3], [3]) });
    expect([...out.plain.data]).toEqual([1, 3, 6]);
    expect([...out.excl.data]).toEqual([0, 1, 3]);
    expect([...out.rev.data]).toEqual([6, 5, 3]);
  });
  it('nonzero takes a 1-d bool mask and returns a fresh ?nz dim each call', () => {
    traced((g) => {
      expectCode(() => nonzero(g.input('f', 'f32', [3])),
        'E_DTYPE', /^nonzero: mask has dtype f32, expected bool$/, DTYPE_HINT);
      expectCode(() => nonzero(g.input('m2', 'bool', [2, 2])),
        'E_SHAPE', /^nonzero: nonzero takes a 1-d mask, got bool\[2, 2\]$/,
        /^flatten the mask first$/);
      const m = g.input('m', 'bool', [4]);
      const a = nonzero(m);
      const b = nonzero(m);
      expect(a.dtype).toBe('i64');
      expect(String(a.shape[0])).toMatch(/^\?nz[1-9]\d*$/);
      expect(String(b.shape[0])).toMatch(/^\?nz[1-9]\d*$/);
      expect(Number(String(b.shape[0]).slice(3))).toBe(Number(String(a.shape[0]).slice(3)) + 1);
    });
  });
});

describe('gather gradients', () => {
  it('the axis-0 gradient is one scatter, without transposes', () => {
    const graph = trace((g) => {
      const x = g.input('x', 'f32', [3, 2]);
      const i = g.input('i', 'i64', [2]);
      const [dx] = backward(reduceSum(gather(x, i)), [x]);
      return { dx };
    });
    expect(graph.nodes.map((n) => n.op)).not.toContain('transpose');
    const out = runReference(graph, { x: refTensor([1, 2, 3, 4, 5, 6], [3, 2]), i: refTensor([2, 2], [2], 'i64') });
    expect([...out.dx.data]).toEqual([0, 0, 0, 0, 2, 2]);
  });
});
