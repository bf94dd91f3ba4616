/**
 * The Hugging Face GPT-2 layout of our {@link GPT}'s weights, both ways, and its `config.json` (`GPT2Config`).
 *
 * What matches GPT-2 exactly: learned positions (`wpe`), pre-norm LayerNorm (eps 1e-5) with biases, one fused
 * q|k|v projection split in that order then into heads, scores scaled by 1/sqrt(head size), biases on every
 * projection, a final LayerNorm, the LM head tied to `wte` (or `lm_head.weight` with `tie_word_embeddings:
 * false`). GPT-2's `Conv1D` stores weights as [in, out], our `Linear` as [out, in] (PyTorch's layout): every
 * projection is transposed on the way in and out, exactly (a copy, no arithmetic). GPT-2 uses the tanh GELU
 * (`gelu_new`); ours is exact by default: `activation: 'gelu-tanh'` computes GPT-2's function, and an
 * exported exact-GELU model says `activation_function: "gelu"` (which Transformers also runs exactly).
 * Not GPT-2: rotary positions, RMSNorm, Mixture-of-Experts layers — refused with `E_HF_GPT2`.
 *
 * @module
 */
import type { NamedTensor } from '../runtime/safetensors.ts';
import { SwitchyardError } from '../util/errors.ts';
import type { Activation } from '../nn/layers.ts';
import type { GptConfig } from './gpt.ts';

/** A float32 tensor by name, as `Module.stateDict()` gives them. */
export type F32Tensors = Map<string, { shape: number[]; data: Float32Array }>;

/** GPT-2 `activation_function` names and the {@link Activation} that computes the same function. */
const HF_ACTIVATIONS: Record<string, Activation> = {
  gelu_new: 'gelu-tanh', gelu_pytorch_tanh: 'gelu-tanh', gelu_fast: 'gelu-tanh',
  gelu: 'gelu', relu: 'relu', silu: 'silu', swish: 'silu',
};
const OUR_ACTIVATIONS: Record<Activation, string> = {
  'gelu-tanh': 'gelu_new', gelu: 'gelu', relu: 'relu', silu: 'silu',
};

/** The error of everything in this module: `E_HF_GPT2` naming the place. */
const hfError = (what: string, hint: string) => new SwitchyardError('E_HF_GPT2', what, hint);

/** One weight of a block: our name, GPT-2's, and whether it is a transposed Conv1D weight. */
const BLOCK_WEIGHTS: [ours: string, hf: string, transposed: boolean][] = [
  ['ln1.weight', 'ln_1.weight', false], ['ln1.bias', 'ln_1.bias', false],
  ['attn.qkv.weight', 'attn.c_attn.weight', true], ['attn.qkv.bias', 'attn.c_attn.bias', false],
  ['attn.proj.weight', 'attn.c_proj.weight', true], ['attn.proj.bias', 'attn.c_proj.bias', false],
  ['ln2.weight', 'ln_2.weight', false], ['ln2.bias', 'ln_2.bias', false],
  ['mlp.layers.0.weight', 'mlp.c_fc.weight', true], ['mlp.layers.0.bias', 'mlp.c_fc.bias', false],
  ['mlp.layers.1.weight', 'mlp.c_proj.weight', true], ['mlp.layers.1.bias', 'mlp.c_proj.bias', false],
];
const TOP_WEIGHTS: [ours: string, hf: string][] = [
  ['wte.weight', 'wte.weight'], ['wpe.weight', 'wpe.weight'], ['lnF.weight', 'ln_f.weight'], ['lnF.bias', 'ln_f.bias'],
];
/** Buffers some GPT-2 checkpoints carry (the causal mask), which are not weights. */
const HF_BUFFERS = /^h\.\d+\.attn\.(bias|masked_bias)$/;

/**
 * Whether tensor names are in GPT-2's layout (`wte.weight`, `h.0.attn.c_attn.weight`, with or without the
 * `transformer.` prefix).
 *
 * @example
 * isHfGpt2Names(['transformer.wte.weight', 'transformer.h.0.ln_1.weight']); // true
 */
export function isHfGpt2Names(names: Iterable<string>): boolean {
  const list = [...names].map((n) => n.replace(/^transformer\./, ''));
  return list.includes('wte.weight') && list.some((n) => /^h\.\d+\./.test(n));
}

/**
 * The reasons `cfg` is not a GPT-2 (empty when it is one): rotary positions, RMSNorm, MoE layers.
 *
 * @example
 * gpt2Incompatibilities({ ...GPT_PRESETS.tiny, position: 'rotary' }); // ['rotary positions (...)']
 */
export function gpt2Incompatibilities(cfg: GptConfig): string[] {
  const why: string[] = [];
  if (cfg.position !== 'learned') why.push('rotary positions (GPT-2 learns a position table, wpe)');
  if (cfg.norm !== 'layernorm') why.push('RMSNorm (GPT-2 uses LayerNorm with a bias)');
  if (cfg.moe) why.push('Mixture-of-Experts layers (GPT-2 is dense)');
  return why;
}

/** Throws `E_HF_GPT2` naming `where` when `cfg` is not a GPT-2. */
function requireGpt2(cfg: GptConfig, where: string): void {
  const why = gpt2Incompatibilities(cfg);
  if (why.length) {
    const hint = 'train with --position learned --norm layernorm and no --experts';
    throw hfError(`${where}: not a GPT-2: ${why.join('; ')}`, hint);
  }
}

function transpose2d(t: { shape: number[]; data: Float32Array }): { shape: number[]; data: Float32Array } {
  const [r, c] = t.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return { shape: [c, r], data: out };
}

/** Pairs of (our name, GPT-2 name, transposed) for every weight of a model of `layers` blocks. */
function namePairs(layers: number, tied: boolean): [string, string, boolean][] {
  const pairs: [string, string, boolean][] = TOP_WEIGHTS.map(([o, h]) => [o, h, false]);
  for (let i = 0; i < layers; i++) {
    for (const [o, h, t] of BLOCK_WEIGHTS) pairs.push([`blocks.${i}.${o}`, `h.${i}.${h}`, t]);
  }
  if (!tied) pairs.push(['head.weight', 'lm_head.weight', false]);
  return pairs;
}

/**
 * Our GPT's weights in GPT-2's layout (names without the `transformer.` prefix, Conv1D weights transposed to
 * [in, out]; `lm_head.weight` only when the head is not tied). Refuses a config that is not a GPT-2.
 *
 * @example
 * const hf = gptToHfGpt2(model.stateDict(), model.cfg); // hf.get('h.0.attn.c_attn.weight').shape: [d, 3d]
 */
export function gptToHfGpt2(weights: F32Tensors, cfg: GptConfig): Map<string, NamedTensor> {
  requireGpt2(cfg, 'export to GPT-2');
  const out = new Map<string, NamedTensor>();
  for (const [ours, hf, transposed] of namePairs(cfg.layers, cfg.tieWeights)) {
    const t = weights.get(ours);
    if (!t) throw hfError(`export to GPT-2: the model has no '${ours}'`, 'export a switchyard train --model gpt run');
    const v = transposed ? transpose2d(t) : { shape: [...t.shape], data: t.data };
    out.set(hf, { dtype: 'F32', shape: v.shape, data: v.data });
  }
  return out;
}

/** A GPT-2 tensor as float32 (F16 widened exactly; F64 rounded). */
function asF32(name: string, t: NamedTensor, source: string): Float32Array {
  if (t.dtype === 'F32') return t.data as Float32Array;
  if (t.dtype === 'F64') return Float32Array.from(t.data as Float64Array);
  if (t.dtype === 'F16') return Float32Array.from(t.data as Uint16Array, halfToFloat);
  throw hfError(`${source}: tensor '${name}' is ${t.dtype}, not a float`, 'save the checkpoint as float32');
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * GPT-2-layout tensors renamed and transposed to our GPT's names (`h.0.attn.c_attn.weight` [d, 3d] ->
 * `blocks.0.attn.qkv.weight` [3d, d]). The `transformer.` prefix is dropped; the causal-mask buffers
 * (`attn.bias`, `attn.masked_bias`) are skipped; `lm_head.weight` becomes `head.weight` unless it equals `wte`
 * (tied). Names this layout does not know are kept as they are, so an init-from report lists them as unused.
 *
 * @example
 * const ours = hfGpt2ToGpt((await loadSafetensors('gpt2/model.safetensors')).tensors, 'gpt2/model.safetensors');
 */
export function hfGpt2ToGpt(tensors: Map<string, NamedTensor>, source = 'GPT-2 checkpoint'): F32Tensors {
  const byHf = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of tensors) {
    const n = name.replace(/^transformer\./, '');
    if (!HF_BUFFERS.test(n)) byHf.set(n, { shape: t.shape, data: asF32(name, t, source) });
  }
  const layers = [...byHf.keys()].reduce((m, n) => Math.max(m, Number(/^h\.(\d+)\./.exec(n)?.[1] ?? -1) + 1), 0);
  const wte = byHf.get('wte.weight');
  const head = byHf.get('lm_head.weight');
  const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
  const tied = !head || (!!wte && same(head.data, wte.data));
  if (head && tied) byHf.delete('lm_head.weight');
  const out: F32Tensors = new Map();
  for (const [ours, hf, transposed] of namePairs(layers, tied)) {
    const t = byHf.get(hf);
    if (!t) continue;
    if (transposed && t.shape.length !== 2) {
      throw hfError(`${source}: '${hf}' has shape [${t.shape}], a Conv1D weight is 2-D`, 'pass a GPT-2 checkpoint');
    }
    out.set(ours, transposed ? transpose2d(t) : t);
    byHf.delete(hf);
  }
  for (const [n, t] of byHf) out.set(n, t);
  return out;
}

/** The fields of a Transformers `GPT2Config` that {@link hfGpt2Config} writes and {@link gptFromHfGpt2} reads. */
export interface HfGpt2Config {
  model_type: 'gpt2';
  architectures: string[];
  vocab_size: number;
  n_positions: number;
  n_ctx: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  n_inner: number | null;
  activation_function: string;
  layer_norm_epsilon: number;
  tie_word_embeddings: boolean;
  resid_pdrop: number;
  embd_pdrop: number;
  attn_pdrop: number;
  initializer_range: number;
  scale_attn_weights: boolean;
  scale_attn_by_inverse_layer_idx: boolean;
  reorder_and_upcast_attn: boolean;
  [key: string]: unknown;
}

/**
 * The Transformers `config.json` (`GPT2Config`) of our GPT. Refuses a config that is not a GPT-2.
 *
 * @example
 * writeFileSync('out/config.json', JSON.stringify(hfGpt2Config(model.cfg), null, 2));
 */
export function hfGpt2Config(cfg: GptConfig): HfGpt2Config {
  requireGpt2(cfg, 'export to GPT-2');
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    vocab_size: cfg.vocab,
    n_positions: cfg.context,
    n_ctx: cfg.context,
    n_embd: cfg.dModel,
    n_layer: cfg.layers,
    n_head: cfg.heads,
    n_inner: cfg.mlpHidden === 4 * cfg.dModel ? null : cfg.mlpHidden,
    activation_function: OUR_ACTIVATIONS[cfg.activation], layer_norm_epsilon: 1e-5, tie_word_embeddings: cfg.tieWeights,
    resid_pdrop: cfg.dropout, embd_pdrop: cfg.dropout, attn_pdrop: cfg.dropout, initializer_range: 0.02,
    scale_attn_weights: true, scale_attn_by_inverse_layer_idx: false, reorder_and_upcast_attn: false,
  };
}

/**
 * The GPT config of GPT-2 weights (already renamed by {@link hfGpt2ToGpt}): sizes from the tensors' shapes,
 * heads and activation from `hf` (a `config.json`; without one, heads are unknown and `gelu_new` is assumed).
 * Refuses a `config.json` whose settings our GPT cannot compute (another layer-norm epsilon, scaled or
 * reordered attention).
 *
 * @example
 * const cfg = gptFromHfGpt2(weights, JSON.parse(readFileSync('gpt2/config.json', 'utf8')));
 */
export function gptFromHfGpt2(
  weights: F32Tensors, hf?: Partial<HfGpt2Config>, source = 'GPT-2 checkpoint',
): Partial<GptConfig> {
  const shape = (n: string) => {
    const t = weights.get(n);
    if (!t) throw hfError(`${source}: no '${n}' in the GPT-2 weights`, 'pass a complete GPT-2 checkpoint');
    return t.shape;
  };
  const bad = (what: string) =>
    hfError(`${source}: config.json ${what}, which our GPT does not compute`, 'export the model with GPT-2 defaults');
  const eps = hf?.layer_norm_epsilon;
  if (eps !== undefined && Math.abs(eps - 1e-5) > 1e-12) throw bad(`layer_norm_epsilon ${eps}`);
  if (hf?.scale_attn_by_inverse_layer_idx || hf?.reorder_and_upcast_attn) throw bad('scales attention by layer');
  if (hf?.scale_attn_weights === false) throw bad('turns off the attention scaling');
  const act = hf?.activation_function ?? 'gelu_new';
  const activation = HF_ACTIVATIONS[act];
  if (!activation) throw bad(`activation_function "${act}"`);
  const [vocab, dModel] = shape('wte.weight');
  const layers = [...weights.keys()].filter((n) => /^blocks\.\d+\.ln1\.weight$/.test(n)).length;
  return {
    vocab, dModel, layers, context: shape('wpe.weight')[0], mlpHidden: shape('blocks.0.mlp.layers.0.weight')[0],
    ...(hf?.n_head !== undefined ? { heads: hf.n_head } : {}), activation, norm: 'layernorm', position: 'learned',
    tieWeights: !weights.has('head.weight'), dropout: 0,
  };
}
