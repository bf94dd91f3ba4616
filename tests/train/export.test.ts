import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { softmax } from '../../src/core/ops/index.ts';
import { MLP } from '../../src/nn/layers.ts';
import { decodeModel } from '../../src/runtime/onnx/proto.ts';
import { validateModel } from '../../src/runtime/onnx/validate.ts';
import { exportOnnx, Forward, type ForwardFn } from '../../src/train/forward.ts';
import type { BatchSpec } from '../../src/train/step.ts';
import { expectClose, f32, randArray } from './helpers.ts';

const SPEC: BatchSpec = { x: { dtype: 'f32', shape: ['batch', 5] } };
const fn: ForwardFn = (m, b) => {
  const logits = m.call(b.x);
  return { logits, probs: softmax(logits, -1) };
};

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
});

describe('exportOnnx', () => {
  it('produces a valid ONNX model with a symbolic batch dim that ORT runs like Forward', async () => {
    const model = new MLP([5, 16, 8, 3], { activation: 'gelu', dropout: 0.5 }).init(8);
    const bytes = exportOnnx(model, fn, SPEC, { task: 'test' });

    const decoded = decodeModel(bytes);
    expect(() => validateModel(decoded)).not.toThrow();
    expect(decoded.graph.inputs.map((i) => i.name)).toEqual(['x']);
    const x = decoded.graph.inputs[0];
    expect(x.dtype).toBe('float32');
    expect(x.shape).toHaveLength(2);
    expect(typeof x.shape![0]).toBe('string');
    expect(x.shape![0]).not.toBe('');
    expect(x.shape![1]).toBe(5);
    expect(decoded.graph.outputs.map((o) => o.name).sort()).toEqual(['logits', 'probs']);
    for (const o of decoded.graph.outputs) expect(o.shape).toEqual([x.shape![0], 3]);
    // the weights are baked in under their state_dict names, byte for byte
    const inits = new Map(decoded.graph.initializers.map((t) => [t.name, t]));
    for (const [n, p] of model.namedParameters()) {
      const t = inits.get(n);
      expect(t, n).toBeDefined();
      expect(t!.dims, n).toEqual(p.shape);
      expect([...(t!.data as Float32Array)], n).toEqual([...p.data]);
    }
    expect(decoded.metadata?.task).toBe('test');

    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, executionProviders: ['cpu'] });
    closers.push(() => session.release());
    const fwd = await Forward.compile(model, fn, SPEC, { threads: 1 });
    closers.push(() => fwd.release());
    for (const [n, seed] of [[3, 1], [17, 2]]) {
      const data = randArray(seed, n * 5, 2);
      const res = await session.run({ x: new ort.Tensor('float32', data, [n, 5]) });
      const ref = await fwd.run({ x: f32([n, 5], data) });
      for (const name of ['logits', 'probs']) {
        expect([...res[name].dims], `${name} n=${n}`).toEqual([n, 3]);
        expect(ref[name].shape).toEqual([n, 3]);
        expectClose(res[name].data as Float32Array, ref[name].data as Float32Array, 1e-5, 1e-6, `${name} n=${n}`);
      }
      // eval mode: dropout is off, so the probabilities are a proper distribution and deterministic
      const probs = res.probs.data as Float32Array;
      for (let r = 0; r < n; r++) expect(probs[r * 3] + probs[r * 3 + 1] + probs[r * 3 + 2]).toBeCloseTo(1, 5);
      const again = await session.run({ x: new ort.Tensor('float32', data, [n, 5]) });
      expect([...(again.logits.data as Float32Array)]).toEqual([...(res.logits.data as Float32Array)]);
    }
  });

  it('exports the current weights, copied: changing them afterwards does not change the exported bytes', async () => {
    const model = new MLP([5, 4, 2]).init(9);
    const before = exportOnnx(model, fn, SPEC);
    const copy = Uint8Array.from(before);
    const w = model.layers[0].weight;
    for (let i = 0; i < w.data.length; i++) w.data[i] += 1; // in place
    expect(Buffer.from(before).equals(Buffer.from(copy))).toBe(true);
    const after = exportOnnx(model, fn, SPEC);
    const s1 = await ort.InferenceSession.create(before, { intraOpNumThreads: 1 });
    const s2 = await ort.InferenceSession.create(after, { intraOpNumThreads: 1 });
    closers.push(() => s1.release(), () => s2.release());
    const data = randArray(5, 2 * 5);
    const [r1, r2] = [await s1.run({ x: new ort.Tensor('float32', data, [2, 5]) }), await s2.run({ x: new ort.Tensor('float32', data, [2, 5]) })];
    expect([...(r1.logits.data as Float32Array)]).not.toEqual([...(r2.logits.data as Float32Array)]);
  });
});
