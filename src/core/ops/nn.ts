import type { Tensor } from '../graph.ts';
import { normAxis } from '../shape.ts';
import { add, div, exp, mul, sqrt, sub, sumTo } from './elementwise.ts';
import { reduceMean, reduceSum } from './reduce.ts';
import { apply1, defineOp, expectDtype, fail } from './registry.ts';

function sameTypeAxis(name: string): void {
  defineOp({
    name,
    infer([x], attrs, where) {
      expectDtype(where, x, ['f32']);
      normAxis(attrs.axis as number, x.rank, where);
      return [{ dtype: 'f32', shape: x.shape }];
    },
    grad:
      name === 'softmax'
        ? ({ outputs: [y], grads: [g], attrs }) => [mul(y, sub(g!, reduceSum(mul(g!, y), attrs.axis as number, true)))]
        : ({ outputs: [y], grads: [g], attrs }) => [sub(g!, mul(exp(y), reduceSum(g!, attrs.axis as number, true)))],
  });
}
sameTypeAxis('softmax');
sameTypeAxis('logSoftmax');

/** Softmax along `axis`. */
export function softmax(x: Tensor, axis = -1): Tensor {
  return apply1('softmax', [x], { axis: normAxis(axis, x.rank, 'softmax') });
}
/** Log-softmax along `axis` (numerically stable). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return apply1('logSoftmax', [x], { axis: normAxis(axis, x.rank, 'logSoftmax') });
}

defineOp({
  name: 'layerNorm',
  infer([x, w, b], _attrs, where) {
    expectDtype(where, x, ['f32']);
    const c = x.shape[x.rank - 1];
    for (const [t, role] of [[w, 'weight'], [b, 'bias']] as const) {
      if (t.rank !== 1 || t.shape[0] !== c) fail(where, `layer norm ${role} has shape [${t.shape}], expected [${c}]`, 'the norm size must equal the last dim of the input');
    }
    return [{ dtype: 'f32', shape: x.shape }];
  },
  grad: ({ inputs: [x, w, b], grads: [g], attrs }) => {
    const mu = reduceMean(x, -1, true);
    const xc = sub(x, mu);
    const rstd = div(1, sqrt(add(reduceMean(mul(xc, xc), -1, true), attrs.eps as number)));
    const xhat = mul(xc, rstd);
    const dxhat = mul(g!, w);
    const dx = mul(rstd, sub(sub(dxhat, reduceMean(dxhat, -1, true)), mul(xhat, reduceMean(mul(dxhat, xhat), -1, true))));
    return [dx, sumTo(mul(g!, xhat), w.shape), sumTo(g!, b.shape)];
  },
});

/** Layer normalisation over the last axis with affine weight and bias (`[C]` each). */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  return apply1('layerNorm', [x, weight, bias], { eps });
}
