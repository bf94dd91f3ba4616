import type { Tensor } from '../graph.ts';
import { broadcastShapes, formatShape } from '../shape.ts';
import { sumTo } from './elementwise.ts';
import { reshape, transpose } from './shape.ts';
import { apply1, defineOp, expectDtype, fail } from './registry.ts';

defineOp({
  name: 'matmul',
  infer([a, b], _attrs, where) {
    expectDtype(where, a, ['f32'], 'left operand');
    expectDtype(where, b, ['f32'], 'right operand');
    if (a.rank < 2 || b.rank < 2) fail(where, `matmul needs rank >= 2, got ${a} and ${b}`, 'reshape vectors to [1, n] or [n, 1]');
    const k1 = a.shape[a.rank - 1];
    const k2 = b.shape[b.rank - 2];
    if (k1 !== k2) {
      fail(where, `inner dims ${k1} vs ${k2} (${formatShape(a.shape)} @ ${formatShape(b.shape)})`, 'the last dim of the left operand must equal the second-to-last of the right');
    }
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), where);
    return [{ dtype: 'f32', shape: [...batch, a.shape[a.rank - 2], b.shape[b.rank - 1]] }];
  },
  grad: ({ inputs: [a, b], grads: [g], needs }) => {
    const ga = needs[0] ? sumTo(matmul(g!, transpose(b)), a.shape) : null;
    let gb: Tensor | null = null;
    if (needs[1]) {
      if (b.rank === 2 && a.rank > 2) {
        // One large GEMM over the flattened batch instead of a batched product followed by a sum.
        const k = a.shape[a.rank - 1];
        const n = g!.shape[g!.rank - 1];
        gb = matmul(transpose(reshape(a, [-1, k])), reshape(g!, [-1, n]));
      } else gb = sumTo(matmul(transpose(a), g!), b.shape);
    }
    return [ga, gb];
  },
});

/** Matrix product with numpy batching rules (`[..., m, k] @ [..., k, n]`). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return apply1('matmul', [a, b]);
}
