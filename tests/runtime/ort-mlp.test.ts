/** ORT vs reference: a symbolic-batch MLP forward + backward, compiled once and run at several batch sizes. */
import { describe, expect, it } from 'vitest';
import {
  add, argmax, backward, cast, equal, gatherElements, layerNorm, logSoftmax, matmul, neg, reduceMean, relu, tanh, unsqueeze,
} from '../../src/core/index.ts';
import { ortCase, randInt, randn } from './ort-helpers.ts';

describe('ORT vs reference: symbolic-batch MLP', () => {
  it('forward + backward compiled once, run at batch sizes 1, 3 and 64', async () => {
    const params: [string, number[]][] = [['fc1.weight', [8, 16]], ['fc1.bias', [16]], ['norm.weight', [16]], ['norm.bias', [16]], ['fc2.weight', [16, 16]], ['fc2.bias', [16]], ['head.weight', [16, 4]], ['head.bias', [4]]];
    const c = await ortCase((g) => {
      const x = g.input('x', 'f32', ['batch', 8]);
      const labels = g.input('labels', 'i64', ['batch']);
      const p = Object.fromEntries(params.map(([n, s]) => [n, g.input(n, 'f32', s)]));
      const h1 = relu(add(matmul(x, p['fc1.weight']), p['fc1.bias']));
      const h2 = tanh(add(matmul(layerNorm(h1, p['norm.weight'], p['norm.bias']), p['fc2.weight']), p['fc2.bias']));
      const logits = add(matmul(h2, p['head.weight']), p['head.bias']);
      const logp = logSoftmax(logits, -1);
      const loss = neg(reduceMean(gatherElements(logp, unsqueeze(labels, -1), 1)));
      const accuracy = reduceMean(cast(equal(argmax(logits, -1), labels), 'f32'));
      const grads = backward(loss, [x, ...Object.values(p)]);
      return { loss, logits, accuracy, ...Object.fromEntries(grads.map((gr, i) => [`grad_${i === 0 ? 'x' : params[i - 1][0]}`, gr])) };
    });
    const weights = Object.fromEntries(params.map(([n, s], i) => [n, randn(s, 200 + i, -0.6, 0.6)]));
    for (const batch of [1, 3, 64]) {
      const { ort } = await c.check({ ...weights, x: randn([batch, 8], batch, -2, 2), labels: randInt([batch], batch + 1, 0, 3) });
      expect(ort.logits.shape).toEqual([batch, 4]);
      expect(ort.grad_x.shape).toEqual([batch, 8]);
      expect(ort['grad_fc1.weight'].shape).toEqual([8, 16]);
    }
    await c.release();
  });
});
