/**
 * Adversarial robustness of a GPT on text: PGD on the token embeddings (L-inf budget relative to the RMS of
 * the embedding table), maximising the next-token loss, compiled with the engine's autodiff into one ONNX
 * `Loop`. Reports the loss increase per budget — how far a small nudge in embedding space moves the model.
 */
import { backward } from '../core/autodiff.ts';
import type { Tensor } from '../core/graph.ts';
import {
  add, constant, gather, loop, matmul, maximum, minimum, mul, reduceMean, sign, transpose,
} from '../core/ops/index.ts';
import { lmBatch, sequentialWindows, tokenizeCorpus } from '../data/text/lm-batches.ts';
import type { TextCorpus } from '../data/text/corpus.ts';
import type { GPT } from '../models/gpt.ts';
import type { Module } from '../nn/module.ts';
import { SwitchyardError } from '../util/errors.ts';
import type { DeviceChoice } from '../runtime/compile-for.ts';
import { Forward } from '../train/forward.ts';
import { type LmEvalModel, perExampleCrossEntropy } from './model.ts';

/** GPT logits from token ids plus a perturbation `delta` [B, T, d] added to the token embeddings. */
function perturbedLogits(m: GPT, ids: Tensor, delta: Tensor): Tensor {
  const t = ids.shape[1] as number;
  const positions = constant(BigInt64Array.from({ length: t }, (_, i) => BigInt(i)), [t]);
  let h = add(m.wte.call(ids), delta);
  if (m.wpe) h = add(h, m.wpe.call(positions));
  for (const b of m.blocks) h = b.call(h, positions);
  const x = m.lnF.call(h);
  return m.head ? m.head.call(x) : matmul(x, transpose(m.wte.weight.t));
}

/** Per-sequence mean next-token loss [B]. */
function rowLoss(logits: Tensor, y: Tensor): Tensor {
  return reduceMean(perExampleCrossEntropy(logits, y), -1);
}

/**
 * One budget of the embedding attack.
 *
 * @example
 * const p: EmbeddingAttackPoint = { eps: 0.1, epsAbsolute: 0.002, loss: 1.9, lossIncrease: 0.3 };
 */
export interface EmbeddingAttackPoint {
  /** Budget relative to the RMS of the token-embedding table. */
  eps: number;
  epsAbsolute: number;
  /** Mean next-token loss under attack (nats). */
  loss: number;
  lossIncrease: number;
}

/**
 * PGD (L-inf, `steps` signed-gradient steps of 2.5·eps/steps, no random start) on the token embeddings of
 * up to `maxWindows` sequential windows of `corpus`, at each relative budget.
 *
 * @example
 * const points = await embeddingAttack(model, corpus, { epsilons: [0, 0.05, 0.2] });
 */
export async function embeddingAttack(
  m: LmEvalModel, corpus: TextCorpus,
  o: {
    epsilons?: number[]; steps?: number; batch?: number; maxWindows?: number; threads?: number; device?: DeviceChoice;
  } = {},
): Promise<EmbeddingAttackPoint[]> {
  const model = m.model;
  if (!model) throw new SwitchyardError('E_USAGE', `${m.source}: an exported decode step has no weights to take gradients of`, 'attack the run directory the export came from');
  const T = m.cfg.gpt.context;
  const d = m.cfg.gpt.dModel;
  const B = o.batch ?? 8;
  const steps = o.steps ?? 10;
  const tokens = tokenizeCorpus(corpus, m.tokenizer);
  const starts = sequentialWindows(tokens.length, T).subarray(0, o.maxWindows ?? 32);
  const w = model.wte.weight.data;
  const rms = Math.sqrt(w.reduce((a, v) => a + v * v, 0) / w.length);
  const spec = {
    x: { dtype: 'i64' as const, shape: [B, T] }, y: { dtype: 'i64' as const, shape: [B, T] },
    eps: { dtype: 'f32' as const, shape: [] }, alphas: { dtype: 'f32' as const, shape: ['steps'] },
  };
  const fwd = await Forward.compile(model, (mod: Module, b) => {
    const g = mod as GPT;
    const zero = mul(g.wte.call(b.x), 0);
    const [delta] = loop('steps', [zero], (iter, dl) => {
      const [grad] = backward(reduceMean(rowLoss(perturbedLogits(g, b.x, dl), b.y)), [dl]);
      const next = add(dl, mul(sign(grad), gather(b.alphas, iter, 0)));
      return { carried: [minimum(maximum(next, mul(b.eps, -1)), b.eps)], scans: [] };
    });
    return { loss: rowLoss(perturbedLogits(g, b.x, delta), b.y) };
  }, spec, { threads: o.threads, device: o.device });
  try {
    const points: EmbeddingAttackPoint[] = [];
    let clean = NaN;
    for (const eps of [0, ...(o.epsilons ?? [0.05, 0.1, 0.2])]) {
      const epsAbs = eps * rms;
      let sum = 0;
      for (let s = 0; s < starts.length; s += B) {
        const rows = starts.subarray(s, Math.min(s + B, starts.length));
        const padded = Int32Array.from({ length: B }, (_, i) => rows[Math.min(i, rows.length - 1)]);
        const batch = lmBatch(tokens, padded, T);
        const out = await fwd.run({
          x: { dtype: 'i64', shape: [B, T], data: batch.x }, y: { dtype: 'i64', shape: [B, T], data: batch.y },
          eps: { dtype: 'f32', shape: [], data: Float32Array.of(epsAbs) },
          alphas: { dtype: 'f32', shape: [steps], data: new Float32Array(steps).fill((2.5 * epsAbs) / steps) },
        });
        const per = out.loss.data as Float32Array;
        for (let i = 0; i < rows.length; i++) sum += per[i];
      }
      const loss = sum / Math.max(1, starts.length);
      if (eps === 0) clean = loss;
      points.push({ eps, epsAbsolute: epsAbs, loss, lossIncrease: loss - clean });
    }
    return points.filter((p, i, all) => all.findIndex((q) => q.eps === p.eps) === i);
  } finally {
    await fwd.release();
  }
}
