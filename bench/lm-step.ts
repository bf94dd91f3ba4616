/**
 * The Switchyard GPT training step of the LM benchmarks, on the CPU (ONNX Runtime) or WebGPU: the configs of
 * bench/lm-config.ts as a GPT, one compiled step with the fixed benchmark batch stacked K times. Imports nothing
 * that loads onnxruntime-node by itself, so the GPU benchmark (bench/gpu) can use it where ORT is absent.
 */
import { GPT, gptStepFlops, type GptConfig } from '../src/models/gpt.ts';
import { adamw, sgd } from '../src/optim/index.ts';
import { TrainStep } from '../src/train/step.ts';
import { Rng } from '../src/util/rng.ts';
import { lmStepFlops, type LmConfig } from './lm-config.ts';

/** The benchmark config as a Switchyard GPT config. */
export function gptConfigOf(c: LmConfig): GptConfig {
  const base: GptConfig = { vocab: c.vocab, dModel: c.dModel, layers: c.layers, heads: c.heads, context: c.context, mlpHidden: c.mlpHidden, activation: 'gelu', norm: 'layernorm', position: 'learned', tieWeights: false, dropout: 0 };
  return c.experts > 0 ? { ...base, moe: { experts: c.experts, topK: c.topK, hidden: c.mlpHidden, auxLoss: c.auxLossCoef, dispatch: 'dropless' } } : base;
}

/** What {@link prepareLmStep} may change of a benchmark config (the MoE study varies these). */
export interface LmStepVariant {
  /** The MoE layer, or `null` for a dense MLP (default: as the config says). */
  moe?: GptConfig['moe'] | null;
  /** Default `adamw` with the config's hyper-parameters. */
  optimizer?: 'adamw' | 'sgd';
  /** Where the step runs (default the CPU, 2 ORT threads). */
  device?: 'cpu' | 'webgpu';
}

/**
 * One config's model and compiled step, with the fixed benchmark batch stacked `stepsPerCall` times; `variant`
 * swaps the MLP or the optimizer (the FLOP check then applies to the benchmark configs only).
 */
export async function prepareLmStep(c: LmConfig, stepsPerCall: number, variant: LmStepVariant = {}) {
  const base = gptConfigOf(c);
  const cfg: GptConfig = variant.moe === undefined ? base : { ...base, moe: variant.moe ?? undefined };
  const model = new GPT(cfg).init(c.seed);
  const B = c.batch;
  const T = c.context;
  const o = c.optimizer;
  const optimizer = variant.optimizer === 'sgd' ? sgd() : adamw({ beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay });
  const step = await TrainStep.compile({
    model, threads: variant.device === 'webgpu' ? undefined : 2, device: variant.device, optimizer,
    batch: { x: { dtype: 'i64', shape: [B, T] }, y: { dtype: 'i64', shape: [B, T] } }, loss: (m, b) => (m as GPT).loss(b.x, b.y),
  });
  const rng = new Rng(c.seed);
  const rows = Array.from({ length: B }, () => Array.from({ length: T + 1 }, () => rng.int(c.vocab)));
  const x = new BigInt64Array(stepsPerCall * B * T);
  const y = new BigInt64Array(stepsPerCall * B * T);
  for (let k = 0; k < stepsPerCall; k++) for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    x[(k * B + b) * T + t] = BigInt(rows[b][t]);
    y[(k * B + b) * T + t] = BigInt(rows[b][t + 1]);
  }
  const batches = { x: { dtype: 'i64' as const, shape: [stepsPerCall, B, T], data: x }, y: { dtype: 'i64' as const, shape: [stepsPerCall, B, T], data: y } };
  const lrs = Array(stepsPerCall).fill(o.lr);
  const flops = lmStepFlops(c);
  if (cfg === base && Math.abs(flops - gptStepFlops(cfg, B)) > 1e-6 * flops) throw new Error(`FLOP conventions differ: ${flops} vs ${gptStepFlops(cfg, B)}`);
  return { c, model, step, run: () => step.run(batches, lrs) };
}
