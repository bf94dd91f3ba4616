import type { Tensor } from '../core/graph.ts';
import { div, maximum, mul, reduceSum, reshape, slice, unsqueeze } from '../core/ops/index.ts';
import { Linear } from '../nn/layers.ts';
import { GPT, type GptConfig } from './gpt.ts';

/** How token states become one vector per text: their mean over the real tokens, or the first token's state. */
export type TextPooling = 'mean' | 'cls';

/**
 * A text classifier: a transformer body (a GPT's or an encoder's: the same names, so a pretrained run's weights load
 * by name through `--init-from`), pooled over the tokens, then a linear head `classifier` [dModel -> classes]. The
 * body has no LM head (a source's `head.*` is left unused). `cls` pooling reads the first position, which sees the
 * whole text only in a bidirectional encoder; `mean` suits both.
 *
 * @example
 * const model = new TextClassifier({ ...GPT_PRESETS.tiny, causal: false }, 2, 'mean').init(0);
 */
export class TextClassifier extends GPT {
  readonly classifier: Linear;

  constructor(body: GptConfig, readonly classes: number, readonly pooling: TextPooling = 'mean') {
    super({ ...body, tieWeights: true });
    this.classifier = new Linear(body.dModel, classes);
  }

  /** ids: i64 [B, T]; keep: f32 [B, T], 1 at text and 0 at padding -> one vector per text [B, dModel]. */
  pooled(ids: Tensor, keep: Tensor): Tensor {
    const h = this.hidden(ids); // [B, T, dModel]
    if (this.pooling === 'cls') return reshape(slice(h, 1, 0, 1), [ids.shape[0], this.cfg.dModel]); // [B, dModel]
    return div(reduceSum(mul(h, unsqueeze(keep, -1)), [1]), maximum(reduceSum(keep, [1], true), 1)); // [B, dModel]
  }

  /** ids: i64 [B, T]; keep: f32 [B, T] -> class logits [B, classes]. */
  classify(ids: Tensor, keep: Tensor): Tensor {
    return this.classifier.call(this.pooled(ids, keep)); // [B, classes]
  }
}
