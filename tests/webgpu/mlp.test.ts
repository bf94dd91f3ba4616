/**
 * WebGPU vs reference: a symbolic-batch MLP forward and its gradient graph (from core autodiff) at several batch
 * sizes, one executable run again at other shapes (pooled buffers reused), and an unsupported op named in the
 * error.
 */
import { describe, expect, it } from 'vitest';
import {
  add, argmax, backward, cast, equal, gatherElements, layerNorm, logSoftmax, matmul, mul, neg, reduceMean, reduceSum,
  relu, tanh, trace, unsqueeze,
} from '../../src/core/index.ts';
import { apply1, defineOp } from '../../src/core/ops/registry.ts';
import { WebGpuGraph } from '../../src/runtime/webgpu/graph.ts';
import { runReference } from '../../src/runtime/reference/index.ts';
import { expectMatch, randInt, randn, roundFeeds, toHost } from '../runtime/ort-helpers.ts';
import { gpuCase, probeDevice } from './helpers.ts';

const { gpu, title } = await probeDevice();
defineOp({ name: 'testOnlyNoGpuKernel', infer: ([x]) => [{ dtype: x.dtype, shape: x.shape }] });

const PARAMS: [string, number[]][] = [
  ['fc1.weight', [8, 16]], ['fc1.bias', [16]], ['norm.weight', [16]], ['norm.bias', [16]],
  ['fc2.weight', [16, 16]], ['fc2.bias', [16]], ['head.weight', [16, 4]], ['head.bias', [4]],
];

describe.skipIf(!gpu)(title('WebGPU vs reference: MLP'), () => {
  it('forward + backward (cross-entropy on one-hot targets) at batch sizes 1, 3 and 33', async () => {
    const weights = Object.fromEntries(PARAMS.map(([n, s], i) => [n, randn(s, 200 + i, -0.6, 0.6)]));
    for (const batch of [1, 3, 33]) {
      const onehot = randn([batch, 4], batch + 1, 0, 1);
      onehot.data = onehot.data.map((_, i) => (i % 4 === batch % 4 ? 1 : 0));
      await gpuCase(gpu!, (g) => {
        const x = g.input('x', 'f32', ['batch', 8]);
        const target = g.input('target', 'f32', ['batch', 4]);
        const p = Object.fromEntries(PARAMS.map(([n, s]) => [n, g.input(n, 'f32', s)]));
        const h1 = relu(add(matmul(x, p['fc1.weight']), p['fc1.bias']));
        const h2 = tanh(add(matmul(layerNorm(h1, p['norm.weight'], p['norm.bias']), p['fc2.weight']), p['fc2.bias']));
        const logits = add(matmul(h2, p['head.weight']), p['head.bias']);
        const loss = neg(reduceMean(reduceSum(mul(logSoftmax(logits, -1), target), [1])));
        const grads = backward(loss, [x, ...Object.values(p)]);
        const named = grads.map((gr, i) => [`grad_${i ? PARAMS[i - 1][0] : 'x'}`, gr]);
        return { loss, logits, ...Object.fromEntries(named) };
      }, { ...weights, x: randn([batch, 8], batch, -2, 2), target: onehot }, { rtol: 1e-4, atol: 1e-5 });
    }
  });

  it('a graph with an op that has no WebGPU kernel is refused up front, naming the op', async () => {
    // Every registry op has a kernel (tests/webgpu/coverage.test.ts): an op defined by this file has none.
    const g = trace((g) => ({ y: apply1('testOnlyNoGpuKernel', [g.input('x', 'f32', [5])]) }));
    const err = await WebGpuGraph.create(g, { device: gpu! }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_WEBGPU_OP' });
    expect((err as Error).message).toContain("'testOnlyNoGpuKernel'");
  });
});

describe.skipIf(!gpu)(title('WebGPU executable reuse'), () => {
  it('one executable runs again at other batch sizes and fetches a subset of outputs', async () => {
    const g = trace((g) => {
      const x = g.input('x', 'f32', ['batch', 3]);
      const w = g.input('w', 'f32', [3, 2]);
      const y = tanh(matmul(x, w));
      return { y, total: reduceSum(mul(y, 2)) };
    });
    const exe = await WebGpuGraph.create(g, { device: gpu! });
    expect([exe.inputNames, exe.outputNames]).toEqual([['x', 'w'], ['y', 'total']]);
    const w = randn([3, 2], 1);
    try {
      for (const batch of [4, 1, 4, 7]) {
        const x = randn([batch, 3], batch);
        const want = runReference(g, roundFeeds({ x, w }));
        const got = await exe.run({ x: toHost(x), w: toHost(w) }, batch === 7 ? ['total'] : undefined);
        expectMatch('total', got.total, want.total, { rtol: 1e-4, atol: 1e-5 });
        if (batch === 7) expect(Object.keys(got)).toEqual(['total']);
        else expectMatch('y', got.y, want.y, { rtol: 1e-4, atol: 1e-5 });
      }
    } finally {
      await exe.release();
    }
  });
});

describe.skipIf(!gpu)(title('WebGPU vs reference: MLP with integer labels'), () => {
  it('cross-entropy by gatherElements on labels, its scatter-add gradient, accuracy by argmax', async () => {
    for (const batch of [1, 5]) {
      const labels = randInt([batch], batch + 7, 0, 3);
      await gpuCase(gpu!, (g) => {
        const x = g.input('x', 'f32', ['batch', 8]);
        const y = g.input('labels', 'i64', ['batch']);
        const w = g.input('w', 'f32', [8, 4]);
        const logits = matmul(x, w);
        const loss = neg(reduceMean(gatherElements(logSoftmax(logits, -1), unsqueeze(y, -1), 1)));
        const accuracy = reduceMean(cast(equal(argmax(logits, -1), y), 'f32'));
        const [gw, gx] = backward(loss, [w, x]);
        return { loss, accuracy, gw, gx };
      }, { x: randn([batch, 8], batch, -2, 2), labels, w: randn([8, 4], 99) });
    }
  });
});
