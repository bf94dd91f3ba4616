/**
 * fit() / MlpTrainer against a float64 re-implementation of what they document, on a model small enough to
 * write out by hand (no hidden layer: one linear layer, softmax cross-entropy or squared error). The reference
 * follows the documented plan, not the code: each epoch trains on `epochBatches(rows, batchSize, seed, epoch)`
 * (whole batches only with accumulate > 1), a linear warm-up over 5% of the updates (at most 200) then a cosine
 * from `lr` down to `0.05 * lr` at the last update, torch.optim.SGD (L2 decay on weights, not biases), the loss a
 * weighted mean `sum(w * l) / sum(w)` per micro-batch, accumulated gradients averaged per update.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { epochBatches } from '../../src/data/batches.ts';
import { type FitOptions, MlpTrainer } from '../../src/train/fit.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectClose, expectSwitchyardError } from './helpers.ts';

const trainers: MlpTrainer[] = [];
afterAll(async () => {
  for (const t of trainers) await t.release();
});

async function create(o: FitOptions): Promise<MlpTrainer> {
  const t = await MlpTrainer.create({ threads: 1, ...o });
  trainers.push(t);
  return t;
}

/** The documented schedule: linear warm-up over ceil(5%) of the updates (<= 200), cosine to 5% of the peak. */
function documentedLr(lr: number, total: number, u: number): number {
  const warmup = Math.min(Math.ceil(total / 20), 200);
  const minLr = lr / 20;
  if (u < warmup) return (lr * (u + 1)) / (warmup + 1);
  return minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * (u - warmup)) / (total - warmup)))) / 2;
}

interface Linear64 { W: Float64Array; b: Float64Array; out: number; features: number }

/** Per-row outputs of the linear model. */
function logits(m: Linear64, x: ArrayLike<number>, r: number): Float64Array {
  return Float64Array.from({ length: m.out }, (_, o) => {
    let s = m.b[o];
    for (let i = 0; i < m.features; i++) s += m.W[o * m.features + i] * x[r * m.features + i];
    return s;
  });
}

function softmax(z: Float64Array): Float64Array {
  const mx = Math.max(...z);
  const e = z.map((v) => Math.exp(v - mx));
  const s = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / s);
}

/** Loss and gradients of one micro-batch (weighted mean over its rows). */
function batchGrad(m: Linear64, x: Float32Array, y: ArrayLike<number>, w: Float32Array | undefined, rows: Int32Array, cls: boolean) {
  const gW = new Float64Array(m.W.length);
  const gb = new Float64Array(m.b.length);
  const wsum = rows.reduce((a, r) => a + (w ? w[r] : 1), 0);
  let loss = 0;
  for (const r of rows) {
    const wr = (w ? w[r] : 1) / wsum;
    const z = logits(m, x, r);
    let dz: Float64Array;
    if (cls) {
      const p = softmax(z);
      loss -= wr * Math.log(p[y[r]]);
      dz = p.map((v, c) => wr * (v - (c === y[r] ? 1 : 0)));
    } else {
      loss += wr * (z[0] - y[r]) ** 2;
      dz = Float64Array.of(2 * wr * (z[0] - y[r]));
    }
    for (let o = 0; o < m.out; o++) {
      gb[o] += dz[o];
      for (let i = 0; i < m.features; i++) gW[o * m.features + i] += dz[o] * x[r * m.features + i];
    }
  }
  return { loss, gW, gb };
}

interface RefPlan { epochs: number; batchSize: number; accumulate: number; lr: number; momentum: number; weightDecay: number; seed: number }

/** Float64 SGD training of the linear model along the documented plan; returns the per-epoch mean losses. */
function trainReference(m: Linear64, d: { x: Float32Array; y: ArrayLike<number>; w?: Float32Array; rows: Int32Array }, p: RefPlan, cls: boolean): number[] {
  const n = d.rows.length;
  const full = Math.floor(n / p.batchSize);
  const micro = p.accumulate > 1 ? full - (full % p.accumulate) : Math.ceil(n / p.batchSize);
  const total = (micro / p.accumulate) * p.epochs;
  const bufW = new Float64Array(m.W.length);
  const bufB = new Float64Array(m.b.length);
  const history: number[] = [];
  let u = 0;
  for (let e = 1; e <= p.epochs; e++) {
    const batches = epochBatches(d.rows, p.batchSize, p.seed, e, p.accumulate > 1).slice(0, micro);
    let lossSum = 0;
    for (let s = 0; s < batches.length; s += p.accumulate) {
      const gW = new Float64Array(m.W.length);
      const gb = new Float64Array(m.b.length);
      for (let a = 0; a < p.accumulate; a++) {
        const g = batchGrad(m, d.x, d.y, d.w, batches[s + a], cls);
        lossSum += g.loss;
        g.gW.forEach((v, i) => (gW[i] += v / p.accumulate));
        g.gb.forEach((v, i) => (gb[i] += v / p.accumulate));
      }
      const lr = documentedLr(p.lr, total, u++);
      for (let i = 0; i < m.W.length; i++) {
        bufW[i] = p.momentum * bufW[i] + gW[i] + p.weightDecay * m.W[i];
        m.W[i] -= lr * bufW[i];
      }
      for (let i = 0; i < m.b.length; i++) {
        bufB[i] = p.momentum * bufB[i] + gb[i];
        m.b[i] -= lr * bufB[i];
      }
    }
    history.push(lossSum / batches.length);
  }
  return history;
}

function dataset(seed: number, n: number, features: number, classes: number) {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: n * features }, () => rng.normal());
  const y = Int32Array.from({ length: n }, (_, i) => (i * 7 + Math.floor(rng.next() * 2)) % classes);
  y[n - 1] = classes - 1; // max(y) + 1 is the class count
  const w = Float32Array.from({ length: n }, (_, i) => (i % 5 === 3 ? 0 : 0.5 + rng.next() * 1.5));
  return { x, y, w };
}

function snapshotLinear(t: MlpTrainer, features: number): Linear64 {
  const l = t.model.layers[0];
  return { W: Float64Array.from(l.weight.data), b: Float64Array.from(l.bias!.data), out: l.outFeatures, features };
}

/** Trains `t` for its epochs, recording the examples of every ONNX Runtime call per epoch. */
async function runAll(t: MlpTrainer): Promise<{ history: number[]; calls: number[][]; means: number[][] }> {
  const history: number[] = [];
  const calls: number[][] = [];
  const means: number[][] = [];
  for (let e = 1; e <= t.epochs; e++) {
    const c: number[] = [];
    const mm: number[] = [];
    const before = performance.now();
    const r = await t.runEpoch(e, (examples, mean) => { c.push(examples); mm.push(mean); });
    const elapsed = (performance.now() - before) / 1000;
    calls.push(c);
    means.push(mm);
    history.push(r.trainLoss);
    expect(r.examples).toBe(c.reduce((a, v) => a + v, 0));
    // the epoch's own duration, in seconds: within the time the call took
    expect(r.seconds).toBeGreaterThanOrEqual(0);
    expect(r.seconds).toBeLessThanOrEqual(elapsed);
  }
  return { history, calls, means };
}

describe('MlpTrainer against a float64 reference of its documented plan', () => {
  it('schedule: warm-up over 5% of the updates (at most 200), cosine down to 5% of the peak at the last update', async () => {
    const { x, y } = dataset(1, 50, 2, 2);
    // 50 rows in batches of 8: 7 micro-batches (the last of 2 rows), 7 updates per epoch, 40 epochs = 280 updates
    const t = await create({ x, y, features: 2, hidden: [], epochs: 40, batchSize: 8, lr: 0.2 });
    expect([t.microPerEpoch, t.updatesPerEpoch]).toEqual([7, 7]);
    const warmup = 14; // ceil(280 / 20)
    expect(t.schedule(0)).toBeCloseTo(0.2 / 15, 12);
    expect(t.schedule(warmup - 1)).toBeCloseTo((0.2 * 14) / 15, 12);
    expect(t.schedule(warmup)).toBeCloseTo(0.2, 12);
    // half-way through the decay the cosine is at the mean of peak and floor
    expect(t.schedule(warmup + (280 - warmup) / 2)).toBeCloseTo((0.2 + 0.01) / 2, 12);
    expect(t.schedule(280)).toBeCloseTo(0.01, 12);
    for (const u of [3, 20, 100, 250, 279]) expect(t.schedule(u)).toBeCloseTo(documentedLr(0.2, 280, u), 12);

    // 7 updates × 1000 epochs = 7000: 5% would be 350, capped at 200
    const long = await create({ x, y, features: 2, hidden: [], epochs: 1000, batchSize: 8, lr: 1 });
    expect(long.schedule(199)).toBeCloseTo(200 / 201, 12);
    expect(long.schedule(200)).toBeCloseTo(1, 12);
    expect(long.schedule(201)).toBeLessThan(1);
    expect(long.schedule(7000)).toBeCloseTo(0.05, 12);
  });

  it('accumulate keeps whole batches, a multiple of accumulate per epoch, and refuses too few rows', async () => {
    const { x, y } = dataset(2, 50, 2, 2);
    const t2 = await create({ x, y, features: 2, hidden: [], epochs: 1, batchSize: 8, accumulate: 2 });
    expect([t2.microPerEpoch, t2.updatesPerEpoch]).toEqual([6, 3]); // 6 whole batches of 8
    const t4 = await create({ x, y, features: 2, hidden: [], epochs: 1, batchSize: 8, accumulate: 4 });
    expect([t4.microPerEpoch, t4.updatesPerEpoch]).toEqual([4, 1]);
    await expectSwitchyardError(
      () => MlpTrainer.create({ x, y, features: 2, hidden: [], epochs: 1, batchSize: 20, accumulate: 3, threads: 1 }),
      'E_CONFIG', /accumulate=3 needs at least 3 full batches of 20 rows, the training set has 50/,
    ).then((e) => expect(e.hint).toBe('lower --accumulate or --batch-size'));
    // a batch size above the row count is one batch of every row
    const whole = await create({ x, y, features: 2, hidden: [], epochs: 1, batchSize: 500 });
    expect([whole.batchSize, whole.microPerEpoch]).toEqual([50, 1]);
  });

  it.each([
    // 23 rows in batches of 5 (5, 5, 5, 5, 3), two per call: calls of 10, 10 and the short batch alone
    { name: 'weighted classification, short last batch', n: 23, batchSize: 5, stepsPerCall: 2, accumulate: 1, weighted: true, calls: [10, 10, 3] },
    // 43 rows: 8 whole batches of 5, updates of 2; 5 micro-steps per call round down to 4
    { name: 'accumulate 2, 5 steps per call', n: 43, batchSize: 5, stepsPerCall: 5, accumulate: 2, weighted: true, calls: [20, 20] },
    // 28 rows: 5 whole batches of 5, of which 4 (two whole updates) are trained on, in one call
    { name: 'accumulate 2, an odd number of whole batches', n: 28, batchSize: 5, stepsPerCall: 4, accumulate: 2, weighted: true, calls: [20] },
    // one micro-step per call rounds up to one whole update (2 micro-steps)
    { name: 'accumulate 2, 1 step per call', n: 21, batchSize: 5, stepsPerCall: 1, accumulate: 2, weighted: false, calls: [10, 10] },
  ])('SGD on a linear softmax classifier: $name', async ({ n, batchSize, stepsPerCall, accumulate, weighted, calls }) => {
    const F = 3;
    const C = 3;
    const { x, y, w } = dataset(n, n, F, C);
    const plan = { epochs: 3, batchSize, accumulate, lr: 0.4, momentum: 0.5, weightDecay: 0.05, seed: 11 };
    const t = await create({
      x, y, features: F, weights: weighted ? w : undefined, hidden: [], optimizer: 'sgd', stepsPerCall, ...plan,
      classes: weighted ? ['a', 'b', 'c'] : undefined,
    });
    expect(t.outputs).toBe(C);
    const ref = snapshotLinear(t, F);
    const rows = Int32Array.from({ length: n }, (_, i) => i);
    const refHistory = trainReference(ref, { x, y, w: weighted ? w : undefined, rows }, plan, true);
    const got = await runAll(t);
    expect(got.calls).toEqual([calls, calls, calls]);
    expectClose(got.history, refHistory, 1e-4, 1e-6, 'epoch losses');
    expect(got.means.map((m) => m[m.length - 1])).toEqual(got.history);
    expectClose(t.model.layers[0].weight.data, ref.W, 1e-4, 1e-5, 'weight');
    expectClose(t.model.layers[0].bias!.data, ref.b, 1e-4, 1e-5, 'bias');
    // the trained model is not the initial one: the reference above is sensitive to the training
    expect(t.step.updates).toBe((t.updatesPerEpoch * 3));
  });

  it('SGD on a weighted linear regression over a subset of rows', async () => {
    const rng = new Rng(5);
    const n = 30;
    const x = Float32Array.from({ length: n * 2 }, () => rng.normal());
    const y = Float32Array.from({ length: n }, (_, i) => 0.7 * x[2 * i] - 0.3 * x[2 * i + 1] + 0.1 * rng.normal());
    const w = Float32Array.from({ length: n }, () => 0.25 + rng.next());
    const rows = Int32Array.from({ length: 17 }, (_, i) => 2 * i - (i > 8 ? 15 : 0)); // 0, 2, .., 16, 3, 5, .., 17
    const plan = { epochs: 4, batchSize: 4, accumulate: 1, lr: 0.1, momentum: 0.9, weightDecay: 0, seed: 4 };
    const t = await create({ x, y, features: 2, task: 'regression', weights: w, rows, hidden: [], optimizer: 'sgd', ...plan });
    expect(t.outputs).toBe(1);
    const ref = snapshotLinear(t, 2);
    const refHistory = trainReference(ref, { x, y, w, rows }, plan, false);
    const got = await runAll(t);
    expect(got.calls[0]).toEqual([16, 1]); // 17 rows: four batches of 4 in one call, the single row alone
    expectClose(got.history, refHistory, 1e-4, 1e-6, 'epoch losses');
    expectClose(t.model.layers[0].weight.data, ref.W, 1e-4, 1e-5, 'weight');
    expectClose(t.model.layers[0].bias!.data, ref.b, 1e-4, 1e-5, 'bias');
    // predictions and the (unweighted) evaluation loss on the other rows, from the trained weights
    const held = Int32Array.from({ length: n }, (_, i) => i).filter((i) => !rows.includes(i));
    const pred = await t.predict(x);
    expectClose(pred, Float64Array.from({ length: n }, (_, r) => logits(ref, x, r)[0]), 1e-4, 1e-5, 'predictions');
    const v = await t.evaluate(x, y, held);
    expect(v.accuracy).toBeUndefined();
    const mse = held.reduce((a, r) => a + (logits(ref, x, r)[0] - y[r]) ** 2, 0) / held.length;
    expect(v.loss).toBeCloseTo(mse, 4);
  });

  it('evaluate and predict over more rows than one chunk (1024) match the float64 model', async () => {
    const F = 4;
    const C = 3;
    const n = 2500;
    const { x, y } = dataset(8, n, F, C);
    const t = await create({ x, y, features: F, hidden: [], epochs: 1, batchSize: 500, lr: 0.05 });
    await t.runEpoch(1);
    const m = snapshotLinear(t, F);
    const idx = Int32Array.from({ length: 2100 }, (_, i) => (i * 7) % n);
    let loss = 0;
    let correct = 0;
    for (const r of idx) {
      const p = softmax(logits(m, x, r));
      loss -= Math.log(p[y[r]]);
      if (p.indexOf(Math.max(...p)) === y[r]) correct++;
    }
    const v = await t.evaluate(x, y, idx);
    expect(v.loss).toBeCloseTo(loss / idx.length, 4);
    expect(v.accuracy).toBeCloseTo(correct / idx.length, 6);
    expect(await t.evaluate(x, y, new Int32Array(0))).toEqual({ loss: 0, accuracy: 0 });
    const probs = await t.predict(x);
    expect(probs.length).toBe(n * C);
    const want = new Float64Array(n * C);
    for (let r = 0; r < n; r++) want.set(softmax(logits(m, x, r)), r * C);
    expectClose(probs, want, 1e-4, 1e-6, 'probabilities');
    const e = await expectSwitchyardError(() => t.predict(x.subarray(1)), 'E_CONFIG', /9999 values is not a whole number of 4-feature rows/);
    expect(e.hint).toBe('pass 4 values per row, row-major');
  });
});
