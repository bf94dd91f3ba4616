/**
 * nn building blocks pinned to closed forms and PyTorch's values (torch.nn.functional.gelu / silu, RMSNorm,
 * weighted cross-entropy and MSE, Linear's init bounds), run in the float64 reference interpreter.
 */
import { describe, expect, it } from 'vitest';
import { type Graph, type Tensor, trace } from '../../src/core/index.ts';
import { accuracy, crossEntropy, dropout, gelu, geluTanh, mse, rmsNorm, silu } from '../../src/nn/functional.ts';
import { normal, xavierUniform } from '../../src/nn/init.ts';
import { activation, LayerNorm, Linear, MLP } from '../../src/nn/layers.ts';
import { currentMode, withTraining } from '../../src/nn/mode.ts';
import { refTensor, runReference } from '../../src/runtime/reference/index.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectCode } from '../expect-error.ts';

function evaluate(fn: (g: Graph) => Tensor, feeds: Record<string, ReturnType<typeof refTensor>>): number[] {
  return [...runReference(trace((g) => ({ y: fn(g) })), feeds).y.data];
}
const vec = (v: number[]) => refTensor(v, [v.length]);

describe('activations and norms', () => {
  it('gelu is x·Phi(x) (torch gelu, approximate="none"); silu is x·sigmoid(x)', () => {
    const x = vec([1, -1, 2, 0]);
    const g = evaluate((t) => gelu(t.input('x', 'f32', [4])), { x });
    // scipy.stats.norm.cdf(1) = 0.8413447460685429, cdf(2) = 0.9772498680518208
    [0.8413447460685429, -0.15865525393145707, 1.9544997361036416, 0].forEach((w, i) => expect(g[i]).toBeCloseTo(w, 6));
    const s = evaluate((t) => silu(t.input('x', 'f32', [4])), { x });
    [0.7310585786300049, -0.2689414213699951, 1.7615941559557649, 0].forEach((w, i) => expect(s[i]).toBeCloseTo(w, 6));
    expect(activation('gelu')).toBe(gelu);
    const e = expectCode(() => activation('tanh' as 'relu'), 'E_CONFIG', /unknown activation 'tanh'/);
    expect(e.hint).toMatch(/relu, gelu, gelu-tanh, silu/);
  });

  it('gelu-tanh is GPT-2\'s gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))', () => {
    const g = evaluate((t) => geluTanh(t.input('x', 'f32', [4])), { x: vec([1, -1, 2, 0]) });
    // torch.nn.functional.gelu(x, approximate='tanh'), in float64 from the closed form
    [0.8411919906082768, -0.15880800939172324, 1.954597694087775, 0].forEach((w, i) => expect(g[i]).toBeCloseTo(w, 6));
    expect(activation('gelu-tanh')).toBe(geluTanh);
  });

  it('rmsNorm divides by sqrt(mean(x²) + eps) and scales by the weight', () => {
    const y = evaluate((t) => rmsNorm(t.input('x', 'f32', [2]), t.input('w', 'f32', [2]), 0), { x: vec([3, 4]), w: vec([1, 2]) });
    const rms = Math.sqrt(12.5);
    expect(y[0]).toBeCloseTo(3 / rms, 6);
    expect(y[1]).toBeCloseTo(8 / rms, 6);
    // eps matters for small inputs: x = [1e-3, 0] with eps 1e-6 gives 1e-3 / sqrt(5e-7 + 1e-6).
    const small = evaluate((t) => rmsNorm(t.input('x', 'f32', [2]), t.input('w', 'f32', [2])), { x: vec([1e-3, 0]), w: vec([1, 1]) });
    expect(small[0]).toBeCloseTo(1e-3 / Math.sqrt(1.5e-6), 5);
  });
});

describe('losses', () => {
  const logits = refTensor([2, 0, 0, 1, 3, 0], [3, 2]);
  const labels = refTensor([0, 1, 1], [3], 'i64');
  // per-row cross-entropy: log(1 + e^-2), log(1 + e^-1), log(1 + e^3)
  const ce = [Math.log1p(Math.exp(-2)), Math.log1p(Math.exp(-1)), Math.log1p(Math.exp(3))];

  it('cross-entropy: the mean, or sum(w·ce)/sum(w) with weights (torch cross_entropy with weight semantics per example)', () => {
    const mean = evaluate((t) => crossEntropy(t.input('l', 'f32', [3, 2]), t.input('y', 'i64', [3])), { l: logits, y: labels });
    expect(mean[0]).toBeCloseTo((ce[0] + ce[1] + ce[2]) / 3, 6);
    const w = vec([1, 2, 0.5]);
    const weighted = evaluate((t) => crossEntropy(t.input('l', 'f32', [3, 2]), t.input('y', 'i64', [3]), t.input('w', 'f32', [3])), { l: logits, y: labels, w });
    expect(weighted[0]).toBeCloseTo((ce[0] + 2 * ce[1] + 0.5 * ce[2]) / 3.5, 6);
    const acc = evaluate((t) => accuracy(t.input('l', 'f32', [3, 2]), t.input('y', 'i64', [3])), { l: logits, y: labels });
    expect(acc[0]).toBeCloseTo(2 / 3, 6); // rows 0 and 1 right, row 2 (3 > 0, label 1) wrong
  });

  it('mse: the mean squared error, weighted by example', () => {
    const p = vec([1, 2, 4]);
    const y = vec([0, 2, 1]);
    expect(evaluate((t) => mse(t.input('p', 'f32', [3]), t.input('y', 'f32', [3])), { p, y })[0]).toBeCloseTo(10 / 3, 6);
    const w = vec([3, 1, 1]);
    expect(evaluate((t) => mse(t.input('p', 'f32', [3]), t.input('y', 'f32', [3]), t.input('w', 'f32', [3])), { p, y, w })[0]).toBeCloseTo(12 / 5, 6);
  });
});

describe('layers, init and mode', () => {
  it('Linear: PyTorch init bounds 1/sqrt(fanIn), bias not decayed; a wrong input width names the layer', () => {
    const l = new Linear(16, 4).named().init(3);
    expect(Math.max(...l.weight.data.map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Math.max(...l.weight.data.map(Math.abs))).toBeGreaterThan(0.2);
    expect([l.weight.decay, l.bias!.decay]).toEqual([true, false]);
    expect(new Linear(2, 2, { bias: false }).bias).toBeUndefined();
    const e = expectCode(() => trace((g) => ({ y: l.call(g.input('x', 'f32', [1, 5])) })), 'E_SHAPE', /input has 5 features, the layer expects 16/);
    expect(e.hint).toMatch(/previous layer/);
    const ln = new LayerNorm(3).named().init(0);
    expect([...ln.weight.data, ...ln.bias.data]).toEqual([1, 1, 1, 0, 0, 0]);
    expect([ln.weight.decay, ln.bias.decay]).toEqual([false, false]);
  });

  it('initialisers: normal(std) has that spread, xavierUniform the Glorot bound', () => {
    const v = normal(0.5)(new Rng(1), [100, 100]);
    const sd = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    expect(sd).toBeGreaterThan(0.48);
    expect(sd).toBeLessThan(0.52);
    const u = xavierUniform(10, 20)(new Rng(2), [20, 10]);
    const bound = Math.sqrt(6 / 30);
    expect(Math.max(...u.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...u.map(Math.abs))).toBeGreaterThan(0.9 * bound);
  });

  it('MLP: hidden layers get the activation and dropout (training only); sizes are checked', () => {
    const mlp = new MLP([2, 3, 2], { activation: 'silu', dropout: 0.5 }).named().init(4);
    const [w1, b1, w2, b2] = mlp.parameters().map((p) => [...p.data]);
    const x = [0.5, -1];
    const h = [0, 1, 2].map((j) => {
      const z = w1[2 * j] * x[0] + w1[2 * j + 1] * x[1] + b1[j];
      return z / (1 + Math.exp(-z));
    });
    const want = [0, 1].map((k) => w2[3 * k] * h[0] + w2[3 * k + 1] * h[1] + w2[3 * k + 2] * h[2] + b2[k]);
    const params = Object.fromEntries(mlp.namedParameters().map(([name, p]) => [name, refTensor(p.data, p.shape)]));
    const feeds = { ...params, x: refTensor(x, [1, 2]) };
    const evalOut = evaluate((t) => mlp.call(t.input('x', 'f32', [1, 2])), feeds);
    want.forEach((w, i) => expect(evalOut[i]).toBeCloseTo(w, 5));
    const outs = new Set([1, 2, 3, 4, 5, 6].map((s) => evaluate((t) => withTraining(t.input('seed', 'i64', []), () => mlp.call(t.input('x', 'f32', [1, 2]))), { ...feeds, seed: refTensor([s], [], 'i64') }).join()));
    expect(outs.size).toBeGreaterThan(1);
    const e = expectCode(() => new MLP([4]), 'E_CONFIG', /an MLP needs at least input and output sizes, got \[4\]/);
    expect(e.hint).toMatch(/\[784, 1024, 10\]/);
  });

  it('eval mode has no seeds; in training, each random call site gets its own stream', () => {
    expect(currentMode().training).toBe(false);
    expect(() => currentMode().nextSeed()).toThrow(/random op in eval mode/);
    const n = 256;
    const y = runReference(trace((g) => {
      const x = g.input('x', 'f32', [n]);
      return withTraining(g.input('seed', 'i64', []), () => ({ a: dropout(x, 0.5), b: dropout(x, 0.5) }));
    }), { x: refTensor(new Array(n).fill(1), [n]), seed: refTensor([3], [], 'i64') });
    const differ = [...y.a.data].filter((v, i) => (v === 0) !== (y.b.data[i] === 0)).length;
    expect(differ).toBeGreaterThan(n / 4);
  });
});
