import type { Attrs, Tensor } from '../graph.ts';
import { type Dim, normAxis } from '../shape.ts';
import { numel } from './constant.ts';
import { cast, div, equal, mul } from './elementwise.ts';
import { broadcastLike, reshape } from './shape.ts';
import { apply1, defineOp, expectDtype, fail, type OutType } from './registry.ts';

function reducedType(x: Tensor, attrs: Attrs, where: string, dtype = x.dtype): OutType[] {
  const axes = (attrs.axes as number[]).map((a) => normAxis(a, x.rank, where));
  if (new Set(axes).size !== axes.length) fail(where, `repeated axis in [${attrs.axes as number[]}]`, 'list each axis once');
  const keep = attrs.keepdims as boolean;
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) shape.push(d);
    else if (keep) shape.push(1);
  });
  return [{ dtype, shape }];
}

/** Reshapes a reduced gradient back to keepdims form so it broadcasts against the input. */
function keepDims(g: Tensor, x: Tensor, attrs: Attrs): Tensor {
  if (attrs.keepdims) return g;
  const axes = (attrs.axes as number[]).map((a) => normAxis(a, x.rank, 'reduce'));
  return reshape(g, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
}

defineOp({
  name: 'reduceSum',
  infer: ([x], attrs, where) => (expectDtype(where, x, ['f32', 'i64']), reducedType(x, attrs, where)),
  grad: ({ inputs: [x], grads: [g], attrs }) => [broadcastLike(keepDims(g!, x, attrs), x)],
});
defineOp({
  name: 'reduceMean',
  infer: ([x], attrs, where) => (expectDtype(where, x, ['f32']), reducedType(x, attrs, where)),
  grad: ({ inputs: [x], grads: [g], attrs }) => [broadcastLike(div(keepDims(g!, x, attrs), numel(x, attrs.axes as number[])), x)],
});
defineOp({
  name: 'reduceMax',
  infer: ([x], attrs, where) => (expectDtype(where, x, ['f32', 'i64']), reducedType(x, attrs, where)),
  // Ties share the gradient equally, so the rule is symmetric in the tied entries.
  grad: ({ inputs: [x], outputs: [y], grads: [g], attrs }) => {
    const mask = cast(equal(x, keepDims(y, x, attrs)), 'f32');
    const count = reduceSum(mask, attrs.axes as number[], true);
    return [mul(mask, div(keepDims(g!, x, attrs), count))];
  },
});
defineOp({
  name: 'argmax',
  infer: ([x], attrs, where) => (expectDtype(where, x, ['f32', 'i64']), reducedType(x, { axes: [attrs.axis], keepdims: attrs.keepdims }, where, 'i64')),
});

function axesOf(x: Tensor, axes: number | number[] | undefined): number[] {
  if (axes === undefined) return x.shape.map((_, i) => i);
  return (typeof axes === 'number' ? [axes] : axes).map((a) => normAxis(a, x.rank, 'reduce'));
}

/** Sum over `axes` (all when omitted). */
export function reduceSum(x: Tensor, axes?: number | number[], keepdims = false): Tensor {
  return apply1('reduceSum', [x], { axes: axesOf(x, axes), keepdims });
}
/** Mean over `axes` (all when omitted); symbolic dims are counted at run time. */
export function reduceMean(x: Tensor, axes?: number | number[], keepdims = false): Tensor {
  return apply1('reduceMean', [x], { axes: axesOf(x, axes), keepdims });
}
/** Maximum over `axes` (all when omitted). */
export function reduceMax(x: Tensor, axes?: number | number[], keepdims = false): Tensor {
  return apply1('reduceMax', [x], { axes: axesOf(x, axes), keepdims });
}
/** Index (i64) of the maximum along `axis`; the first one on ties. */
export function argmax(x: Tensor, axis = -1, keepdims = false): Tensor {
  return apply1('argmax', [x], { axis: normAxis(axis, x.rank, 'argmax'), keepdims });
}
