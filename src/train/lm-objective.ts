/**
 * What a language-model run learns from its windows of text: next-token prediction (a GPT) or masked-token
 * prediction (a BERT-style encoder: the same transformer stack with bidirectional attention). One training loop
 * (train/lm.ts) serves both; an objective says which inputs a batch holds, how a batch is drawn from a window of
 * the token stream, and the training and per-row evaluation losses.
 *
 * @module
 */
import type { Tensor } from '../core/graph.ts';
import {
  div, gatherElements, logSoftmax, maximum, mul, neg, reduceMean, reduceSum, reshape, squeeze, unsqueeze,
} from '../core/ops/index.ts';
import { lmBatch } from '../data/text/lm-batches.ts';
import { maskTokens, type MaskingOptions } from '../data/text/masking.ts';
import type { GPT } from '../models/gpt.ts';
import { crossEntropy } from '../nn/functional.ts';
import type { Module } from '../nn/module.ts';
import type { HostTensor } from '../runtime/session.ts';
import { Rng } from '../util/rng.ts';
import type { BatchSpec } from './step.ts';

/** Host arrays of one batch, by input name (`x`, `y`, and for masked prediction the target weights `w`). */
export type LmFeeds = Record<string, BigInt64Array | Float32Array>;

/**
 * One language-model objective.
 *
 * @example
 * const obj = lmObjective({ rate: 0.15, maskId: 256, randomVocab: 256 }); // masked-token prediction
 */
export interface LmObjective {
  name: 'next-token' | 'masked';
  /** The batch inputs for `batch` windows of `context` tokens. */
  spec(batch: number, context: number): BatchSpec;
  /** The batch of the windows starting at `starts`; `seed` draws its masks (a masked objective). */
  batch(tokens: Int32Array, starts: ArrayLike<number>, context: number, seed: number): LmFeeds;
  /** The mean training loss of one batch. */
  loss(m: Module, b: Record<string, Tensor>): Tensor;
  /** The mean loss of every row, `rowLoss` [B] (the evaluation graph). */
  rowLoss(m: Module, b: Record<string, Tensor>): Record<string, Tensor>;
}

/**
 * The host tensors of a batch, every input of shape `shape` (`[batch, context]`, or `[k, batch, context]` for `k`
 * stacked micro-batches).
 *
 * @example
 * await fwd.run(lmHostFeeds(obj.batch(tokens, starts, 128, 1), [starts.length, 128]));
 */
export function lmHostFeeds(feeds: LmFeeds, shape: number[]): Record<string, HostTensor> {
  return Object.fromEntries(Object.entries(feeds).map(([name, data]) => {
    return [name, { dtype: data instanceof Float32Array ? 'f32' : 'i64', shape, data } as HostTensor];
  }));
}

/** Log-probabilities [B, T] that `m` gives the targets `y` [B, T] at every position of `x`. */
function targetLogp(m: Module, b: Record<string, Tensor>): Tensor {
  const logp = logSoftmax((m as GPT).forward(b.x), -1);
  return squeeze(gatherElements(logp, unsqueeze(b.y, -1), -1), -1);
}

const NEXT_TOKEN: LmObjective = {
  name: 'next-token',
  spec: (batch, t) => ({ x: { dtype: 'i64', shape: [batch, t] }, y: { dtype: 'i64', shape: [batch, t] } }),
  batch: (tokens, starts, t) => {
    const { x, y } = lmBatch(tokens, starts, t);
    return { x, y };
  },
  loss: (m, b) => (m as GPT).loss(b.x, b.y),
  rowLoss: (m, b) => ({ rowLoss: neg(reduceMean(targetLogp(m, b), -1)) }),
};

/**
 * The objective of a run: next-token prediction without `masking`, masked-token prediction (BERT's 80/10/10,
 * see {@link maskTokens}) with it. A masked batch's targets `y` are the window's own tokens and `w` weights the
 * chosen positions; evaluation masks each validation batch with a seed fixed by its place, so every evaluation
 * scores the same masks.
 *
 * @example
 * const obj = lmObjective(cfg.masking); // next-token when the run has no masking
 */
export function lmObjective(masking?: MaskingOptions): LmObjective {
  if (!masking) return NEXT_TOKEN;
  return {
    name: 'masked',
    spec: (batch, t) => ({ ...NEXT_TOKEN.spec(batch, t), w: { dtype: 'f32', shape: [batch, t] } }),
    batch: (tokens, starts, t, seed) => {
      const y = lmBatch(tokens, starts, t).x;
      const { x, w } = maskTokens(y, masking, new Rng(seed));
      return { x, y, w };
    },
    loss: (m, b) => {
      const vocab = (m as GPT).cfg.vocab;
      return crossEntropy(reshape((m as GPT).forward(b.x), [-1, vocab]), reshape(b.y, [-1]), reshape(b.w, [-1]));
    },
    rowLoss: (m, b) => {
      // sum(w * -log p) / sum(w) per row; a row with no chosen position scores 0.
      const picked = reduceSum(mul(targetLogp(m, b), b.w), [-1]);
      return { rowLoss: neg(div(picked, maximum(reduceSum(b.w, [-1]), 1e-12))) };
    },
  };
}
