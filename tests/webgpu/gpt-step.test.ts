/**
 * A whole GPT training step (forward, backward, clipping, AdamW; K micro-steps in one call) on WebGPU gives the
 * ONNX Runtime step's losses, gradient norms, updated parameters and optimizer state within fp32 tolerance,
 * dense and MoE, with and without gradient accumulation (dropout off: the GPU's random stream is not the CPU's).
 */
import { afterAll, describe, it } from 'vitest';
import type { Tensor } from '../../src/core/graph.ts';
import { GPT, type GptConfig } from '../../src/models/gpt.ts';
import type { Module } from '../../src/nn/module.ts';
import { adamw } from '../../src/optim/optimizer.ts';
import { releaseSharedWebGpuDevice } from '../../src/runtime/compile-for.ts';
import { webgpuOps } from '../../src/runtime/webgpu/kernels/index.ts';
import { probeDevice } from './helpers.ts';
import { expectSameState, releasePair, runBoth, stepPair, tokenBatches } from './step-helpers.ts';

const { gpu, title } = await probeDevice();
afterAll(() => releaseSharedWebGpuDevice());

const DENSE: GptConfig = {
  vocab: 24, dModel: 16, layers: 2, heads: 2, context: 6, mlpHidden: 24, activation: 'gelu', norm: 'layernorm',
  position: 'learned', tieWeights: false, dropout: 0,
};
const MOE: GptConfig = { ...DENSE, moe: { experts: 4, topK: 2, hidden: 12, layers: 'alternate', auxLoss: 0.01 } };
const BATCH = 2;
const TOL = { rtol: 2e-3, atol: 2e-5 };

/**
 * The key bias of every attention layer: its true gradient is 0 (softmax is invariant to the same shift of a
 * whole row of scores), so its computed gradient is rounding noise that AdamW normalises into steps of up to
 * about lr each, in a direction no two fp32 implementations share. It is compared within the sum of the rates.
 */
function keyBiases(cfg: GptConfig): Map<string, Set<number>> {
  const k = new Set(Array.from({ length: cfg.dModel }, (_, i) => cfg.dModel + i));
  return new Map(Array.from({ length: cfg.layers }, (_, l) => [`blocks.${l}.attn.qkv.bias`, k]));
}

/** Two calls of K micro-steps on both devices; results and the whole state compared after each call. */
async function compareGpt(cfg: GptConfig, accumulate: number, k: number): Promise<void> {
  const ids = { dtype: 'i64' as const, shape: [BATCH, cfg.context] };
  const spec = { x: ids, y: ids };
  const pair = await stepPair(() => new GPT(cfg).init(3), {
    loss: (m: Module, b: Record<string, Tensor>) => (m as GPT).loss(b.x, b.y),
    batch: spec, optimizer: adamw({ weightDecay: 0.1, beta2: 0.95 }), clipNorm: 1, accumulate, seed: 5,
  });
  try {
    let rateSum = 0;
    for (let call = 0; call < 2; call++) {
      const lrs = Array.from({ length: k / accumulate }, (_, u) => 3e-3 * (1 + u + call));
      rateSum += lrs.reduce((a, b) => a + b, 0);
      await runBoth(pair, tokenBatches(11 + call, k, BATCH, cfg.context, cfg.vocab), lrs, TOL);
      await expectSameState(pair, TOL, keyBiases(cfg), 2 * rateSum);
    }
  } finally {
    await releasePair(pair);
  }
}

describe.skipIf(!gpu)(title('GPT training step: WebGPU vs ONNX Runtime'), () => {
  it('dense GPT, K=3 micro-steps per call, accumulate 1', () => compareGpt(DENSE, 1, 3));
  it('dense GPT, K=4 micro-steps per call, accumulate 2', () => compareGpt(DENSE, 2, 4));
  // MoE routes tokens with splitRows/concatRows (run-time row counts), whose WebGPU kernels come from the
  // webgpu-ops work: until they are merged this runs as a visible skip, after the merge it runs.
  it.skipIf(!webgpuOps().includes('splitRows'))('MoE GPT, K=3, accumulate 1', () => compareGpt(MOE, 1, 3));
  it.skipIf(!webgpuOps().includes('splitRows'))('MoE GPT, K=4, accumulate 2', () => compareGpt(MOE, 2, 4));
});
