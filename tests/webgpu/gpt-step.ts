/**
 * A GPT training step traced without the K-step loop (forward, cross-entropy, backward, AdamW for every
 * parameter) and its feeds: the real sub-graphs the fusion tests and the kernel counts run.
 */
import { backward, type Graph, type Tensor, trace } from '../../src/core/index.ts';
import { GPT, type GptConfig } from '../../src/models/gpt.ts';
import { adamw } from '../../src/optim/optimizer.ts';
import type { RefTensor } from '../../src/runtime/reference/index.ts';
import { randInt, randn } from '../runtime/ort-helpers.ts';

/** A GPT small enough for lavapipe: 2 layers, d_model 16, 2 heads, context 8, vocab 19 (odd sizes). */
export const TINY_GPT: GptConfig = {
  vocab: 19, dModel: 16, layers: 2, heads: 2, context: 8, mlpHidden: 24, activation: 'gelu', norm: 'layernorm',
  position: 'learned', tieWeights: false, dropout: 0,
};

/** The traced step (outputs: loss, each parameter's new value and AdamW state) and random feeds for it. */
export function gptStep(cfg: GptConfig, batch = 2): { graph: Graph; feeds: Record<string, RefTensor> } {
  const model = new GPT(cfg).init(0);
  model.named();
  const params = model.namedParameters();
  const opt = adamw({ weightDecay: 0.1 });
  const graph = trace((g) => {
    const ids = g.input('ids', 'i64', [batch, cfg.context]);
    const targets = g.input('targets', 'i64', [batch, cfg.context]);
    const lr = g.input('lr', 'f32', []);
    const step = g.input('step', 'f32', []);
    const loss = model.loss(ids, targets);
    const ps = params.map(([, p]) => p.t);
    const grads = backward(loss, ps);
    const outs: Record<string, Tensor> = { loss };
    params.forEach(([name, p], i) => {
      const state = opt.stateNames.map((s) => g.input(`${name}.${s}`, 'f32', p.shape));
      const u = opt.update({ param: ps[i], grad: grads[i], state, lr, step, decay: p.decay });
      outs[name] = u.param;
      opt.stateNames.forEach((s, j) => (outs[`${name}.${s}`] = u.state[j]));
    });
    return outs;
  });
  const feeds: Record<string, RefTensor> = {
    ids: randInt([batch, cfg.context], 1, 0, cfg.vocab - 1),
    targets: randInt([batch, cfg.context], 2, 0, cfg.vocab - 1),
    lr: { dtype: 'f32', shape: [], data: Float64Array.of(0.01) },
    step: { dtype: 'f32', shape: [], data: Float64Array.of(3) },
  };
  params.forEach(([name, p], i) => {
    feeds[name] = { dtype: 'f32', shape: [...p.shape], data: Float64Array.from(p.data) };
    feeds[`${name}.exp_avg`] = randn(p.shape, 100 + i, -0.01, 0.01);
    feeds[`${name}.exp_avg_sq`] = randn(p.shape, 200 + i, 0, 1e-4);
  });
  return { graph, feeds };
}
