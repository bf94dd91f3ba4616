import type { Tensor } from '../core/graph.ts';
import { add, concat, constant, gather, lessEqual, matmul, mul, oneHot, reduceSum, reshape, slice, softmax, split, sub, transpose, where } from '../core/ops/index.ts';
import { SwitchyardError } from '../util/errors.ts';
import { dropout } from './functional.ts';
import { Linear } from './layers.ts';
import { Module } from './module.ts';

/** cos/sin tables [maxLen, headDim/2] for rotary position embeddings (GPT-NeoX half-rotation layout). */
export function rotaryTables(maxLen: number, headDim: number, base = 10000): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(maxLen * half);
  const sin = new Float32Array(maxLen * half);
  for (let p = 0; p < maxLen; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p / Math.pow(base, (2 * i) / headDim);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** Rotates the two halves of the last axis of `x` [..., T, D] by the angles of `positions` [T]. */
export function applyRotary(x: Tensor, positions: Tensor, tables: { cos: Float32Array; sin: Float32Array }, maxLen: number): Tensor {
  const d = x.shape[x.rank - 1] as number;
  const half = d / 2;
  const cos = gather(constant(tables.cos, [maxLen, half]), positions, 0);
  const sin = gather(constant(tables.sin, [maxLen, half]), positions, 0);
  const x1 = slice(x, -1, 0, half);
  const x2 = slice(x, -1, half, d);
  return concat([sub(mul(x1, cos), mul(x2, sin)), add(mul(x1, sin), mul(x2, cos))], -1);
}

/** `scores` [..., T, T] with -1e9 added above the diagonal (a position sees itself and earlier ones). */
function causalMask(scores: Tensor, t: number): Tensor {
  // The mask as an added bias: its gradient passes straight through (a `where` costs a pass both ways).
  const bias = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) bias[i * t + j] = -1e9;
  return add(scores, constant(bias, [t, t]));
}

/** Options of {@link CausalSelfAttention}. */
export interface AttentionOptions {
  heads: number;
  /** Longest sequence (sizes the causal mask and rotary tables). */
  maxLen: number;
  rotary?: boolean;
  dropout?: number;
  bias?: boolean;
  /**
   * Each position attends to earlier positions only (default true: a language model). False makes the
   * attention bidirectional, as in a BERT-style encoder or over the pixels of an image (the KV-cached {@link CausalSelfAttention.decode} is
   * always causal).
   */
  causal?: boolean;
}

/**
 * Causal (or, with `causal: false`, bidirectional) multi-head self-attention. One fused QKV projection, heads
 * batched into one matmul for scores and one for values (no per-head loops), a causal mask added as a bias, then
 * the output projection.
 * With a KV cache ({@link CausalSelfAttention.decode}) each new token attends to the cached keys only.
 */
export class CausalSelfAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly headDim: number;
  private readonly tables: { cos: Float32Array; sin: Float32Array } | null;

  constructor(readonly dim: number, readonly opts: AttentionOptions) {
    super();
    if (dim % opts.heads !== 0) throw new SwitchyardError('E_CONFIG', `model width ${dim} is not divisible by ${opts.heads} heads`, 'pick a head count that divides the width');
    this.headDim = dim / opts.heads;
    if (opts.rotary && this.headDim % 2 !== 0) throw new SwitchyardError('E_CONFIG', `rotary embeddings need an even head size, got ${this.headDim}`, 'change the width or head count');
    this.qkv = new Linear(dim, 3 * dim, { bias: opts.bias ?? true });
    this.proj = new Linear(dim, dim, { bias: opts.bias ?? true });
    this.tables = opts.rotary ? rotaryTables(opts.maxLen, this.headDim) : null;
  }

  /** q, k, v as [B, H, T, D] (rotary applied to q and k at `positions`). */
  private heads(x: Tensor, positions: Tensor | undefined): [Tensor, Tensor, Tensor] {
    const [b, t] = x.shape;
    // One fused projection, split into q, k, v (the split's gradient is a single concat).
    const parts = split(this.qkv.call(x), -1, [this.dim, this.dim, this.dim]);
    const part = (i: number) => transpose(reshape(parts[i], [b, t, this.opts.heads, this.headDim]), [0, 2, 1, 3]);
    let q = part(0);
    let k = part(1);
    if (this.tables) {
      if (!positions) throw new SwitchyardError('E_SHAPE', 'attention: rotary embeddings need token positions', 'pass positions (i64 [T])');
      q = applyRotary(q, positions, this.tables, this.opts.maxLen);
      k = applyRotary(k, positions, this.tables, this.opts.maxLen);
    }
    return [q, k, part(2)];
  }

  private merge(y: Tensor, x: Tensor): Tensor {
    const [b, t, c] = x.shape;
    return this.proj.call(reshape(transpose(y, [0, 2, 1, 3]), [b, t, c]));
  }

  /** x: [B, T, C] with static T; positions: i64 [T] (needed with rotary embeddings only). */
  forward(x: Tensor, positions?: Tensor): Tensor {
    return this.prefill(x, positions).y;
  }

  /**
   * Attention over x [B, T, C] (static T) at `positions` (i64 [T]), causal unless `causal: false`, also returning
   * the keys and values [B, H, T, D] it computed: a prompt's prefill writes them into a KV cache in one pass.
   */
  prefill(x: Tensor, positions?: Tensor): { y: Tensor; k: Tensor; v: Tensor } {
    const t = x.shape[1];
    if (typeof t !== 'number' || t > this.opts.maxLen) throw new SwitchyardError('E_SHAPE', `attention: sequence length ${t} must be static and <= ${this.opts.maxLen}`, 'use a fixed context length');
    const [q, k, v] = this.heads(x, positions);
    const scores = mul(matmul(q, transpose(k)), 1 / Math.sqrt(this.headDim));
    const masked = this.opts.causal === false ? scores : causalMask(scores, t);
    const att = dropout(softmax(masked, -1), this.opts.dropout ?? 0);
    return { y: this.merge(matmul(att, v), x), k, v };
  }

  /**
   * New tokens with a fixed-size KV cache: x [B, T, C] (T static or symbolic) at `positions` (i64 [T], where
   * their keys and values go); `cacheK`/`cacheV` [B, H, maxLen, D] hold earlier keys/values. Writes the new
   * keys/values at their positions and attends each token to the positions up to its own. T = 1 is one
   * decoding step; T = a prompt's length from position 0 is its prefill. Returns the output, the updated
   * caches and the new rows `kNew`/`vNew` [B, H, T, D].
   */
  decode(x: Tensor, positions: Tensor, cacheK: Tensor, cacheV: Tensor): { y: Tensor; k: Tensor; v: Tensor; kNew: Tensor; vNew: Tensor } {
    const [q, k, v] = this.heads(x, positions);
    const L = this.opts.maxLen;
    const slots = oneHot(positions, L); // f32 [T, L]
    const keep = reshape(sub(1, reduceSum(slots, [0])), [1, 1, L, 1]);
    const place = transpose(slots); // [L, T]: scatters the T new rows to their positions
    const newK = add(mul(cacheK, keep), matmul(place, k));
    const newV = add(mul(cacheV, keep), matmul(place, v));
    const scores = mul(matmul(q, transpose(newK)), 1 / Math.sqrt(this.headDim));
    const iota = constant(BigInt64Array.from({ length: L }, (_, i) => BigInt(i)), [1, L]);
    const visible = lessEqual(iota, reshape(positions, [-1, 1])); // [T, L]
    const att = softmax(where(visible, scores, -1e9), -1);
    return { y: this.merge(matmul(att, newV), x), k: newK, v: newV, kNew: k, vNew: v };
  }
}
