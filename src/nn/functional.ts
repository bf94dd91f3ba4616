import type { Tensor } from '../core/graph.ts';
import {
  add, argmax, cast, constant, div, equal, erf, gatherElements, greaterEqual, logSoftmax, matmul, maximum, mul, neg,
  randomUniformLike, reduceMean, reduceSum, sigmoid, sqrt, square, squeeze, sub, tanh, transpose, unsqueeze, where,
} from '../core/ops/index.ts';
import { SwitchyardError } from '../util/errors.ts';
import { currentMode } from './mode.ts';

/** GELU, exact form `x * Phi(x)` (PyTorch's default). */
export function gelu(x: Tensor): Tensor {
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}

/**
 * GELU, tanh approximation `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`: GPT-2's `gelu_new` (PyTorch's
 * `gelu(approximate='tanh')`), so a GPT-2 checkpoint computes GPT-2's function.
 *
 * @example
 * geluTanh(x);
 */
export function geluTanh(x: Tensor): Tensor {
  const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return mul(mul(x, 0.5), add(tanh(inner), 1));
}

/** SiLU / swish: `x * sigmoid(x)`. */
export function silu(x: Tensor): Tensor {
  return mul(x, sigmoid(x));
}

/** RMS normalisation over the last axis: `x / sqrt(mean(x^2) + eps) * weight`. */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  return mul(div(x, sqrt(add(reduceMean(square(x), -1, true), eps))), weight);
}

/**
 * Inverted dropout: in training mode zeroes each element with probability `p` and scales the rest by
 * 1/(1-p); the identity in eval mode. The mask comes from the step's seed, so runs are reproducible.
 */
export function dropout(x: Tensor, p: number): Tensor {
  const mode = currentMode();
  if (!mode.training || p === 0) return x;
  const keep = greaterEqual(randomUniformLike(x, mode.nextSeed()), p);
  return where(keep, div(x, 1 - p), 0);
}

/**
 * `sum(w * values) / sum(w)` over all elements: the weighted mean of per-example losses (0 when every weight is 0).
 *
 * @example
 * weightedMean(perExampleLoss, b.w); // b.w: f32 [N]
 */
export function weightedMean(values: Tensor, weights: Tensor): Tensor {
  return div(reduceSum(mul(values, weights)), maximum(reduceSum(weights), 1e-12));
}

/**
 * Mean softmax cross-entropy of `logits` [N, C] against i64 class `labels` [N]; with f32 `weights` [N], the
 * weighted mean `sum(w * ce) / sum(w)` (PyTorch's convention for weighted cross-entropy).
 *
 * @example
 * crossEntropy(model.call(b.x), b.y, b.w);
 */
export function crossEntropy(logits: Tensor, labels: Tensor, weights?: Tensor): Tensor {
  const picked = squeeze(gatherElements(logSoftmax(logits, -1), unsqueeze(labels, -1), -1), -1);
  return weights ? neg(weightedMean(picked, weights)) : neg(reduceMean(picked));
}

/**
 * Mean squared error; with `weights` (same shape as `pred`), the weighted mean of the squared errors.
 *
 * @example
 * mse(reshape(model.call(b.x), ['batch']), b.y, b.w);
 */
export function mse(pred: Tensor, target: Tensor, weights?: Tensor): Tensor {
  const se = square(sub(pred, target));
  return weights ? weightedMean(se, weights) : reduceMean(se);
}

/** Fraction of rows whose arg-max logit equals the i64 label (f32 scalar). */
export function accuracy(logits: Tensor, labels: Tensor): Tensor {
  return reduceMean(cast(equal(argmax(logits, -1), labels), 'f32'));
}

/**
 * Rows scaled to unit L2 norm: `x / sqrt(sum(x^2, -1) + eps)` (PyTorch's `F.normalize` up to where `eps` enters).
 *
 * @example
 * l2Normalize(projections); // [N, D], every row of norm 1
 */
export function l2Normalize(x: Tensor, eps = 1e-12): Tensor {
  return div(x, sqrt(add(reduceSum(square(x), -1, true), eps)));
}

/**
 * NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR (Chen et al., 2020), for `z` [2N, D]: rows
 * `i` and `i + N` are the two augmented views of one image. The rows are L2-normalised, their cosine similarities
 * divided by `temperature`; each row's positive is its other view and the other 2N - 2 rows are its negatives; its
 * similarity with itself is masked out of the softmax. Returns the mean over the 2N rows of
 * `-log(exp(s(i, pos) / t) / sum_{k != i} exp(s(i, k) / t))`.
 *
 * @example
 * const loss = ntXent(concat([proj(view1), proj(view2)], 0), 0.5);
 */
export function ntXent(z: Tensor, temperature: number): Tensor {
  const rows = z.shape[0];
  if (typeof rows !== 'number' || rows < 2 || rows % 2 !== 0 || !(temperature > 0)) {
    const what = `ntXent: ${rows} rows at temperature ${temperature}`;
    const hint = 'pass an even, static number of rows (two views each) and a temperature > 0';
    throw new SwitchyardError('E_SHAPE', what, hint);
  }
  const n = rows / 2;
  const unit = l2Normalize(z);
  const sim = div(matmul(unit, transpose(unit)), temperature); // [2N, 2N] cosine similarity / t
  const eye = new Uint8Array(rows * rows);
  for (let i = 0; i < rows; i++) eye[i * rows + i] = 1;
  // -1e9 rather than -inf: exp underflows to exactly 0 and the gradient through the mask stays finite.
  const logits = where(constant(eye, [rows, rows]), -1e9, sim);
  const positives = BigInt64Array.from({ length: rows }, (_, i) => BigInt((i + n) % rows));
  return crossEntropy(logits, constant(positives, [rows]));
}
