/**
 * "The same seed and data give the same weights" at the default thread count (issue 11): a GPT's embedding gradient
 * is a scatter-add of 2048 token rows onto a byte vocabulary, which ORT's multi-threaded ScatterND 'add' summed
 * differently (and wrongly) run after run. Tiny GPTs (dense, and MoE with dropless and with capacity dispatch) train
 * a few steps twice at 2 threads and must end bit-identical; the first-step embedding gradient at 2 threads must
 * equal the single-threaded one within fp32 rounding and be the same on every run.
 */
import { describe, expect, it } from 'vitest';
import { backward, trace } from '../../src/core/index.ts';
import { GPT, type GptConfig } from '../../src/models/gpt.ts';
import { adamw } from '../../src/optim/optimizer.ts';
import { compile } from '../../src/runtime/session.ts';
import { TrainStep } from '../../src/train/step.ts';
import { hostI64 } from '../nn/lm-helpers.ts';

const THREADS = 2;
const CFG: GptConfig = {
  vocab: 256, dModel: 128, layers: 1, heads: 2, context: 32, mlpHidden: 128, activation: 'gelu', norm: 'layernorm',
  position: 'learned', tieWeights: false, dropout: 0,
};
const B = 64;
const T = CFG.context;
const TEXT = Buffer.from('same seed, same data, same weights: run after run, at any given thread count. '.repeat(32));

/** `steps` batches of B windows of T bytes (inputs and next-byte targets), stacked for one TrainStep call. */
function batches(steps: number): { x: ReturnType<typeof hostI64>; y: ReturnType<typeof hostI64> } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let s = 0; s < steps; s++) for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    const at = (s * B + b) * 7 + t;
    xs.push(TEXT[at]);
    ys.push(TEXT[at + 1]);
  }
  return { x: hostI64([steps, B, T], xs), y: hostI64([steps, B, T], ys) };
}

/** Trains a fresh GPT (init seed 1) `steps` AdamW steps at `threads`; returns every parameter's final bytes. */
async function train(cfg: GptConfig, steps: number): Promise<Map<string, Buffer>> {
  const model = new GPT(cfg).init(1);
  const step = await TrainStep.compile({
    model, optimizer: adamw(), threads: THREADS, seed: 5,
    batch: { x: { dtype: 'i64', shape: [B, T] }, y: { dtype: 'i64', shape: [B, T] } },
    loss: (m, b) => (m as GPT).loss(b.x, b.y),
  });
  try {
    const r = await step.run(batches(steps), Array(steps).fill(1e-3));
    expect(r.nonFinite).toBeNull();
  } finally {
    await step.release();
  }
  return new Map(model.named().namedParameters().map(([n, p]) => [n, Buffer.from(p.data.slice().buffer)]));
}

describe(`training at ${THREADS} threads is repeatable`, () => {
  it.each([
    ['dense', CFG],
    ['MoE, dropless dispatch', { ...CFG, moe: { experts: 4, topK: 2, hidden: 64 } }],
    ['MoE, capacity dispatch', { ...CFG, moe: { experts: 4, topK: 2, hidden: 64, dispatch: 'capacity' as const } }],
  ])('%s: the same seed and data give bit-identical weights', async (_name, cfg) => {
    const a = await train(cfg, 3);
    const b = await train(cfg, 3);
    for (const [name, bytes] of a) expect(bytes.equals(b.get(name)!), name).toBe(true);
  });

  it('the first-step embedding gradient equals the 1-thread one within fp32 rounding, on every run', async () => {
    const model = new GPT(CFG).init(1).named();
    const wte = model.namedParameters().find(([n]) => n === 'wte.weight')![1];
    const graph = trace((g) => {
      const loss = model.loss(g.input('x', 'i64', [B, T]), g.input('y', 'i64', [B, T]));
      return { dwte: backward(loss, [wte.t])[0] };
    });
    const { x, y } = batches(1);
    const feeds: Record<string, ReturnType<typeof hostI64> | { dtype: 'f32'; shape: number[]; data: Float32Array }> = {
      x: { ...x, shape: [B, T] }, y: { ...y, shape: [B, T] },
    };
    for (const [n, p] of model.namedParameters()) feeds[n] = { dtype: 'f32', shape: p.shape, data: p.data };
    const gradients = async (threads: number, runs: number): Promise<Float32Array[]> => {
      const c = await compile(graph, { threads });
      try {
        const out: Float32Array[] = [];
        for (let r = 0; r < runs; r++) out.push((await c.run(feeds)).dwte.data as Float32Array);
        return out;
      } finally {
        await c.release();
      }
    };
    const [single] = await gradients(1, 1);
    const multi = await gradients(THREADS, 6);
    const norm = (g: Float32Array) => Math.sqrt(g.reduce((s, v) => s + v * v, 0));
    for (const g of multi) {
      expect(Buffer.from(g.buffer).equals(Buffer.from(multi[0].buffer))).toBe(true);
      expect(Math.abs(norm(g) - norm(single))).toBeLessThanOrEqual(1e-5 * norm(single));
      let worst = 0;
      for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(g[i] - single[i]));
      expect(worst).toBeLessThanOrEqual(1e-5 * Math.max(...single.map(Math.abs)));
    }
  });
});
