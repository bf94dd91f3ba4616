/**
 * The two language-model configs of the LM training benchmark (`dense` and `moe`), shared by every peer
 * (PyTorch in `bench/torch_lm.py`, TensorFlow.js in `bench/tfjs-lm.ts`, and Switchyard), plus the one
 * FLOP formula every peer's GFLOP/s figure uses.
 *
 * Model (both configs): byte-level GPT. Token embedding (vocab x d_model) + learned position embedding
 * (context x d_model); `layers` pre-norm blocks `x = x + attn(ln1(x)); x = x + mlp(ln2(x))` with LayerNorm
 * (eps 1e-5, weight and bias); causal multi-head self-attention with a fused `qkv` Linear (d -> 3d, bias) and an
 * output `proj` Linear (d -> d, bias), softmax scaled by 1/sqrt(head dim); final LayerNorm; untied LM head
 * Linear (d -> vocab, no bias). No dropout. Loss: mean cross-entropy over all batch x context positions.
 * Initialisation (not part of the timing): Linear/Embedding weights N(0, 0.02), biases 0, LayerNorm 1/0.
 *
 * - `dense`: MLP = Linear(d, 1024) -> GELU (exact, erf) -> Linear(1024, d), both with bias.
 * - `moe`: every block's MLP is replaced by 8 experts with top-2 routing: router Linear(d, 8, no bias),
 *   softmax over experts, top-2, the two gates renormalised to sum to 1; each expert is a GELU MLP
 *   d -> 512 -> d with biases; dropless (every token goes to both of its experts; compute is per expert on the
 *   tokens routed to it, proportional to top-k, never all experts on all tokens). Output = sum of gate x expert.
 *   Switch-Transformer load-balancing loss, added to the cross-entropy:
 *   `auxLossCoef * sum over layers of ( experts * sum_i f_i * P_i )`, where `f_i` is the fraction of the
 *   `tokens * topK` routing assignments that go to expert i (a count, no gradient) and `P_i` is the mean
 *   router softmax probability of expert i over tokens. It equals `auxLossCoef * layers` when perfectly balanced.
 *
 * Optimiser (both): AdamW lr 3e-4, betas (0.9, 0.95), eps 1e-8, decoupled weight decay 0.1 on every parameter
 * (PyTorch `torch.optim.AdamW` semantics), constant learning rate.
 * Data: one fixed batch of uniformly random bytes (seed 1234), `[batch, context + 1]`; inputs are the first
 * `context` bytes of each row, targets the last `context`. The same batch every step, so a falling loss shows the
 * step learns (it memorises the batch).
 */

/** Names of the LM benchmark configs. */
export type LmConfigName = 'dense' | 'moe' | 'large-dense' | 'large-moe';

/** Hyper-parameters of one LM benchmark config. All peers must use exactly these numbers. */
export interface LmConfig {
  /** Config name: `dense` or `moe` (the CPU and GPU bench configs), `large-dense` or `large-moe` (GPU only). */
  readonly name: LmConfigName;
  /** Vocabulary size (bytes). */
  readonly vocab: number;
  /** Model width. */
  readonly dModel: number;
  /** Transformer blocks. */
  readonly layers: number;
  /** Attention heads (head dim = dModel / heads). */
  readonly heads: number;
  /** Context length in tokens. */
  readonly context: number;
  /** Sequences per step. */
  readonly batch: number;
  /** Hidden width of the MLP (dense) or of each expert (moe). */
  readonly mlpHidden: number;
  /** Experts per MoE layer; 0 for dense. */
  readonly experts: number;
  /** Experts each token is routed to; 0 for dense. */
  readonly topK: number;
  /** Coefficient of the load-balancing auxiliary loss; 0 for dense. */
  readonly auxLossCoef: number;
  /** LayerNorm epsilon. */
  readonly lnEps: number;
  /** AdamW settings (PyTorch semantics: decoupled decay on every parameter). */
  readonly optimizer: { readonly lr: number; readonly beta1: number; readonly beta2: number; readonly eps: number; readonly weightDecay: number };
  /** Seed of the random data batch (and of the initial weights where a peer can use it). */
  readonly seed: number;
}

const SHARED = {
  vocab: 256,
  dModel: 256,
  layers: 4,
  heads: 4,
  context: 128,
  batch: 16,
  lnEps: 1e-5,
  optimizer: { lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 },
  seed: 1234,
} as const;

/** Dense config: 4 layers, d_model 256, MLP hidden 1024. */
export const LM_DENSE: LmConfig = Object.freeze({ ...SHARED, name: 'dense', mlpHidden: 1024, experts: 0, topK: 0, auxLossCoef: 0 });

/** MoE config: as dense, but every MLP is 8 experts (256 -> 512 -> 256), top-2, aux loss 0.01. */
export const LM_MOE: LmConfig = Object.freeze({ ...SHARED, name: 'moe', mlpHidden: 512, experts: 8, topK: 2, auxLossCoef: 0.01 });

/** Both CPU configs by name. */
export const LM_CONFIGS: Readonly<Record<'dense' | 'moe', LmConfig>> = Object.freeze({ dense: LM_DENSE, moe: LM_MOE });

const LARGE = { ...SHARED, dModel: 768, layers: 12, heads: 12, context: 512, batch: 8 } as const;

/**
 * The larger GPT of the GPU benchmark, where a GPU is really used: GPT-2 small's body (d_model 768, 12 layers,
 * 12 heads, context 512) on the byte vocabulary, batch 8, MLP hidden 3072. 85.8 M parameters.
 */
export const LM_LARGE_DENSE: LmConfig = Object.freeze({ ...LARGE, name: 'large-dense', mlpHidden: 3072, experts: 0, topK: 0, auxLossCoef: 0 });

/**
 * The larger GPT with every MLP as 8 experts of hidden 1536, top-2 (the same active MLP FLOPs per token as
 * {@link LM_LARGE_DENSE}, as the small configs pair dense 1024 with experts of 512), aux loss 0.01.
 */
export const LM_LARGE_MOE: LmConfig = Object.freeze({ ...LARGE, name: 'large-moe', mlpHidden: 1536, experts: 8, topK: 2, auxLossCoef: 0.01 });

/** Every config by name (the GPU benchmark runs all four). */
export const ALL_LM_CONFIGS: Readonly<Record<LmConfigName, LmConfig>> = Object.freeze({
  dense: LM_DENSE, moe: LM_MOE, 'large-dense': LM_LARGE_DENSE, 'large-moe': LM_LARGE_MOE,
});

/** Tokens processed by one training step (`batch * context`). */
export function lmTokensPerStep(cfg: LmConfig): number {
  return cfg.batch * cfg.context;
}

/** Parameters of one MLP (or one expert): two Linears with biases. */
function mlpParams(cfg: LmConfig): number {
  const d = cfg.dModel;
  const h = cfg.mlpHidden;
  return d * h + h + h * d + d;
}

/** Parameters of one block outside its MLP/experts: ln1, qkv, proj, ln2 (weights and biases), router. */
function blockBaseParams(cfg: LmConfig): number {
  const d = cfg.dModel;
  const router = cfg.experts > 0 ? d * cfg.experts : 0;
  return 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + 2 * d + router;
}

/** Parameters outside the blocks: token and position embeddings, final LayerNorm, LM head. */
function outerParams(cfg: LmConfig): number {
  const d = cfg.dModel;
  return cfg.vocab * d + cfg.context * d + 2 * d + d * cfg.vocab;
}

/**
 * Every trainable parameter (weights, biases, LayerNorms, embeddings, all experts): what
 * `sum(p.numel() for p in model.parameters())` gives in PyTorch. dense: 3,323,392; moe: 9,642,496.
 */
export function totalParams(cfg: LmConfig): number {
  const mlps = cfg.experts > 0 ? cfg.experts : 1;
  return outerParams(cfg) + cfg.layers * (blockBaseParams(cfg) + mlps * mlpParams(cfg));
}

/**
 * Parameters one token uses: {@link totalParams} with only `topK` of the experts counted (router included).
 * Embedding tables count whole. Equals {@link totalParams} for dense. dense: 3,323,392; moe: 3,332,608.
 */
export function activeParams(cfg: LmConfig): number {
  const mlps = cfg.experts > 0 ? cfg.topK : 1;
  return outerParams(cfg) + cfg.layers * (blockBaseParams(cfg) + mlps * mlpParams(cfg));
}

/**
 * Active matmul weights per token, the `N` of the FLOP formula: per layer qkv (d*3d) + proj (d*d) + MLP
 * (dense: 2*d*hidden; moe: router d*experts + topK * 2*d*hidden), plus the LM head (d*vocab). Biases,
 * LayerNorms and the embedding lookups are excluded. dense: 3,211,264; moe: 3,219,456.
 */
export function matmulParams(cfg: LmConfig): number {
  const d = cfg.dModel;
  const mlp = cfg.experts > 0 ? d * cfg.experts + cfg.topK * 2 * d * cfg.mlpHidden : 2 * d * cfg.mlpHidden;
  return cfg.layers * (4 * d * d + mlp) + d * cfg.vocab;
}

/**
 * Attention-score FLOPs of one training step: `12 * batch * layers * context^2 * dModel`.
 * Per layer and sequence, QK^T and AV are each `context^2 * dModel` multiply-adds (summed over heads);
 * forward = 2 FLOPs per multiply-add for both = `4 * context^2 * dModel`, backward twice the forward, so 12x.
 * The causal mask is not discounted (the full T x T scores are counted, as the kernels compute them).
 */
export function lmAttentionFlops(cfg: LmConfig): number {
  return 12 * cfg.batch * cfg.layers * cfg.context * cfg.context * cfg.dModel;
}

/**
 * Training FLOPs of one step (forward + backward; the optimizer update is not counted):
 * `6 * tokens * matmulParams(cfg) + lmAttentionFlops(cfg)`, with `tokens = batch * context`.
 * The 6 is forward 2 (multiply + add) + backward 4 (input and weight gradients) per weight per token.
 * Elementwise work (LayerNorm, GELU, softmax, routing, AdamW) is not counted.
 * dense: 42.68 GFLOP per step (39.46 matmul + 3.22 attention); moe: 42.78 GFLOP (39.56 + 3.22).
 */
export function lmStepFlops(cfg: LmConfig): number {
  return 6 * lmTokensPerStep(cfg) * matmulParams(cfg) + lmAttentionFlops(cfg);
}

/** Result of one peer measuring one LM config (what `bench/torch-lm.ts` and `bench/tfjs-lm.ts` return). */
export interface LmPeerResult {
  /** Peer name, e.g. `pytorch`, `tfjs-wasm`. */
  name: string;
  /** Config measured. */
  config: LmConfigName;
  /** Median wall-clock ms of one training step (forward + backward + AdamW + loss readback). */
  msPerStep: number;
  /** `batch * context * 1000 / msPerStep`. */
  tokensPerSec: number;
  /** `lmStepFlops(cfg) / msPerStep`, in GFLOP/s. */
  gflops: number;
  /** Peak resident set size of the process that ran the steps, in MiB. */
  peakRssMB: number;
  /** Trainable parameters as the peer counted them (should equal {@link totalParams}). */
  params: number;
  /** Parameters per token as the peer counted them (should equal {@link activeParams}). */
  activeParams: number;
  /** Number of timed steps. */
  steps: number;
  /** Cross-entropy of the first (warm-up) step. */
  lossFirst: number;
  /** Cross-entropy of the last timed step. */
  lossLast: number;
  /** Compute threads the peer was given. */
  threads: number;
  /** Peer library version, e.g. `torch 2.6.0`. */
  version: string;
  /** Free-form notes (how it was measured). */
  notes?: string;
}
