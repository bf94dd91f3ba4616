/**
 * What a training step does with the extras a forward pass reports (nn/extras.ts) and with the loss function's
 * own metrics, against a float64 reference of a linear layer: an auxiliary loss is trained on but not reported
 * as the loss, and is recorded as a metric under its name; a buffer takes the value the layer sets, carried
 * from micro-step to micro-step and from call to call; metrics are recorded per micro-step.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/core/graph.ts';
import { abs, add, cast, mul, reduceMean, reduceSum, sqrt, square, sub } from '../../src/core/ops/index.ts';
import { addAuxLoss, addMetric, setBufferUpdate } from '../../src/nn/extras.ts';
import { mse } from '../../src/nn/functional.ts';
import { zeros } from '../../src/nn/init.ts';
import { Linear } from '../../src/nn/layers.ts';
import { Module, Parameter } from '../../src/nn/module.ts';
import { adamw, sgd } from '../../src/optim/optimizer.ts';
import { type BatchSpec, divergence, TrainStep } from '../../src/train/step.ts';
import { expectClose, expectSwitchyardError, f32, linearMseGrad, randArray, slice, snapshot } from './helpers.ts';

const IN = 3;
const OUT = 2;
const AUX = 0.1;
const SPEC: BatchSpec = { x: { dtype: 'f32', shape: ['batch', IN] }, y: { dtype: 'f32', shape: ['batch', OUT] } };

/** A linear layer that reports an L2 penalty on its weight, the mean of its output, and a running sum of mean(x). */
class Probe extends Module {
  fc = new Linear(IN, OUT);
  seen = new Parameter([1], zeros, { trainable: false });
  forward(x: Tensor): Tensor {
    const y = this.fc.call(x);
    addAuxLoss('l2', mul(reduceSum(square(this.fc.weight.t)), AUX));
    addMetric('mean_out', reduceMean(y));
    setBufferUpdate(this.seen, add(this.seen.t, reduceMean(x)));
    return y;
  }
}

/** Two buffers beside trainable weights: a running sum of mean(x) and a count of micro-steps. */
class TwoBuffers extends Module {
  fc = new Linear(IN, OUT);
  seen = new Parameter([1], zeros, { trainable: false });
  count = new Parameter([2], zeros, { trainable: false });
  forward(x: Tensor): Tensor {
    setBufferUpdate(this.seen, add(this.seen.t, reduceMean(x)));
    setBufferUpdate(this.count, add(this.count.t, 1));
    return this.fc.call(x);
  }
}

const mseLoss = (m: Module, b: Record<string, Tensor>) => mse(m.call(b.x), b.y);

const steps: TrainStep[] = [];
afterAll(async () => {
  for (const s of steps) await s.release();
});

describe('TrainStep: auxiliary losses, metrics and buffers', () => {
  it('trains on loss + aux, reports the loss alone, records every metric per micro-step, carries the buffer', async () => {
    const model = new Probe().named().init(3);
    const step = await TrainStep.compile({
      model, optimizer: sgd(), batch: SPEC, threads: 1,
      loss: (m, b) => {
        const y = m.call(b.x);
        return { loss: mse(y, b.y), metrics: { mae: reduceMean(abs(sub(y, b.y))) } };
      },
    });
    steps.push(step);
    expect(step.trainable.map((p) => p.name)).toEqual(['fc.weight', 'fc.bias']);
    expect(step.buffers.map((p) => p.name)).toEqual(['seen']);
    expect([...step.optimizerState.keys()]).toEqual([]);
    const W = Float64Array.from(model.fc.weight.data);
    const b = Float64Array.from(model.fc.bias!.data);
    let seen = 0;
    for (const [call, K, B] of [[0, 3, 4], [1, 2, 5]]) {
      const x = randArray(10 + call, K * B * IN);
      const y = randArray(20 + call, K * B * OUT);
      const lrs = Array.from({ length: K }, (_, s) => 0.2 + 0.1 * s);
      const want = { losses: [] as number[], norms: [] as number[], mae: [] as number[], mean: [] as number[], l2: [] as number[] };
      for (let s = 0; s < K; s++) {
        const xs = slice(x, s, B * IN);
        const ys = slice(y, s, B * OUT);
        const g = linearMseGrad(W, b, xs, ys, B, IN, OUT);
        let mae = 0;
        let mean = 0;
        for (let r = 0; r < B; r++) {
          for (let o = 0; o < OUT; o++) {
            let v = b[o];
            for (let i = 0; i < IN; i++) v += W[o * IN + i] * xs[r * IN + i];
            mae += Math.abs(v - ys[r * OUT + o]) / (B * OUT);
            mean += v / (B * OUT);
          }
        }
        const gW = Float64Array.from(g.gW, (v, i) => v + 2 * AUX * W[i]);
        want.losses.push(g.loss);
        want.mae.push(mae);
        want.mean.push(mean);
        want.l2.push(AUX * W.reduce((a, v) => a + v * v, 0));
        want.norms.push(Math.sqrt([...gW, ...g.gb].reduce((a, v) => a + v * v, 0)));
        for (let i = 0; i < W.length; i++) W[i] -= lrs[s] * gW[i];
        for (let i = 0; i < b.length; i++) b[i] -= lrs[s] * g.gb[i];
        seen += xs.reduce((a, v) => a + v, 0) / xs.length;
      }
      const r = await step.run({ x: f32([K, B, IN], x), y: f32([K, B, OUT], y) }, lrs);
      expect(r.nonFinite).toBeNull();
      expect(Object.keys(r.metrics).sort()).toEqual(['l2', 'mae', 'mean_out']);
      expectClose(r.losses, want.losses, 1e-5, 1e-7, 'losses');
      expectClose(r.gradNorms, want.norms, 1e-5, 1e-7, 'gradNorms');
      expectClose(r.metrics.mae, want.mae, 1e-5, 1e-7, 'mae');
      expectClose(r.metrics.mean_out, want.mean, 1e-5, 1e-6, 'mean_out');
      expectClose(r.metrics.l2, want.l2, 1e-5, 1e-7, 'l2');
      expectClose(model.fc.weight.data, W, 1e-5, 1e-6, 'weight');
      expectClose(model.fc.bias!.data, b, 1e-5, 1e-6, 'bias');
      expectClose(model.seen.data, [seen], 1e-5, 1e-6, 'buffer');
    }
    expect([step.updates, step.microSteps]).toEqual([5, 5]);
    // on the CPU the host copies are the state: syncing changes nothing, and there is no device traffic
    const before = Float32Array.from(model.fc.weight.data);
    await step.syncToHost();
    expect(model.fc.weight.data).toEqual(before);
    expect(step.lastRun).toBeUndefined();
    const onnx = step.onnx!;
    expect(onnx.length).toBeGreaterThan(100);
    expect(Buffer.from(onnx).includes(Buffer.from('fc.weight'))).toBe(true);
    expect(Buffer.from(onnx).includes(Buffer.from('train_step'))).toBe(true); // the graph's name
  });

  it('buffers are carried beside optimizer state and accumulated gradients (AdamW, accumulate 2)', async () => {
    const model = new TwoBuffers().named().init(4);
    const step = await TrainStep.compile({ model, optimizer: adamw(), batch: SPEC, threads: 1, accumulate: 2, loss: mseLoss });
    steps.push(step);
    const K = 4;
    const B = 3;
    const x = randArray(30, K * B * IN);
    const r = await step.run({ x: f32([K, B, IN], x), y: f32([K, B, OUT], randArray(31, K * B * OUT)) }, [0.01, 0.01]);
    expect(r.nonFinite).toBeNull();
    let seen = 0;
    for (let s = 0; s < K; s++) seen += slice(x, s, B * IN).reduce((a, v) => a + v, 0) / (B * IN);
    expectClose(model.seen.data, [seen], 1e-5, 1e-6, 'seen');
    expect(Array.from(model.count.data)).toEqual([K, K]);
    expect([step.updates, step.microSteps]).toEqual([2, 4]);
  });

  it('accumulate 3 over three B-batches equals one update on their 3B concatenation (SGD)', async () => {
    const a = new Linear(IN, OUT).named().init(5);
    const b = new Linear(IN, OUT).named().init(5);
    const sa = await TrainStep.compile({ model: a, optimizer: sgd({ momentum: 0.5 }), batch: SPEC, threads: 1, accumulate: 3, loss: mseLoss });
    const sb = await TrainStep.compile({ model: b, optimizer: sgd({ momentum: 0.5 }), batch: SPEC, threads: 1, loss: mseLoss });
    steps.push(sa, sb);
    const B = 4;
    const x = randArray(40, 6 * B * IN);
    const y = randArray(41, 6 * B * OUT);
    await sa.run({ x: f32([6, B, IN], x), y: f32([6, B, OUT], y) }, [0.3, 0.2]);
    await sb.run({ x: f32([2, 3 * B, IN], x), y: f32([2, 3 * B, OUT], y) }, [0.3, 0.2]);
    expect([sa.updates, sa.microSteps]).toEqual([2, 6]);
    for (const [n, p] of snapshot(b)) expectClose(snapshot(a).get(n)!, p, 1e-5, 1e-6, n);
  });

  it('a finite loss with a non-finite gradient is caught at that micro-step, before any update', async () => {
    // |out - y| as sqrt((out - y)^2): at a zero residual the loss is 0 and its gradient Inf * 0 = NaN
    const model = new Linear(IN, OUT).named();
    model.weight.data.fill(0);
    model.bias!.data.fill(0);
    const step = await TrainStep.compile({
      model, optimizer: sgd(), batch: SPEC, threads: 1, loss: (m, bt) => reduceMean(sqrt(square(sub(m.call(bt.x), bt.y)))),
    });
    steps.push(step);
    const r = await step.run({ x: f32([2, 2, IN], randArray(50, 4 * IN)), y: f32([2, 2, OUT], new Float32Array(4 * OUT)) }, [0.1, 0.1]);
    expect(r.losses[0]).toBe(0);
    expect(Number.isNaN(r.gradNorms[0])).toBe(true);
    expect(r.nonFinite).toBe(0);
    expect(r.nonFiniteParameter).toBeUndefined();
    expect(step.updates).toBe(0);
    expect(Array.from(model.weight.data)).toEqual(new Array(IN * OUT).fill(0));
  });

  it('release frees the session: the step cannot run afterwards', async () => {
    const model = new Linear(IN, OUT).named().init(6);
    const step = await TrainStep.compile({ model, optimizer: sgd(), batch: SPEC, threads: 1, loss: mseLoss });
    const feeds = { x: f32([1, 2, IN], randArray(60, 2 * IN)), y: f32([1, 2, OUT], randArray(61, 2 * OUT)) };
    await step.run(feeds, [0.1]);
    await step.release();
    await expect(step.run(feeds, [0.1])).rejects.toThrow();
    expect(step.updates).toBe(1);
  });

  it('a loss that is not an f32 scalar is refused when compiling', async () => {
    const model = new Linear(IN, OUT).named().init(1);
    const e = await expectSwitchyardError(
      () => TrainStep.compile({ model, optimizer: sgd(), batch: SPEC, threads: 1, loss: (m, b) => square(sub(m.call(b.x), b.y)) }),
      'E_SHAPE', /the loss must be an f32 scalar/,
    );
    expect(e.hint).toBe('reduce it with reduceMean');
    // a scalar of another dtype is refused the same way
    await expectSwitchyardError(
      () => TrainStep.compile({ model, optimizer: sgd(), batch: SPEC, threads: 1, loss: (m, b) => cast(mse(m.call(b.x), b.y), 'i64') }),
      'E_SHAPE', /the loss must be an f32 scalar, got i64\[\]/,
    );
    const acc = await expectSwitchyardError(
      () => TrainStep.compile({ model, optimizer: sgd(), batch: SPEC, loss: (m, b) => mse(m.call(b.x), b.y), accumulate: 1.5 }),
      'E_CONFIG', /accumulate must be a positive integer, got 1\.5/,
    );
    expect(acc.hint).toBe('e.g. --accumulate 4');
  });

  it('a wrong number of rates names the micro-steps, rates and accumulate', async () => {
    const model = new Linear(IN, OUT).named().init(2);
    const step = await TrainStep.compile({ model, optimizer: sgd(), batch: SPEC, threads: 1, loss: (m, b) => mse(m.call(b.x), b.y) });
    steps.push(step);
    const e = await expectSwitchyardError(
      () => step.run({ x: f32([2, 1, IN], randArray(1, 2 * IN)), y: f32([2, 1, OUT], randArray(2, 2 * OUT)) }, [0.1]),
      'E_STEP', /run got 2 micro-steps and 1 learning rates with accumulate=1/,
    );
    expect(e.hint).toMatch(/one rate per update/);
  });

  it('divergence() says what went non-finite', () => {
    const r = { losses: Float32Array.of(0.5, Number.NaN), gradNorms: Float32Array.of(1, Number.POSITIVE_INFINITY), metrics: {}, nonFinite: 1 };
    expect(divergence(r)).toBe('the loss became NaN (gradient norm Infinity)');
    expect(divergence({ ...r, nonFinite: 0 })).toBe('the loss became 0.5 (gradient norm 1)');
    expect(divergence({ ...r, nonFinite: null })).toBe('the loss became 0.5 (gradient norm 1)');
    expect(divergence({ ...r, nonFiniteParameter: 'fc.weight' })).toBe("parameter 'fc.weight' became non-finite");
  });
});
