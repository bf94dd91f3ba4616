import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/core/graph.ts';
import { ByteTokenizer } from '../../src/data/text/tokenizer.ts';
import { GPT, type GptConfig, gptStepFlops, isMoeLayer } from '../../src/models/gpt.ts';
import type { Module } from '../../src/nn/module.ts';
import { adamw } from '../../src/optim/optimizer.ts';
import { writeRun } from '../../src/train/checkpoint.ts';
import { Forward } from '../../src/train/forward.ts';
import { generate, sampleToken } from '../../src/train/generate.ts';
import { evaluateLm, lmRowLoss } from '../../src/train/lm.ts';
import { TrainStep } from '../../src/train/step.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectNear, hostF32, hostI64, rand } from '../nn/lm-helpers.ts';

const BASE: GptConfig = { vocab: 16, dModel: 8, layers: 2, heads: 2, context: 8, mlpHidden: 16, activation: 'gelu', norm: 'layernorm', position: 'learned', tieWeights: false, dropout: 0 };
const MOE = { experts: 4, topK: 2, hidden: 8 };

const closers: { release(): Promise<void> }[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const c of closers) await c.release();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const names = (cfg: GptConfig) => new GPT(cfg).named().namedParameters().map(([n]) => n);

describe('GPT structure', () => {
  it('state_dict names follow nanoGPT/PyTorch conventions', () => {
    const block = (i: number, mlp: string[]) => [
      ...['ln1.weight', 'ln1.bias', 'attn.qkv.weight', 'attn.qkv.bias', 'attn.proj.weight', 'attn.proj.bias', 'ln2.weight', 'ln2.bias'],
      ...mlp,
    ].map((s) => `blocks.${i}.${s}`);
    const dense = ['mlp.layers.0.weight', 'mlp.layers.0.bias', 'mlp.layers.1.weight', 'mlp.layers.1.bias'];
    const moe = ['mlp.router.weight', 'mlp.experts.w1', 'mlp.experts.b1', 'mlp.experts.w2', 'mlp.experts.b2'];
    expect(names(BASE)).toEqual(['wte.weight', 'wpe.weight', ...block(0, dense), ...block(1, dense), 'lnF.weight', 'lnF.bias', 'head.weight']);
    // tied head: no head.weight; rotary: no wpe
    expect(names({ ...BASE, tieWeights: true, position: 'rotary' })).toEqual(['wte.weight', ...block(0, dense), ...block(1, dense), 'lnF.weight', 'lnF.bias']);
    // `alternate` MoE layers are 1, 3, ...
    const alt: GptConfig = { ...BASE, layers: 4, moe: { ...MOE, layers: 'alternate' } };
    expect([0, 1, 2, 3].map((i) => isMoeLayer(alt, i))).toEqual([false, true, false, true]);
    const n = names(alt);
    for (const i of [1, 3]) for (const s of moe) expect(n).toContain(`blocks.${i}.${s}`);
    for (const i of [0, 2]) {
      expect(n).toContain(`blocks.${i}.mlp.layers.0.weight`);
      expect(n).not.toContain(`blocks.${i}.mlp.experts.w1`);
    }
    expect(names({ ...BASE, moe: { ...MOE } })).toEqual(['wte.weight', 'wpe.weight', ...block(0, moe), ...block(1, moe), 'lnF.weight', 'lnF.bias', 'head.weight']);
    expect(names({ ...BASE, moe: { ...MOE, layers: [0] } })).toContain('blocks.0.mlp.experts.w1');
    // shapes: experts stacked [E, hidden, dim] / [E, dim, hidden]; head [vocab, dModel]
    const m = new GPT({ ...BASE, moe: { ...MOE, layers: 'alternate' } }).named();
    const shapes = Object.fromEntries(m.namedParameters().map(([k, p]) => [k, p.shape]));
    expect(shapes['blocks.1.mlp.experts.w1']).toEqual([4, 8, 8]);
    expect(shapes['blocks.1.mlp.router.weight']).toEqual([4, 8]);
    expect(shapes['blocks.0.attn.qkv.weight']).toEqual([24, 8]);
    expect(shapes['head.weight']).toEqual([16, 8]);
  });

  it('parameter counts and active parameters per token, by hand', () => {
    // dense: wte 16*8 + wpe 8*8 + 2 blocks * (ln1 16 + qkv 24*8+24 + proj 64+8 + ln2 16 + mlp 16*8+16 + 8*16+8 = 600) + lnF 16 + head 16*8
    const dense = new GPT(BASE);
    expect(dense.parameterCount()).toBe(128 + 64 + 2 * 600 + 16 + 128);
    expect(dense.parameterCount()).toBe(1536);
    expect(dense.activeParameterCount()).toBe(1536 - 128 - 64); // total minus embeddings
    // tied: no head; the embedding matrix is the head's matmul, so it counts as active
    const tied = new GPT({ ...BASE, tieWeights: true });
    expect(tied.parameterCount()).toBe(1536 - 128);
    expect(tied.activeParameterCount()).toBe(1536 - 128 - 64);
    // MoE on layer 1: router 4*8 + experts 4 * (8*8 + 8 + 8*8 + 8 = 144) replace the dense MLP (280)
    const moe = new GPT({ ...BASE, moe: { ...MOE, layers: 'alternate', biasUpdateRate: 0.01 } });
    expect(moe.parameterCount()).toBe(1536 - 280 + 32 + 4 * 144);
    expect(moe.parameterCount(true)).toBe(1536 - 280 + 32 + 4 * 144 + 4); // + the routerBias buffer
    // active: router + top-k/E of the experts
    expect(moe.activeParameterCount()).toBe(1536 - 128 - 64 - 280 + 32 + (4 * 144 * 2) / 4);
    // shared experts are always active
    const shared = new GPT({ ...BASE, moe: { ...MOE, sharedExperts: 1 } });
    expect(shared.activeParameterCount() - new GPT({ ...BASE, moe: { ...MOE } }).activeParameterCount()).toBe(2 * 144);
  });

  it('gptStepFlops: 6 x tokens x matmul params + attention scores, by hand', () => {
    // dense: matmul params = head 16*8 + 2 * (qkv+proj 4*64 + mlp 2*8*16) = 1152; tokens = 3*8
    // attention: QK^T and AV are 2*T*T*d FLOPs each forward, x3 with backward = 12*B*L*T^2*d
    expect(gptStepFlops(BASE, 3)).toBe(6 * 24 * 1152 + 12 * 3 * 2 * 8 * 8 * 8);
    expect(gptStepFlops(BASE, 3)).toBe(202752);
    // MoE on layer 1: router 8*4 + top-2 experts 2 * 2*8*8 instead of the dense 2*8*16
    const moe: GptConfig = { ...BASE, moe: { ...MOE, layers: 'alternate' } };
    expect(gptStepFlops(moe, 3)).toBe(6 * 24 * (128 + 512 + 256 + 32 + 256) + 12 * 3 * 2 * 8 * 8 * 8);
    // + one shared expert 2*8*8 per MoE layer; tying does not change the matmul count
    expect(gptStepFlops({ ...moe, moe: { ...moe.moe!, sharedExperts: 1 } }, 3) - gptStepFlops(moe, 3)).toBe(6 * 24 * 128);
    expect(gptStepFlops({ ...BASE, tieWeights: true }, 3)).toBe(gptStepFlops(BASE, 3));
  });

  it('rejects bad configurations with E_CONFIG', () => {
    expect(() => new GPT({ ...BASE, heads: 3 })).toThrow(/not divisible/);
    expect(() => new GPT({ ...BASE, moe: { ...MOE, topK: 5 } })).toThrow(/top-k 5/);
    expect(() => new GPT({ ...BASE, layers: 0 })).toThrow(/layers must be a positive integer/);
  });
});

const decodeFn = (m: Module, b: Record<string, Tensor>): Record<string, Tensor> => {
  const r = (m as GPT).decodeStep(b.ids, b.pos, b.cacheK, b.cacheV);
  return { logits: r.logits, presentK: r.cacheK, presentV: r.cacheV };
};

/** Full-sequence logits [B, T, vocab] and a KV-cached decoder over the same weights (ORT). */
async function compileBoth(model: GPT, B = 1) {
  const c = model.cfg;
  const T = c.context;
  const fwd = await Forward.compile(model, (m, b) => ({ logits: (m as GPT).forward(b.ids) }), { ids: { dtype: 'i64', shape: [B, T] } }, { threads: 1 });
  const cacheShape = [c.layers, B, c.heads, T, c.dModel / c.heads];
  const spec = { ids: { dtype: 'i64' as const, shape: [B, 1] }, pos: { dtype: 'i64' as const, shape: [1] }, cacheK: { dtype: 'f32' as const, shape: cacheShape }, cacheV: { dtype: 'f32' as const, shape: cacheShape } };
  const dec = await Forward.compile(model, decodeFn, spec, { threads: 1 });
  closers.push(fwd, dec);
  const full = async (ids: number[]) => (await fwd.run({ ids: hostI64([B, T], ids) })).logits.data as Float32Array;
  const stepwise = async (ids: number[]) => {
    const n = cacheShape.reduce((a, b) => a * b, 1);
    let k: Float32Array = new Float32Array(n);
    let v: Float32Array = new Float32Array(n);
    const out = new Float32Array(B * T * c.vocab);
    for (let t = 0; t < T; t++) {
      const r = await dec.run({ ids: hostI64([B, 1], Array.from({ length: B }, (_, b) => ids[b * T + t])), pos: hostI64([1], [t]), cacheK: hostF32(cacheShape, k), cacheV: hostF32(cacheShape, v) });
      k = r.presentK.data as Float32Array;
      v = r.presentV.data as Float32Array;
      const l = r.logits.data as Float32Array;
      expect(r.logits.shape).toEqual([B, c.vocab]);
      for (let b = 0; b < B; b++) out.set(l.subarray(b * c.vocab, (b + 1) * c.vocab), (b * T + t) * c.vocab);
    }
    return out;
  };
  return { full, stepwise };
}

describe('KV-cached decoding', () => {
  it.each<[string, Partial<GptConfig>]>([
    ['dense, learned positions', {}],
    ['MoE (all layers), learned positions', { moe: { ...MOE } }],
    ['dense, rotary', { position: 'rotary' }],
    ['MoE alternate, rotary, rmsnorm, tied, sigmoid router + shared expert', { position: 'rotary', norm: 'rmsnorm', tieWeights: true, moe: { ...MOE, layers: 'alternate', scoring: 'sigmoid', sharedExperts: 1 } }],
  ])('%s: decodeStep logits for a full prompt equal forward logits at every position (ORT)', async (_name, over) => {
    const model = new GPT({ ...BASE, ...over }).init(7);
    const B = 2;
    const { full, stepwise } = await compileBoth(model, B);
    const rng = new Rng(3);
    const ids = Array.from({ length: B * BASE.context }, () => rng.int(BASE.vocab));
    const want = await full(ids);
    expect(Math.max(...want.map(Math.abs))).toBeGreaterThan(0.1); // logits are not trivially tiny
    expectNear(await stepwise(ids), want, 1e-4, 0, 'decode vs forward');
  });
});

describe('training', () => {
  it('a tiny GPT overfits a 64-byte string (TrainStep + AdamW on ORT), and greedy generation then recites it', async () => {
    const text = 'Switchyard trains GPTs in TypeScript: traced, compiled, checked.';
    const bytes = Buffer.from(text, 'utf8');
    expect(bytes.length).toBe(64);
    const cfg: GptConfig = { ...BASE, vocab: 256, dModel: 32, layers: 1, heads: 2, context: 16, mlpHidden: 64 };
    const model = new GPT(cfg).init(1);
    const T = cfg.context;
    const windows = bytes.length - T; // 48 windows, every start
    const step = await TrainStep.compile({
      model, optimizer: adamw({ weightDecay: 0 }), threads: 1,
      batch: { x: { dtype: 'i64', shape: [windows, T] }, y: { dtype: 'i64', shape: [windows, T] } },
      loss: (m, b) => (m as GPT).loss(b.x, b.y),
    });
    closers.push(step);
    const K = 50;
    const xs: number[] = [];
    const ys: number[] = [];
    for (let k = 0; k < K; k++) for (let s = 0; s < windows; s++) for (let t = 0; t < T; t++) {
      xs.push(bytes[s + t]);
      ys.push(bytes[s + t + 1]);
    }
    let last = Infinity;
    let first = NaN;
    for (let call = 0; call < 6; call++) {
      const r = await step.run({ x: hostI64([K, windows, T], xs), y: hostI64([K, windows, T], ys) }, Array(K).fill(1e-2));
      expect(r.nonFinite).toBeNull();
      if (call === 0) first = r.losses[0];
      last = r.losses[K - 1];
    }
    expect(first).toBeGreaterThan(4); // ~ln(256) at the start
    expect(last).toBeLessThan(0.2);

    // the trained weights through the real generate(): a run directory with config + weights
    const dir = mkdtempSync(join(tmpdir(), 'sy-gpt-'));
    dirs.push(dir);
    await writeRun(dir, { format: 'switchyard.run', version: 1, kind: 'gpt', gpt: cfg, tokenizer: new ByteTokenizer().toJSON() }, model);
    const g = await generate(dir, text.slice(0, 6), { maxTokens: 10, temperature: 0 });
    expect(g.text).toBe(text.slice(6, 16));
    expect(g.promptTokens).toBe(6);
    // the context (16) fills after 16 tokens: the window slides (cache rebuilt from the last 8) and generation goes on
    const long = await generate(dir, text.slice(0, 6), { maxTokens: 100, temperature: 0 });
    expect(long.tokens.length).toBe(100);
    expect(long.windowSlides).toBeGreaterThanOrEqual(10);
    expect(long.text.slice(0, 10)).toBe(text.slice(6, 16));
  });
});

describe('evaluation', () => {
  it('evaluateLm on a static batch: a padded last batch counts only its real windows; capacity MoE compiles', async () => {
    const cfg: GptConfig = { ...BASE, moe: { ...MOE, dispatch: 'capacity', capacityFactor: 4 } }; // C = N: nothing dropped
    const model = new GPT(cfg).init(5);
    const T = cfg.context;
    const rng = new Rng(8);
    const tokens = Int32Array.from({ length: 11 * T + 1 }, () => rng.int(cfg.vocab)); // 11 windows
    const fwd = await Forward.compile(model, lmRowLoss, { x: { dtype: 'i64', shape: [4, T] }, y: { dtype: 'i64', shape: [4, T] } }, { threads: 1 });
    const all = await Forward.compile(model, lmRowLoss, { x: { dtype: 'i64', shape: [11, T] }, y: { dtype: 'i64', shape: [11, T] } }, { threads: 1 });
    closers.push(fwd, all);
    const x: number[] = [];
    const y: number[] = [];
    for (let w = 0; w < 11; w++) for (let t = 0; t < T; t++) {
      x.push(tokens[w * T + t]);
      y.push(tokens[w * T + t + 1]);
    }
    const rows = (await all.run({ x: hostI64([11, T], x), y: hostI64([11, T], y) })).rowLoss.data as Float32Array;
    expect(rows).toHaveLength(11);
    const mean = (k: number) => rows.subarray(0, k).reduce((a, b) => a + b, 0) / k;
    const r = await evaluateLm(fwd, tokens, T, 4, 1e9); // batches of 4, 4, 3 (+1 padding row)
    expect(r.tokens).toBe(11 * T);
    expect(r.loss).toBeCloseTo(mean(11), 5);
    const cut = await evaluateLm(fwd, tokens, T, 4, 6 * T); // at most 6 windows: 4, 2 (+2 padding rows)
    expect(cut.tokens).toBe(6 * T);
    expect(cut.loss).toBeCloseTo(mean(6), 5);
  });
});

describe('sampling', () => {
  const logitsOf = (seed: number, n = 12) => Float32Array.from(rand(seed, n, 3));
  const argmax = (l: Float32Array) => l.indexOf(Math.max(...l));

  it('greedy (temperature 0) picks the argmax; top-k=1 and a tiny top-p do too, whatever the seed and temperature', () => {
    for (let s = 0; s < 30; s++) {
      const l = logitsOf(s);
      const best = argmax(l);
      expect(sampleToken(l, { maxTokens: 1, temperature: 0 }, new Rng(s))).toBe(best);
      for (const temperature of [0.5, 1, 5]) {
        expect(sampleToken(l, { maxTokens: 1, temperature, topK: 1 }, new Rng(s))).toBe(best);
        expect(sampleToken(l, { maxTokens: 1, temperature, topP: 1e-3 }, new Rng(s))).toBe(best);
      }
    }
  });

  it('the same seed gives the same sequence; top-k and top-p keep only the allowed tokens, in the right proportions', () => {
    const l = logitsOf(99);
    const draw = (seed: number, o = {}) => {
      const rng = new Rng(seed);
      return Array.from({ length: 200 }, () => sampleToken(l, { maxTokens: 1, temperature: 1, ...o }, rng));
    };
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5)).not.toEqual(draw(6));
    const order = Array.from(l.keys()).sort((a, b) => l[b] - l[a]);
    expect(new Set(draw(7, { topK: 3 })).size).toBeLessThanOrEqual(3);
    for (const t of draw(7, { topK: 3 })) expect(order.slice(0, 3)).toContain(t);
    // probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.7 keeps the first two, renormalised to 5/8 and 3/8
    const p = Float32Array.from([0.15, 0.5, 0.05, 0.3].map(Math.log));
    const rng = new Rng(11);
    const counts = [0, 0, 0, 0];
    const N = 8000;
    for (let i = 0; i < N; i++) counts[sampleToken(p, { maxTokens: 1, temperature: 1, topP: 0.7 }, rng)]++;
    expect(counts[0] + counts[2]).toBe(0);
    expect(counts[1] / N).toBeGreaterThan(0.625 - 0.03);
    expect(counts[1] / N).toBeLessThan(0.625 + 0.03);
    // no filter: frequencies follow the softmax
    counts.fill(0);
    for (let i = 0; i < N; i++) counts[sampleToken(p, { maxTokens: 1, temperature: 1 }, rng)]++;
    [0.15, 0.5, 0.05, 0.3].forEach((q, i) => expect(Math.abs(counts[i] / N - q)).toBeLessThan(0.03));
  });

  it('generate(): greedy equals argmax of full-sequence logits; top-k=1 equals greedy; a seed fixes the sample', async () => {
    const cfg: GptConfig = { ...BASE, vocab: 256, context: 12, position: 'rotary', moe: { ...MOE, layers: 'alternate' } };
    const model = new GPT(cfg).init(12);
    const dir = mkdtempSync(join(tmpdir(), 'sy-gpt-'));
    dirs.push(dir);
    await writeRun(dir, { format: 'switchyard.run', version: 1, kind: 'gpt', gpt: cfg, tokenizer: new ByteTokenizer().toJSON() }, model);
    const prompt = 'Hey';
    const greedy = await generate(dir, prompt, { maxTokens: 6, temperature: 0 });
    expect(greedy.tokens).toHaveLength(6);
    // the same tokens by re-running the whole (zero-padded, causal) sequence and taking the argmax at its end
    const fwd = await Forward.compile(model, (m, b) => ({ logits: (m as GPT).forward(b.ids) }), { ids: { dtype: 'i64', shape: [1, cfg.context] } }, { threads: 1 });
    closers.push(fwd);
    const seq = [...Buffer.from(prompt)];
    for (let i = 0; i < 6; i++) {
      const ids = [...seq, ...Array(cfg.context - seq.length).fill(0)];
      const logits = (await fwd.run({ ids: hostI64([1, cfg.context], ids) })).logits.data as Float32Array;
      const row = logits.subarray((seq.length - 1) * cfg.vocab, seq.length * cfg.vocab);
      const sorted = Float32Array.from(row).sort().reverse();
      expect(sorted[0] - sorted[1]).toBeGreaterThan(1e-4); // no near-tie: the KV-cached path must agree
      seq.push(argmax(row));
    }
    expect(greedy.tokens).toEqual(seq.slice(prompt.length));
    expect((await generate(dir, prompt, { maxTokens: 6, temperature: 1, topK: 1, seed: 4 })).tokens).toEqual(greedy.tokens);
    const a = await generate(dir, prompt, { maxTokens: 8, temperature: 1.5, seed: 9 });
    const b = await generate(dir, prompt, { maxTokens: 8, temperature: 1.5, seed: 9 });
    expect(a.tokens).toEqual(b.tokens);
    expect(a.text).toBe(b.text);
  });
});
