import type { Tensor } from '../core/graph.ts';
import { add, concat, constant, cumsum, fullLike, gather, matmul, reduceSum, reshape, slice, sub, transpose } from '../core/ops/index.ts';
import { CausalSelfAttention } from '../nn/attention.ts';
import { crossEntropy, dropout } from '../nn/functional.ts';
import { normal } from '../nn/init.ts';
import { type Activation, Embedding, LayerNorm, Linear, MLP, RMSNorm } from '../nn/layers.ts';
import { Module } from '../nn/module.ts';
import { MoE, type MoEOptions } from '../nn/moe.ts';
import { SwitchyardError } from '../util/errors.ts';

/** Which layers use a Mixture-of-Experts feed-forward, and how. */
export interface GptMoEConfig extends Omit<MoEOptions, 'hidden'> {
  /** Expert MLP hidden size. */
  hidden: number;
  /** `all` layers, `alternate` (1, 3, 5...), or explicit layer indices. */
  layers?: 'all' | 'alternate' | number[];
}

/** A GPT configuration. */
export interface GptConfig {
  vocab: number;
  dModel: number;
  layers: number;
  heads: number;
  /** Context length (tokens per training sequence, and the KV-cache size). */
  context: number;
  /** Dense MLP hidden size. */
  mlpHidden: number;
  activation: Activation;
  norm: 'layernorm' | 'rmsnorm';
  position: 'learned' | 'rotary';
  tieWeights: boolean;
  dropout: number;
  moe?: GptMoEConfig;
  /**
   * False makes every block's attention bidirectional: the same stack as a BERT-style encoder, trained by masked-token
   * prediction (`switchyard train --model encoder`). Absent or true: a causal language model.
   */
  causal?: boolean;
}

/** Named presets; `small` is the benchmark configuration of issue 3. */
export const GPT_PRESETS: Record<'tiny' | 'small', GptConfig> = {
  tiny: { vocab: 256, dModel: 128, layers: 2, heads: 4, context: 128, mlpHidden: 512, activation: 'gelu', norm: 'layernorm', position: 'learned', tieWeights: false, dropout: 0 },
  small: { vocab: 256, dModel: 256, layers: 4, heads: 4, context: 128, mlpHidden: 1024, activation: 'gelu', norm: 'layernorm', position: 'learned', tieWeights: false, dropout: 0 },
};

/** True when layer `i` of `cfg` is a MoE layer. */
export function isMoeLayer(cfg: GptConfig, i: number): boolean {
  const m = cfg.moe;
  if (!m) return false;
  const which = m.layers ?? 'all';
  if (which === 'all') return true;
  if (which === 'alternate') return i % 2 === 1;
  return which.includes(i);
}

/** A pre-norm transformer block: x + attn(norm(x)), then x + ffn(norm(x)) with a dense MLP or MoE. */
export class Block extends Module {
  readonly ln1: Module;
  readonly attn: CausalSelfAttention;
  readonly ln2: Module;
  readonly mlp: Module;
  constructor(readonly cfg: GptConfig, readonly index: number) {
    super();
    const norm = () => (cfg.norm === 'rmsnorm' ? new RMSNorm(cfg.dModel) : new LayerNorm(cfg.dModel));
    this.ln1 = norm();
    this.attn = new CausalSelfAttention(cfg.dModel, {
      heads: cfg.heads, maxLen: cfg.context, rotary: cfg.position === 'rotary', dropout: cfg.dropout, causal: cfg.causal,
    });
    this.ln2 = norm();
    this.mlp = isMoeLayer(cfg, index)
      ? new MoE(cfg.dModel, { ...cfg.moe!, activation: cfg.moe!.activation ?? cfg.activation })
      : new MLP([cfg.dModel, cfg.mlpHidden, cfg.dModel], { activation: cfg.activation });
  }
  forward(x: Tensor, positions: Tensor): Tensor {
    const h = add(x, dropout(this.attn.call(this.ln1.call(x), positions), this.cfg.dropout));
    return add(h, dropout(this.mlp.call(this.ln2.call(h)), this.cfg.dropout));
  }
  /** New tokens at `positions` with this block's KV cache: the updated cache (k, v) and the new rows (kNew, vNew). */
  decode(x: Tensor, positions: Tensor, k: Tensor, v: Tensor): { y: Tensor; k: Tensor; v: Tensor; kNew: Tensor; vNew: Tensor } {
    const a = this.attn.decode(this.ln1.call(x), positions, k, v);
    const h = add(x, a.y);
    return { y: add(h, this.mlp.call(this.ln2.call(h))), k: a.k, v: a.v, kNew: a.kNew, vNew: a.vNew };
  }
}

/**
 * A GPT language model (nanoGPT-shaped): token (+ learned position) embeddings, pre-norm blocks, final norm,
 * LM head (optionally tied to the token embedding). Dense or MoE per layer.
 *
 * @example
 * const model = new GPT({ ...GPT_PRESETS.tiny, moe: { experts: 8, topK: 2, hidden: 256 } }).init(0);
 */
export class GPT extends Module {
  readonly wte: Embedding;
  readonly wpe: Embedding | undefined;
  readonly blocks: Block[];
  readonly lnF: Module;
  readonly head: Linear | undefined;

  constructor(readonly cfg: GptConfig) {
    super();
    checkConfig(cfg);
    this.wte = new Embedding(cfg.vocab, cfg.dModel, { init: normal(0.02) });
    this.wpe = cfg.position === 'learned' ? new Embedding(cfg.context, cfg.dModel, { init: normal(0.02) }) : undefined;
    this.blocks = Array.from({ length: cfg.layers }, (_, i) => new Block(cfg, i));
    this.lnF = cfg.norm === 'rmsnorm' ? new RMSNorm(cfg.dModel) : new LayerNorm(cfg.dModel);
    this.head = cfg.tieWeights ? undefined : new Linear(cfg.dModel, cfg.vocab, { bias: false });
  }

  private embed(ids: Tensor, positions: Tensor): Tensor {
    const tok = this.wte.call(ids);
    return this.wpe ? add(tok, this.wpe.call(positions)) : tok;
  }

  /** Final norm, then the LM head: block outputs [B, T, dModel] -> logits [B, T, vocab]. */
  private logits(h: Tensor): Tensor {
    return this.project(this.lnF.call(h));
  }

  private project(x: Tensor): Tensor {
    return this.head ? this.head.call(x) : matmul(x, transpose(this.wte.weight.t));
  }

  /** ids: i64 [B, T] (T <= context, static) -> the final-normed hidden states [B, T, dModel] (what a head reads). */
  hidden(ids: Tensor): Tensor {
    const t = ids.shape[1] as number;
    const positions = constant(BigInt64Array.from({ length: t }, (_, i) => BigInt(i)), [t]);
    let h = dropout(this.embed(ids, positions), this.cfg.dropout); // [B, T, dModel]
    for (const b of this.blocks) h = b.call(h, positions); // [B, T, dModel]
    return this.lnF.call(h);
  }

  /** ids: i64 [B, T] (T <= context, static) -> logits [B, T, vocab]. */
  forward(ids: Tensor): Tensor {
    return this.project(this.hidden(ids));
  }

  /** Mean next-token cross-entropy of `ids` [B, T] against `targets` [B, T]. */
  loss(ids: Tensor, targets: Tensor): Tensor {
    return crossEntropy(reshape(this.forward(ids), [-1, this.cfg.vocab]), reshape(targets, [-1]));
  }

  /**
   * KV-cached decoding of T new tokens: ids [B, T] (T static or symbolic: 1 for a decoding step, a prompt's
   * length for its prefill) at positions pos, pos + 1, ... (`pos` i64 [1]); `cacheK`/`cacheV` are
   * [layers, B, heads, context, headDim]. Returns the next-token logits after the last new token [B, vocab],
   * the updated caches, and the new tokens' keys/values `newK`/`newV` [layers, B, heads, T, headDim] (what a
   * caller that keeps its own cache writes at their positions, instead of fetching the whole updated cache), and
   * the logits after every new token `allLogits` [B, T, vocab] (scoring a window of text in one call).
   */
  decodeStep(ids: Tensor, pos: Tensor, cacheK: Tensor, cacheV: Tensor): { logits: Tensor; allLogits: Tensor; cacheK: Tensor; cacheV: Tensor; newK: Tensor; newV: Tensor } {
    const [b] = ids.shape as number[];
    // positions = pos + [0, 1, ..., T-1], built from the ids so that T may be symbolic
    const ones = fullLike(reshape(slice(ids, 0, 0, 1), [-1]), 1); // i64 [T]
    const positions = add(cumsum(ones, 0, true), pos);
    let h = this.embed(ids, positions);
    const ks: Tensor[] = [];
    const vs: Tensor[] = [];
    const kNew: Tensor[] = [];
    const vNew: Tensor[] = [];
    const per = (c: Tensor, i: number) => reshape(slice(c, 0, i, i + 1), c.shape.slice(1));
    this.blocks.forEach((blk, i) => {
      const r = blk.decode(h, positions, per(cacheK, i), per(cacheV, i));
      h = r.y;
      ks.push(reshape(r.k, [1, ...r.k.shape]));
      vs.push(reshape(r.v, [1, ...r.v.shape]));
      kNew.push(reshape(r.kNew, [1, ...r.kNew.shape]));
      vNew.push(reshape(r.vNew, [1, ...r.vNew.shape]));
    });
    const last = sub(reduceSum(ones, [0], true), 1); // i64 [1]: T - 1
    const logits = this.logits(gather(h, last, 1));
    return { logits: reshape(logits, [b, this.cfg.vocab]), allLogits: this.logits(h), cacheK: concat(ks, 0), cacheV: concat(vs, 0), newK: concat(kNew, 0), newV: concat(vNew, 0) };
  }

  /** Parameters used per token (router + top-k experts for MoE layers); embeddings excluded. */
  activeParameterCount(): number {
    let n = 0;
    for (const [name, p] of this.namedParameters()) {
      if (!p.trainable || name.startsWith('wte.') || name.startsWith('wpe.')) continue;
      const moe = /^blocks\.(\d+)\.mlp\.experts\./.exec(name);
      n += moe && this.cfg.moe ? (p.data.length / this.cfg.moe.experts) * this.cfg.moe.topK : p.data.length;
    }
    return n + (this.head ? 0 : this.wte.weight.data.length);
  }
}

function checkConfig(cfg: GptConfig): void {
  const bad = (what: string, hint: string) => {
    throw new SwitchyardError('E_CONFIG', `gpt config: ${what}`, hint);
  };
  for (const k of ['vocab', 'dModel', 'layers', 'heads', 'context', 'mlpHidden'] as const) if (!(Number.isInteger(cfg[k]) && cfg[k] > 0)) bad(`${k} must be a positive integer, got ${cfg[k]}`, 'see GPT_PRESETS');
  if (cfg.dModel % cfg.heads !== 0) bad(`dModel ${cfg.dModel} is not divisible by heads ${cfg.heads}`, 'pick a head count that divides the width');
  if (cfg.moe && !(cfg.moe.experts >= 1 && cfg.moe.topK >= 1 && cfg.moe.topK <= cfg.moe.experts)) bad(`moe top-k ${cfg.moe.topK} with ${cfg.moe.experts} experts`, 'use 1 <= top-k <= experts');
}

/**
 * Training FLOPs of one step at `batch` sequences: 6 x tokens x active matmul parameters (forward 2x,
 * backward 4x; the LM head included, embedding lookups excluded; MoE layers count the router and top-k
 * experts) + 12 x batch x layers x context^2 x dModel for the QK^T and attention-times-V products (2 T^2 d
 * each forward, x3 with backward; causal masking not discounted). The same convention as bench/lm-config.ts.
 */
export function gptStepFlops(cfg: GptConfig, batch: number): number {
  const d = cfg.dModel;
  let matmul = cfg.vocab * d; // LM head (tied or not, it is a matmul)
  for (let i = 0; i < cfg.layers; i++) {
    matmul += 4 * d * d; // qkv + proj
    if (isMoeLayer(cfg, i)) {
      const m = cfg.moe!;
      matmul += d * m.experts + m.topK * 2 * d * m.hidden + (m.sharedExperts ?? 0) * 2 * d * m.hidden;
    } else matmul += 2 * d * cfg.mlpHidden;
  }
  const tokens = batch * cfg.context;
  return 6 * tokens * matmul + 12 * batch * cfg.layers * cfg.context * cfg.context * d;
}
