/**
 * Peer benchmark: the MLP training step of bench/tfjs-mlp.ts (784 -> 1024 ReLU -> 10, batch 256, softmax
 * cross-entropy, AdamW lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.01) in jax-js on its Wasm backend, the
 * way a JAX user writes it: `valueAndGrad` and the AdamW update under one `jit`. jax-js needs Node >= 22, so
 * {@link measureJaxMlp} runs it in a child process under Node 22.
 *
 *   node bin/run-ts.js bench/jaxjs-mlp.ts [--seconds 5] [--json]      (under Node >= 22)
 */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nodeBinary } from '../tests/package/install.ts';
import { runJsonChild } from './child.ts';
import { mlpStepFlops } from './flops.ts';
import { jaxVersion, loadJax } from './jaxjs-gpt.ts';
import { REPO_ROOT } from './report.ts';
import { median } from './stats.ts';
import type { StepResult } from './tfjs-mlp.ts';

type Arr = import('@jax-js/jax').Array;

const BATCH = 256;
const IN = 784;
const HIDDEN = 1024;
const CLASSES = 10;
const OPT = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

async function runInProcess(seconds: number): Promise<StepResult> {
  const jax = await loadJax('wasm');
  const { numpy: np, nn, tree, jit, valueAndGrad } = jax;
  const rand = (n: number, scale: number, seed: number) => {
    let s = seed;
    return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * scale);
  };
  let params: Record<string, Arr> = {
    w1: np.array(rand(IN * HIDDEN, 0.1, 1)).reshape([IN, HIDDEN]), b1: np.zeros([HIDDEN]),
    w2: np.array(rand(HIDDEN * CLASSES, 0.1, 2)).reshape([HIDDEN, CLASSES]), b2: np.zeros([CLASSES]),
  };
  let m = tree.map((p: Arr) => np.zerosLike(p.ref), params) as Record<string, Arr>;
  let v = tree.map((p: Arr) => np.zerosLike(p.ref), params) as Record<string, Arr>;
  const x = np.array(rand(BATCH * IN, 2, 3)).reshape([BATCH, IN]);
  const labels = np.array(Int32Array.from({ length: BATCH }, (_, i) => (i * 7) % CLASSES), { dtype: np.int32 });
  const loss = (p: Record<string, Arr>, xb: Arr, yb: Arr) => {
    const h = nn.relu(np.matmul(xb, p.w1).add(p.b1));
    const logits = np.matmul(h, p.w2).add(p.b2);
    return nn.logSoftmax(logits, -1).mul(nn.oneHot(yb, CLASSES)).sum(-1).mean().mul(-1);
  };
  const step = jit((p: Record<string, Arr>, mi: Record<string, Arr>, vi: Record<string, Arr>, xb: Arr, yb: Arr, t: Arr) => {
    const [value, grads] = valueAndGrad(loss)(tree.ref(p), xb, yb);
    const bc1 = np.power(OPT.beta1, t.ref).mul(-1).add(1);
    const bc2 = np.power(OPT.beta2, t).mul(-1).add(1);
    const m2 = tree.map((a: Arr, g: Arr) => a.mul(OPT.beta1).add(g.mul(1 - OPT.beta1)), mi, tree.ref(grads)) as Record<string, Arr>;
    const v2 = tree.map((a: Arr, g: Arr) => a.mul(OPT.beta2).add(np.square(g).mul(1 - OPT.beta2)), vi, grads) as Record<string, Arr>;
    const p2 = tree.map((w: Arr, a: Arr, b: Arr) => {
      const update = a.div(bc1.ref).div(np.sqrt(b.div(bc2.ref)).add(OPT.eps));
      return w.mul(1 - OPT.lr * OPT.weightDecay).sub(update.mul(OPT.lr));
    }, p, tree.ref(m2), tree.ref(v2)) as Record<string, Arr>;
    bc1.dispose();
    bc2.dispose();
    return { p: p2, m: m2, v: v2, loss: value };
  });
  let t = 0;
  const one = async () => {
    const r = step(params, m, v, x.ref, labels.ref, np.array(++t));
    ({ p: params, m, v } = r);
    await r.loss.data();
  };
  for (let i = 0; i < 3; i++) await one();
  const ms: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end || ms.length < 5) {
    const t0 = performance.now();
    await one();
    ms.push(performance.now() - t0);
  }
  const msPerStep = median(ms);
  return {
    name: 'jax-js wasm', backend: 'wasm', batch: BATCH, msPerStep, examplesPerSec: (BATCH * 1000) / msPerStep,
    gflops: mlpStepFlops(BATCH, IN, HIDDEN, CLASSES) / msPerStep / 1e6, steps: ms.length,
    notes: `@jax-js/jax ${jaxVersion()}, Node ${process.version}, whole step under jit`,
  };
}

/** Measures the jax-js MLP step in a child process under Node 22. */
export function measureJaxMlp(seconds: number): Promise<StepResult> {
  const args = [join(REPO_ROOT, 'bin', 'run-ts.js'), fileURLToPath(import.meta.url), '--seconds', String(seconds), '--json'];
  return runJsonChild<StepResult>('jax-js mlp', nodeBinary(22), args);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const seconds = Number(process.argv.includes('--seconds') ? process.argv[process.argv.indexOf('--seconds') + 1] : '5');
  const r = await runInProcess(seconds);
  console.log(process.argv.includes('--json') ? JSON.stringify(r) : r);
  process.exit(0);
}
