import { afterAll, describe, expect, it } from 'vitest';
import { backward } from '../../src/core/autodiff.ts';
import { currentGraph, type Tensor, trace } from '../../src/core/graph.ts';
import { add, mul, reduceSum } from '../../src/core/ops/index.ts';
import { collectExtras } from '../../src/nn/extras.ts';
import { mse } from '../../src/nn/functional.ts';
import { bind, type Parameter } from '../../src/nn/module.ts';
import { MoE, type MoEOptions } from '../../src/nn/moe.ts';
import { adamw } from '../../src/optim/optimizer.ts';
import { runReference } from '../../src/runtime/reference/index.ts';
import { CompiledGraph, type HostTensor } from '../../src/runtime/session.ts';
import { Forward } from '../../src/train/forward.ts';
import { TrainStep } from '../../src/train/step.ts';
import { gradCheck } from '../core/gradcheck.ts';
import { expectNear, hostF32, rand, ref, refRun } from './lm-helpers.ts';
import { moeLoop } from './moe-loop.ts';

const D = 6;
const E = 4;
const K = 2;
const HID = 8;

const make = (o: Partial<MoEOptions> = {}, seed = 1) => new MoE(D, { experts: E, topK: K, hidden: HID, auxLoss: 0, ...o }).named().init(seed);

const closers: { release(): Promise<void> }[] = [];
afterAll(async () => {
  for (const c of closers) await c.release();
});

/** The MoE's output, weighted aux losses and metrics (as `loss.<name>` / `metric.<name>`), traced under collectExtras. */
function withExtras(moe: MoE, x: Tensor): Record<string, Tensor> {
  const { value, extras } = collectExtras(() => moe.call(x));
  const out: Record<string, Tensor> = { y: value };
  for (const l of extras.losses) out[`loss.${l.name}`] = l.value;
  for (const [n, m] of Object.entries(extras.metrics)) out[`metric.${n}`] = m;
  return out;
}

function refMoE(moe: MoE, x: ArrayLike<number>, shape: number[]) {
  return refRun(moe, (g) => withExtras(moe, g.input('x', 'f32', shape)), { x: ref(shape, x) });
}

async function ortMoE(moe: MoE, x: Float32Array, shape: number[]): Promise<Record<string, HostTensor>> {
  const fwd = await Forward.compile(moe, (m, b) => withExtras(m as MoE, b.x), { x: { dtype: 'f32', shape } }, { threads: 1 });
  closers.push(fwd);
  return fwd.run({ x: hostF32(shape, x) });
}

describe('MoE forward equals a per-token float64 loop', () => {
  const shape = [2, 5, D];
  const n = 10;
  it.each<Partial<MoEOptions>>([
    { scoring: 'softmax' },
    { scoring: 'softmax', sharedExperts: 1 },
    { scoring: 'sigmoid' },
    { scoring: 'sigmoid', sharedExperts: 2, activation: 'silu' },
    { scoring: 'softmax', topK: 1, activation: 'relu' },
    { scoring: 'softmax', topK: E },
  ])('dropless %o (reference interpreter and ORT)', async (o) => {
    const moe = make(o, 11);
    const x = rand(5, n * D, 1.5);
    const want = moeLoop(moe, x, n);
    expect(want.gap).toBeGreaterThan(1e-4); // no routing ties, so float32 ORT routes like float64
    const r = refMoE(moe, x, shape);
    expect(r.y.shape).toEqual(shape);
    expectNear(r.y.data, want.y, 1e-7, 1e-7, 'reference y');
    expect([...r['metric.tokens_per_expert'].data]).toEqual(want.load);
    expect(r['metric.tokens_per_expert'].data.reduce((a, b) => a + b, 0)).toBe(n * moe.o.topK);
    const ort = await ortMoE(moe, x, shape);
    expectNear(ort.y.data as Float32Array, want.y, 1e-5, 1e-5, 'ORT y');
    expect([...(ort['metric.tokens_per_expert'].data as Float32Array)]).toEqual(want.load);
  });

  it('capacity dispatch with room for every token equals the dropless loop and drops nothing', async () => {
    for (const scoring of ['softmax', 'sigmoid'] as const) {
      const moe = make({ scoring, dispatch: 'capacity', capacityFactor: E / K }, 12); // C = N: no expert can overflow
      const x = rand(6, n * D);
      const want = moeLoop(moe, x, n);
      const r = refMoE(moe, x, shape);
      expectNear(r.y.data, want.y, 1e-7, 1e-7, `${scoring} reference y`);
      expect(r['metric.dropped_tokens'].data[0]).toBe(0);
      const ort = await ortMoE(moe, x, shape);
      expectNear(ort.y.data as Float32Array, want.y, 1e-5, 1e-5, `${scoring} ORT y`);
      expect((ort['metric.dropped_tokens'].data as Float32Array)[0]).toBe(0);
    }
  });

  it('a small capacity drops exactly what first-choices-first, then token order would drop', async () => {
    const moe = make({ dispatch: 'capacity', capacityFactor: 0.5 }, 13);
    const x = rand(7, n * D, 2);
    const C = Math.ceil((0.5 * n * K) / E); // 3 slots per expert
    const want = moeLoop(moe, x, n, { capacity: C });
    const tokenOrder = moeLoop(moe, x, n, { capacity: C, policy: 'tokenOrder' });
    expect(want.gap).toBeGreaterThan(1e-4);
    expect(want.dropped).toBeGreaterThan(0);
    // the data tells the two policies apart, so the test pins the policy down
    expect(want.kept).not.toEqual(tokenOrder.kept);
    // a dropped assignment is never restored by renormalising: kept gates are the router's gates
    const r = refMoE(moe, x, shape);
    expect(r['metric.dropped_tokens'].data[0]).toBe(want.dropped);
    expectNear(r.y.data, want.y, 1e-7, 1e-7, 'reference y');
    expect(Math.max(...r.y.data.map((v, i) => Math.abs(v - tokenOrder.y[i])))).toBeGreaterThan(1e-3);
    const ort = await ortMoE(moe, x, shape);
    expect((ort['metric.dropped_tokens'].data as Float32Array)[0]).toBe(want.dropped);
    expectNear(ort.y.data as Float32Array, want.y, 1e-5, 1e-5, 'ORT y');
  });
});

describe('an expert that receives no tokens', () => {
  const n = 8;
  /** Feature 0 of every token is 1 and expert 3's router row is -20 there: it is never in anyone's top 2. */
  function setup() {
    const moe = make({ auxLoss: 0.01, zLoss: 0.001 }, 21);
    const x = rand(8, n * D);
    for (let t = 0; t < n; t++) x[t * D] = 1;
    const R = moe.router.weight.data;
    for (let c = 0; c < D; c++) R[3 * D + c] = c === 0 ? -20 : 0;
    return { moe, x };
  }
  /** loss = sum(y * r) + aux losses; gradients w.r.t. x and every trainable parameter. */
  function gradGraph(moe: MoE, params: Parameter[]) {
    return trace((g) => {
      const x = g.input('x', 'f32', [n, D]);
      const { value, extras } = collectExtras(() => moe.call(x));
      const loss = extras.losses.reduce((a, l) => add(a, l.value), reduceSum(mul(value, g.input('r', 'f32', [n, D]))));
      const grads = backward(loss, [x, ...params.map((p) => p.t)]);
      return { y: value, loss, tpe: extras.metrics.tokens_per_expert, gx: grads[0], ...Object.fromEntries(params.map((p, i) => [`g.${p.name}`, grads[i + 1]])) };
    });
  }

  it('forward and backward run in the reference interpreter and on ORT; its weights get exactly zero gradient', async () => {
    const { moe, x } = setup();
    const want = moeLoop(moe, x, n);
    expect(want.load[3]).toBe(0);
    const params = moe.parameters().filter((p) => p.trainable);
    const g = gradGraph(moe, params);
    const rr = rand(9, n * D);
    const refFeeds = { x: ref([n, D], x), r: ref([n, D], rr), ...Object.fromEntries(params.map((p) => [p.name, ref(p.shape, p.data)])) };
    const refOut = runReference(g, refFeeds);
    expectNear(refOut.y.data, want.y, 1e-7, 1e-7, 'reference y');
    expect([...refOut.tpe.data]).toEqual(want.load);

    const compiled = await CompiledGraph.create(g, { threads: 1 });
    closers.push(compiled);
    const ortOut = await compiled.run({ x: hostF32([n, D], x), r: hostF32([n, D], rr), ...Object.fromEntries(params.map((p) => [p.name, hostF32(p.shape, p.data)])) });
    expectNear(ortOut.y.data as Float32Array, want.y, 1e-5, 1e-5, 'ORT y');
    expect([...(ortOut.tpe.data as Float32Array)]).toEqual(want.load);
    expectNear(ortOut.loss.data as Float32Array, refOut.loss.data, 1e-5, 1e-5, 'loss');
    expectNear(ortOut.gx.data as Float32Array, refOut.gx.data, 1e-5, 1e-4, 'grad x');

    for (const name of ['experts.w1', 'experts.b1', 'experts.w2', 'experts.b2']) {
      const p = moe.namedParameters().find(([m]) => m === name)![1];
      const per = p.data.length / E;
      for (const [which, out] of [['reference', refOut[`g.${name}`].data], ['ORT', ortOut[`g.${name}`].data as Float32Array]] as const) {
        expect(out.length).toBe(p.data.length);
        // expert 3: exactly zero (no NaN from an empty batch); the others: real gradients
        expect([...out.subarray(3 * per, 4 * per)].every((v) => v === 0), `${which} ${name} expert 3`).toBe(true);
        for (let e = 0; e < 3; e++) expect(Math.max(...[...out.subarray(e * per, (e + 1) * per)].map(Math.abs)), `${which} ${name} expert ${e}`).toBeGreaterThan(0);
      }
      expectNear(ortOut[`g.${name}`].data as Float32Array, refOut[`g.${name}`].data, 1e-5, 1e-4, `grad ${name}`);
    }
    expectNear(ortOut['g.router.weight'].data as Float32Array, refOut['g.router.weight'].data, 1e-5, 1e-4, 'grad router');
  });

  it('a training step on ORT with the empty expert keeps its weights (and the rest moves)', async () => {
    const { moe, x } = setup();
    const before = moe.experts.w1.data.slice();
    const load = moeLoop(moe, x, n).load;
    const step = await TrainStep.compile({ model: moe, optimizer: adamw({ weightDecay: 0 }), batch: { x: { dtype: 'f32', shape: [n, D] }, y: { dtype: 'f32', shape: [n, D] } }, loss: (m, b) => mse(m.call(b.x), b.y), threads: 1 });
    closers.push(step);
    const r = await step.run({ x: hostF32([1, n, D], x), y: hostF32([1, n, D], rand(10, n * D)) }, [0.01]);
    expect(r.nonFinite).toBeNull();
    const per = before.length / E;
    expect([...moe.experts.w1.data.subarray(3 * per)]).toEqual([...before.subarray(3 * per)]);
    expect(moe.experts.w1.data.subarray(0, per)).not.toEqual(before.subarray(0, per));
    expect([...r.metrics.tokens_per_expert]).toEqual(load);
    expect(load[3]).toBe(0);
  });
});

describe('MoE gradients match finite differences (dropless, routing far from ties)', () => {
  const n = 5;
  const d = 4;
  it.each<Partial<MoEOptions>>([{ scoring: 'softmax' }, { scoring: 'sigmoid', sharedExperts: 1 }])('%o w.r.t. input, router and expert weights', (o) => {
    const moe = new MoE(d, { experts: E, topK: K, hidden: 5, auxLoss: 0, ...o }).named().init(31);
    const x = rand(32, n * d, 1.5);
    expect(moeLoop(moe, x, n).gap).toBeGreaterThan(1e-3); // eps = 1e-6 perturbations cannot flip a routing decision
    const params = moe.parameters().filter((p) => p.trainable);
    const f = (xIn: Tensor, ...ps: Tensor[]) => {
      params.forEach((p, i) => bind(currentGraph(), p, ps[i]));
      return moe.call(xIn);
    };
    gradCheck(f, [{ shape: [n, d], gen: Array.from(x) }, ...params.map((p) => ({ shape: p.shape, gen: Array.from(p.data) }))], { seed: 3 });
  });

  it('aux and z losses w.r.t. input and router (the load fraction is a constant, as with stopGradient)', () => {
    const moe = new MoE(d, { experts: E, topK: K, hidden: 5, auxLoss: 0.5, zLoss: 0.1 }).named().init(33);
    const x = rand(34, n * d, 1.5);
    expect(moeLoop(moe, x, n).gap).toBeGreaterThan(1e-3);
    const f = (xIn: Tensor, router: Tensor) => {
      bind(currentGraph(), moe.router.weight, router);
      const { extras } = collectExtras(() => moe.call(xIn));
      expect(extras.losses.map((l) => l.name)).toEqual(['aux_loss', 'z_loss']);
      return add(extras.losses[0].value, extras.losses[1].value);
    };
    // the expert weights are inputs the losses do not read: feed them as graph inputs under their names
    const g = (xIn: Tensor, router: Tensor, ...rest: Tensor[]) => {
      moe.parameters().filter((p) => p.trainable && p !== moe.router.weight).forEach((p, i) => bind(currentGraph(), p, rest[i]));
      return f(xIn, router);
    };
    const others = moe.parameters().filter((p) => p.trainable && p !== moe.router.weight);
    gradCheck(g, [{ shape: [n, d], gen: Array.from(x) }, { shape: moe.router.weight.shape, gen: Array.from(moe.router.weight.data) }, ...others.map((p) => ({ shape: p.shape, gen: Array.from(p.data), wrt: false }))], { seed: 4 });
  });
});

describe('MoE auxiliary losses and telemetry, by hand', () => {
  const n = 12;
  it.each(['softmax', 'sigmoid'] as const)('%s scoring: aux = E * sum(f_e * P_e) * coef (softmax), z = coef * mean(logsumexp^2), router entropy', (scoring) => {
    const aux = 0.03;
    const z = 0.002;
    const moe = make({ scoring, auxLoss: aux, zLoss: z }, 41);
    const x = rand(42, n * D, 2);
    const want = moeLoop(moe, x, n);
    const r = refMoE(moe, x, [n, D]);
    const f = want.load.map((l) => l / (n * K));
    const P = Array.from({ length: E }, (_, e) => want.probs.reduce((a, p) => a + p[e], 0) / n);
    const auxWant = E * f.reduce((a, fe, e) => a + fe * P[e], 0) * aux;
    // (sigmoid scoring: P_e is the mean raw sigmoid score here, where DeepSeek-V3 averages normalised scores; not pinned)
    if (scoring === 'softmax') expectNear(r['loss.aux_loss'].data, [auxWant], 1e-12, 1e-7, 'aux_loss'); // coefficients are f32 constants
    else expect(r['loss.aux_loss'].data[0]).toBeGreaterThan(0);
    const lse = want.logits.map((l) => {
      const m = Math.max(...l);
      return m + Math.log(l.reduce((a, v) => a + Math.exp(v - m), 0));
    });
    expectNear(r['loss.z_loss'].data, [(z * lse.reduce((a, v) => a + v * v, 0)) / n], 1e-12, 1e-7, 'z_loss');
    const entropy = -want.probs.reduce((acc, p) => {
      const s = p.reduce((a, b) => a + b, 0);
      return acc + p.reduce((a, v) => a + (v / s) * Math.log(v / s + 1e-9), 0);
    }, 0) / n;
    expectNear(r['metric.router_entropy'].data, [entropy], 1e-12, 1e-7, 'router_entropy');
    expect([...r['metric.tokens_per_expert'].data]).toEqual(want.load);
  });

  it('coefficients of 0 add no loss terms', () => {
    const moe = make({ auxLoss: 0, zLoss: 0 });
    const r = refMoE(moe, rand(1, 3 * D), [3, D]);
    expect(Object.keys(r).filter((k) => k.startsWith('loss.'))).toEqual([]);
  });
});

describe('auxiliary-loss-free balancing (routing bias)', () => {
  it('a TrainStep carries the routerBias buffer through the Loop and moves it toward balance', async () => {
    const n = 16;
    const rate = 0.05;
    const moe = make({ biasUpdateRate: rate }, 51);
    expect(moe.routerBias!.trainable).toBe(false);
    expect(moe.namedParameters().map(([name]) => name)).toContain('routerBias');
    const x = rand(52, n * D, 2);
    const y = rand(53, n * D);
    const steps = 3;
    const step = await TrainStep.compile({ model: moe, optimizer: adamw(), batch: { x: { dtype: 'f32', shape: [n, D] }, y: { dtype: 'f32', shape: [n, D] } }, loss: (m, b) => mse(m.call(b.x), b.y), threads: 1 });
    closers.push(step);
    expect([...step.optimizerState.keys()].some((k) => k.startsWith('routerBias'))).toBe(false);
    const xs = new Float32Array(steps * n * D);
    const ys = new Float32Array(steps * n * D);
    for (let s = 0; s < steps; s++) {
      xs.set(x, s * n * D);
      ys.set(y, s * n * D);
    }
    // learning rate 0: the router stays put, so the bias alone changes routing from step to step
    const router = moe.router.weight.data.slice();
    const r = await step.run({ x: hostF32([steps, n, D], xs), y: hostF32([steps, n, D], ys) }, Array(steps).fill(0));
    expect(r.nonFinite).toBeNull();
    expect([...moe.router.weight.data]).toEqual([...router]);

    let bias = new Float64Array(E);
    const loads: number[][] = [];
    for (let s = 0; s < steps; s++) {
      const want = moeLoop(moe, x, n, { bias });
      expect(want.gap).toBeGreaterThan(1e-4);
      loads.push(want.load);
      const mean = want.load.reduce((a, b) => a + b, 0) / E;
      bias = bias.map((b, e) => b + rate * Math.sign(mean - want.load[e]));
      if (s === 0) {
        const most = want.load.indexOf(Math.max(...want.load));
        const least = want.load.indexOf(Math.min(...want.load));
        expect(want.load[most]).toBeGreaterThan(want.load[least]);
        expect(bias[most]).toBeLessThan(0);
        expect(bias[least]).toBeGreaterThan(0);
      }
    }
    expect([...r.metrics.tokens_per_expert]).toEqual(loads.flat());
    expectNear(moe.routerBias!.data, bias, 1e-6, 0, 'routerBias');
    expect(bias.some((b) => b !== 0)).toBe(true);
    // the bias written by micro-step 1 reached micro-step 2 inside the Loop: routing changed with the weights fixed
    expect(loads[1]).not.toEqual(loads[0]);
    // eval mode (Forward) reads the bias but never updates it
    const fwd = await Forward.compile(moe, (m, b) => ({ y: m.call(b.x) }), { x: { dtype: 'f32', shape: [n, D] } }, { threads: 1 });
    closers.push(fwd);
    const kept = moe.routerBias!.data.slice();
    expectNear((await fwd.run({ x: hostF32([n, D], x) })).y.data as Float32Array, moeLoop(moe, x, n).y, 1e-5, 1e-5, 'forward with bias');
    expect([...moe.routerBias!.data]).toEqual([...kept]);
  });
});
