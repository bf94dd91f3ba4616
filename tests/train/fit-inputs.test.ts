/**
 * fit() / MlpTrainer on the edges of their input: what is refused (and how the error names it), the documented
 * defaults, a divergence reported at the micro-step where it happened, and the smallest valid inputs.
 */
import { describe, expect, it } from 'vitest';
import { epochBatches } from '../../src/data/batches.ts';
import { MLP } from '../../src/nn/layers.ts';
import { fit, MlpTrainer } from '../../src/train/fit.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectSwitchyardError } from './helpers.ts';

function table(seed: number, n: number, features: number) {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: n * features }, () => rng.normal());
  const y = Int32Array.from({ length: n }, (_, i) => i % 2);
  return { x, y, features };
}

describe('fit: refused inputs', () => {
  const d = table(1, 12, 2);

  it.each([
    { what: 'zero epochs', o: { epochs: 0 }, code: 'E_CONFIG', re: /--epochs must be at least 1, got 0/, hint: 'e.g. --epochs 20' },
    { what: 'NaN epochs', o: { epochs: Number.NaN }, code: 'E_CONFIG', re: /--epochs must be at least 1, got NaN/, hint: 'e.g. --epochs 20' },
    { what: 'zero features', o: { features: 0, x: new Float32Array(0) }, code: 'E_CONFIG', re: /x holds 0 values, expected 12 rows × 0 features/, hint: 'pass x row-major with one row per label' },
    { what: 'too few weights', o: { weights: new Float32Array(3) }, code: 'E_CONFIG', re: /fit: 3 weights for 12 rows/, hint: 'pass one weight per row' },
    { what: 'an infinite weight', o: { weights: new Float32Array(12).fill(1).fill(Number.POSITIVE_INFINITY, 5, 6) }, code: 'E_CONFIG', re: /weight of row 5 is Infinity/, hint: 'weights must be finite and >= 0' },
    { what: 'a NaN weight', o: { weights: new Float32Array(12).fill(1).fill(Number.NaN, 11) }, code: 'E_CONFIG', re: /weight of row 11 is NaN/, hint: 'weights must be finite and >= 0' },
    { what: 'no rows', o: { rows: new Int32Array(0) }, code: 'E_CSV_EMPTY', re: /fit: no rows to train on/, hint: 'add rows' },
  ])('$what', async ({ o, code, re, hint }) => {
    const e = await expectSwitchyardError(() => fit({ ...d, epochs: 1, hidden: [2], threads: 1, ...o }), code, re);
    expect(e.hint).toBe(hint);
  });

  it('a diverging run stops with E_NONFINITE at the micro-step that diverged, counters as before that call', async () => {
    const n = 20;
    const x = Float32Array.from({ length: n * 2 }, (_, i) => (i % 7) - 3);
    const y = Int32Array.from({ length: n }, (_, i) => i % 2);
    // batches of 3, two per call: a NaN row in the batch of micro-step 4 (the second of the second call)
    const batches = epochBatches(n, 3, 5, 1);
    const at = 4;
    const bad = batches[at - 1][0];
    x[2 * bad + 1] = Number.NaN;
    const t = await MlpTrainer.create({ x, y, features: 2, hidden: [3], epochs: 1, batchSize: 3, stepsPerCall: 2, lr: 0.5, seed: 5, threads: 1 });
    const first = Math.floor((at - 1) / 2) * 2; // micro-steps run before the failing call
    const seen: number[] = [];
    const e = await expectSwitchyardError(() => t.runEpoch(1, (examples) => seen.push(examples)), 'E_NONFINITE', new RegExp(`training diverged: the loss became NaN \\(gradient norm NaN\\) at step ${at}, epoch 1$`));
    expect(e.hint).toBe('lower the learning rate (e.g. --lr 0.050) or set --clip-norm 1');
    expect(seen.length).toBe(first / 2);
    expect([t.step.updates, t.step.microSteps]).toEqual([first, first]);
    await t.release();
    // fit() gives the error up too (after freeing its sessions)
    await expectSwitchyardError(() => fit({ x, y, features: 2, hidden: [3], epochs: 1, batchSize: 3, stepsPerCall: 2, lr: 0.5, seed: 5, threads: 1 }), 'E_NONFINITE');
  });
});

describe('fit: defaults and the smallest inputs', () => {
  it('defaults: two hidden layers of 64 with relu, AdamW with decay 1e-4, batches of 64, 30 epochs, lr 3e-3', async () => {
    const d = table(2, 130, 3);
    // an option given as undefined (as the CLI passes an absent flag) is its default
    const unset = { hidden: undefined, activation: undefined, dropout: undefined, epochs: undefined, batchSize: undefined, lr: undefined, weightDecay: undefined, seed: undefined };
    const t = await MlpTrainer.create({ ...d, ...unset, threads: 1 });
    expect(t.model.sizes).toEqual([3, 64, 64, 2]);
    expect(t.model.opts).toEqual({ activation: 'relu', dropout: 0 });
    expect(t.step.optimizer.name).toBe('adamw');
    expect(t.step.optimizer.config).toMatchObject({ weightDecay: 1e-4 });
    expect([t.epochs, t.batchSize, t.microPerEpoch, t.step.accumulate]).toEqual([30, 64, 3, 1]);
    expect(t.schedule(5)).toBeCloseTo(3e-3, 12); // warm-up: ceil(90 / 20) = 5 updates
    await t.release();
    const s = await MlpTrainer.create({ ...d, epochs: 1, optimizer: 'sgd', threads: 1 });
    expect(s.step.optimizer.config).toMatchObject({ momentum: 0.9, weightDecay: 1e-4, nesterov: false });
    await s.release();
  });

  it('one feature, one row per batch, class names: trains and predicts the arg-max class', async () => {
    const x = Float32Array.of(-2, -1, 1, 2);
    const y = Int32Array.of(0, 0, 1, 1);
    const m = await fit({ x, y, features: 1, classes: ['neg', 'pos'], hidden: [], epochs: 40, batchSize: 1, lr: 0.5, seed: 1, threads: 1 });
    expect(m.outputs).toBe(2);
    expect(Array.from(await m.predict(Float32Array.of(-3, 3)))).toEqual([0, 1]);
    const p = await m.predictProba(Float32Array.of(-3, 3));
    expect(p[0]).toBeGreaterThan(0.5);
    expect(p[3]).toBeGreaterThan(0.5);
    expect(m.history.length).toBe(40);
    const r = await m.predict(Float32Array.of(0.5));
    expect(r.length).toBe(1);
    await m.release();
    // a released model's sessions are gone, and releasing again is harmless
    await m.release();
  });

  it('trains a model it is given instead of a fresh one', async () => {
    const d = table(4, 16, 2);
    const model = new MLP([2, 3, 2]).init(9);
    const before = Float32Array.from(model.layers[0].weight.data);
    const t = await MlpTrainer.create({ ...d, model, epochs: 1, seed: 1, threads: 1 });
    expect(t.model).toBe(model);
    await t.runEpoch(1);
    expect(model.layers[0].weight.data).not.toEqual(before);
    await t.release();
  });

  it('release frees the training step; class names may name classes absent from y', async () => {
    const d = table(5, 12, 2);
    const t = await MlpTrainer.create({ ...d, classes: ['a', 'b', 'c', 'd'], hidden: [], epochs: 1, threads: 1 });
    expect(t.outputs).toBe(4);
    const batch = { x: { dtype: 'f32' as const, shape: [1, 2, 2], data: new Float32Array(4) }, y: { dtype: 'i64' as const, shape: [1, 2], data: new BigInt64Array(2) } };
    expect((await t.step.run(batch, [0.01])).nonFinite).toBeNull();
    await t.release();
    await expect(t.step.run(batch, [0.01])).rejects.toThrow();
  });

  it('the class count defaults to max(y) + 1 even when the top class is rare', async () => {
    const d = table(3, 10, 2);
    d.y[7] = 4;
    const t = await MlpTrainer.create({ ...d, hidden: [], epochs: 1, threads: 1 });
    expect(t.outputs).toBe(5);
    expect(t.model.sizes).toEqual([2, 5]);
    await t.release();
  });
});
