/**
 * jax-js's side of the LM training benchmark: the GPT of bench/lm-config.ts written the way a JAX user writes
 * it — pure functions over a parameter tree, `valueAndGrad`, AdamW as a tree map, the whole step under one `jit`
 * (jax-js fuses elementwise chains into single kernels under `jit`) — on jax-js's `wasm` (CPU) or `webgpu`
 * backend. Under Node, WebGPU comes from the `webgpu` package (Dawn): jax-js reads `navigator.gpu`, so it gets
 * the same Dawn instance Switchyard uses.
 *
 * MoE: jax-js arrays have static shapes, so the experts use the GShard/Flax idiom — top-k routing, an expert
 * capacity of 1.25 x the balanced load, one-hot dispatch and combine tensors contracted with einsum — the way
 * a JAX user writes a static-shape MoE (tokens past an expert's capacity are dropped, which Switchyard's and
 * PyTorch's dropless layers never do; the dispatch einsums add work the FLOP count does not credit).
 *
 *   node bin/run-ts.js bench/jaxjs-gpt.ts --config dense|moe|large-dense|large-moe --device wasm|webgpu
 *     [--seconds 10] [--json]
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ALL_LM_CONFIGS, activeParams, lmStepFlops, type LmConfig, type LmConfigName, type LmPeerResult, totalParams } from './lm-config.ts';
import { nodeBinary } from '../tests/package/install.ts';
import { runJsonChild } from './child.ts';
import { REPO_ROOT } from './report.ts';
import { median } from './stats.ts';

type Jax = typeof import('@jax-js/jax');
type Arr = import('@jax-js/jax').Array;

/** A block's parameters: attention, norms, and a dense MLP or the experts' stacked weights. */
type Block = Record<string, Arr>;
/** The model's parameter tree. */
type Params = { tok: Arr; pos: Arr; lnfW: Arr; lnfB: Arr; head: Arr; blocks: Block[] };

/** Makes the `navigator.gpu` jax-js reads from Dawn's Node binding (a no-op in a browser). */
async function provideNavigatorGpu(): Promise<void> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return;
  const { create, globals } = (await import('webgpu')) as unknown as { create(o: string[]): unknown; globals: object };
  for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]), userAgent: 'Node' }, configurable: true });
}

/** Loads jax-js with `device` as its default device. */
export async function loadJax(device: 'wasm' | 'webgpu'): Promise<Jax> {
  if (device === 'webgpu') await provideNavigatorGpu();
  const jax = await import('@jax-js/jax');
  const devices = await jax.init(device);
  if (!devices.includes(device)) throw new Error(`jax-js has no ${device} device here (has ${devices.join(', ')})`);
  jax.defaultDevice(device);
  return jax;
}

/** Deterministic N(0, std) weights (Box-Muller over a 32-bit LCG): the values do not matter, only the shapes. */
function normal(n: number, std: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

function initParams(jax: Jax, c: LmConfig): Params {
  const np = jax.numpy;
  let seed = c.seed;
  const w = (shape: number[]) => np.array(normal(shape.reduce((a, b) => a * b, 1), 0.02, seed++)).reshape(shape);
  const d = c.dModel;
  const block = (): Block => {
    const b: Block = {
      ln1W: np.ones([d]), ln1B: np.zeros([d]), qkvW: w([d, 3 * d]), qkvB: np.zeros([3 * d]),
      projW: w([d, d]), projB: np.zeros([d]), ln2W: np.ones([d]), ln2B: np.zeros([d]),
    };
    if (c.experts > 0) {
      const e = c.experts;
      const h = c.mlpHidden;
      Object.assign(b, { router: w([d, e]), fcW: w([e, d, h]), fcB: np.zeros([e, h]), outW: w([e, h, d]), outB: np.zeros([e, d]) });
    } else {
      Object.assign(b, { fcW: w([d, c.mlpHidden]), fcB: np.zeros([c.mlpHidden]), outW: w([c.mlpHidden, d]), outB: np.zeros([d]) });
    }
    return b;
  };
  return {
    tok: w([c.vocab, d]), pos: w([c.context, d]), lnfW: np.ones([d]), lnfB: np.zeros([d]), head: w([d, c.vocab]),
    blocks: Array.from({ length: c.layers }, block),
  };
}

/** The model's loss as a pure function of (params, x, y); every array is used once (jax-js's ownership rule). */
function lossFn(jax: Jax, c: LmConfig) {
  const { numpy: np, nn, lax } = jax;
  const B = c.batch;
  const T = c.context;
  const d = c.dModel;
  const H = c.heads;
  const layerNorm = (x: Arr, w: Arr, b: Arr) => {
    const xc = x.ref.sub(x.mean(-1, { keepdims: true }));
    const v = np.square(xc.ref).mean(-1, { keepdims: true });
    return xc.div(np.sqrt(v.add(c.lnEps))).mul(w).add(b);
  };
  const gelu = (x: Arr) => nn.gelu(x, { approximate: false });
  const attention = (x: Arr, p: Block) => {
    const qkv = np.matmul(x, p.qkvW).add(p.qkvB).reshape([B, T, 3, H, d / H]);
    const [q, k, v] = np.split(qkv, 3, 2).map((a) => a.reshape([B, T, H, d / H]));
    const o = nn.dotProductAttention(q, k, v, { isCausal: true }).reshape([B, T, d]);
    return np.matmul(o, p.projW).add(p.projB);
  };
  const mlp = (x: Arr, p: Block) => np.matmul(gelu(np.matmul(x, p.fcW).add(p.fcB)), p.outW).add(p.outB);
  const moe = (x: Arr, p: Block): [Arr, Arr] => {
    const N = B * T;
    const E = c.experts;
    const K = c.topK;
    const C = Math.ceil((1.25 * N * K) / E);
    const flat = x.reshape([N, d]);
    const probs = nn.softmax(np.matmul(flat.ref, p.router), -1);
    // The chosen experts carry no gradient; the gates are read through the one-hot mask (a product, whose
    // gradient stays inside jit: the scatter that top-k's own gradient lowers to does not compile under jax-js jit).
    const [top, idx] = lax.topK(lax.stopGradient(probs.ref), K, -1);
    top.dispose();
    const mask = nn.oneHot(idx, E); // [N, K, E]
    const gate = probs.ref.reshape([N, 1, E]).mul(mask.ref).sum(-1); // [N, K]
    const gates = gate.ref.div(gate.sum(-1, { keepdims: true }));
    // Slot of each (token, choice) in its expert's buffer, first choices first: a running count per expert.
    const byChoice = mask.ref.transpose([1, 0, 2]).reshape([K * N, E]);
    const position = np.cumsum(byChoice.ref, 0).sub(1).mul(byChoice.ref).sum(-1).astype(np.int32);
    const kept = byChoice.mul(nn.oneHot(position.ref, C).sum(-1, { keepdims: true })); // position < C
    const slot = nn.oneHot(np.clip(position, 0, C - 1), C); // [K*N, C]
    const dispatchK = np.einsum('me,mc->mec', kept, slot).reshape([K, N, E, C]);
    const gatesK = gates.transpose([1, 0]).reshape([K, N, 1, 1]);
    const combine = dispatchK.ref.mul(gatesK).sum(0);
    const dispatch = dispatchK.sum(0);
    const inputs = np.einsum('nec,nd->ecd', dispatch, flat);
    const hidden = gelu(np.einsum('ecd,edh->ech', inputs, p.fcW).add(p.fcB.reshape([E, 1, c.mlpHidden])));
    const outs = np.einsum('ech,ehd->ecd', hidden, p.outW).add(p.outB.reshape([E, 1, d]));
    const y = np.einsum('nec,ecd->nd', combine, outs).reshape([B, T, d]);
    // Switch load-balancing loss: fraction of assignments per expert (no gradient) x mean router probability.
    const fraction = lax.stopGradient(mask.sum([0, 1]).div(N * K));
    const aux = fraction.mul(probs.mean(0)).sum().mul(E * c.auxLossCoef);
    return [y, aux];
  };
  return (params: Params, x: Arr, y: Arr): Arr => {
    let h = np.take(params.tok, x, 0).add(params.pos);
    let aux: Arr | null = null;
    for (const p of params.blocks) {
      h = h.ref.add(attention(layerNorm(h, p.ln1W, p.ln1B), p));
      const normed = layerNorm(h.ref, p.ln2W, p.ln2B);
      if (c.experts > 0) {
        const [out, a] = moe(normed, p);
        h = h.add(out);
        aux = aux ? aux.add(a) : a;
      } else {
        h = h.add(mlp(normed, p));
      }
    }
    const logits = np.matmul(layerNorm(h, params.lnfW, params.lnfB), params.head);
    const nll = nn.logSoftmax(logits, -1).mul(nn.oneHot(y, c.vocab)).sum(-1).mean().mul(-1);
    return aux ? nll.add(aux) : nll;
  };
}

/** One jitted training step: loss and gradients, then AdamW (PyTorch semantics) over the parameter tree. */
function trainStep(jax: Jax, c: LmConfig) {
  const { numpy: np, tree, jit, valueAndGrad } = jax;
  const o = c.optimizer;
  const loss = lossFn(jax, c);
  return jit((params: Params, m: Params, v: Params, x: Arr, y: Arr, t: Arr) => {
    const [value, grads] = valueAndGrad(loss)(tree.ref(params), x, y);
    const bc1 = np.power(o.beta1, t.ref).mul(-1).add(1);
    const bc2 = np.power(o.beta2, t).mul(-1).add(1);
    const m2 = tree.map((mi: Arr, g: Arr) => mi.mul(o.beta1).add(g.mul(1 - o.beta1)), m, tree.ref(grads)) as Params;
    const v2 = tree.map((vi: Arr, g: Arr) => vi.mul(o.beta2).add(np.square(g).mul(1 - o.beta2)), v, grads) as Params;
    const p2 = tree.map((p: Arr, mi: Arr, vi: Arr) => {
      const update = mi.div(bc1.ref).div(np.sqrt(vi.div(bc2.ref)).add(o.eps));
      return p.ref.mul(1 - o.lr * o.weightDecay).sub(update.mul(o.lr));
    }, params, tree.ref(m2), tree.ref(v2)) as Params;
    bc1.dispose();
    bc2.dispose();
    return { params: p2, m: m2, v: v2, loss: value };
  });
}

/** The installed jax-js version (its package.json sits above the resolved entry point). */
export function jaxVersion(): string {
  const entry = fileURLToPath(import.meta.resolve('@jax-js/jax'));
  return (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** Measures one config on one jax-js device (median ms per step over `seconds`, after 2 warm-up steps). */
export async function measureJaxGpt(name: LmConfigName, device: 'wasm' | 'webgpu', seconds: number): Promise<LmPeerResult> {
  const c = ALL_LM_CONFIGS[name];
  const jax = await loadJax(device);
  const np = jax.numpy;
  let params = initParams(jax, c);
  let m = jax.tree.map((p: Arr) => np.zerosLike(p.ref), params) as Params;
  let v = jax.tree.map((p: Arr) => np.zerosLike(p.ref), params) as Params;
  let seed = c.seed;
  const bytes = Int32Array.from(normal(c.batch * (c.context + 1), 1, seed++), (z) => Math.floor((Math.abs(z) * 997) % c.vocab));
  const rows = np.array(bytes, { dtype: np.int32 }).reshape([c.batch, c.context + 1]);
  const xs = rows.ref.slice([], [0, c.context]);
  const ys = rows.slice([], [1, c.context + 1]);
  const step = trainStep(jax, c);
  let t = 0;
  const one = async () => {
    t++;
    const r = step(params, m, v, xs.ref, ys.ref, np.array(t));
    ({ params, m, v } = r);
    return (await r.loss.data())[0];
  };
  const lossFirst = await one();
  await one();
  const samples: number[] = [];
  let lossLast = lossFirst;
  let peak = process.memoryUsage().rss;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || samples.length < 3) {
    const t0 = performance.now();
    lossLast = await one();
    samples.push(performance.now() - t0);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const ms = median(samples);
  const tokens = c.batch * c.context;
  return {
    name: `jax-js ${device}`, config: name, msPerStep: ms, tokensPerSec: (tokens * 1000) / ms, gflops: lmStepFlops(c) / ms / 1e6,
    peakRssMB: peak / 2 ** 20, params: totalParams(c), activeParams: activeParams(c), steps: samples.length, lossFirst, lossLast,
    threads: device === 'wasm' ? 1 : 0, version: `@jax-js/jax ${jaxVersion()}`,
    notes: c.experts > 0 ? 'whole step under jit; MoE by GShard einsum dispatch, capacity 1.25 (drops overflow)' : 'whole step under jit',
  };
}

/**
 * Measures one config on jax-js's Wasm (CPU) backend in a child process under Node 22 (jax-js needs its iterator
 * helpers; the binary comes from the npm registry's `node` package, cached like the package tests' Node lines).
 */
export function measureJaxLmCpu(name: 'dense' | 'moe', seconds: number): Promise<LmPeerResult> {
  const args = [join(REPO_ROOT, 'bin', 'run-ts.js'), fileURLToPath(import.meta.url), '--config', name, '--device', 'wasm', '--seconds', String(seconds), '--json'];
  return runJsonChild<LmPeerResult>(`jax-js (${name})`, nodeBinary(22), args);
}

// Run as a script (not when bundled into bench/gpu's bench.mjs, where import.meta.url is the bundle's).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && /jaxjs-gpt\.ts$/.test(process.argv[1])) {
  const arg = (n: string, d: string) => (process.argv.includes(`--${n}`) ? process.argv[process.argv.indexOf(`--${n}`) + 1] : d);
  const res = await measureJaxGpt(arg('config', 'dense') as LmConfigName, arg('device', 'wasm') as 'wasm' | 'webgpu', Number(arg('seconds', '10')));
  console.log(process.argv.includes('--json') ? JSON.stringify(res) : res);
  // Dawn's threads outlive the event loop's work: leave at once, as a browser tab would be closed.
  process.exit(0);
}
