/**
 * The Hugging Face GPT-2 layout: a GPT-2-shaped checkpoint written by our own safetensors writer round-trips
 * bit-exact (import -> run -> export), and the imported model's logits equal an independent GPT-2 forward
 * written here with plain arrays straight from the HF tensors (Conv1D [in, out] weights, q|k|v split, tanh GELU).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GPT, GPT_PRESETS, type GptConfig } from '../../src/models/gpt.ts';
import { gpt2Incompatibilities, gptToHfGpt2, hfGpt2Config, hfGpt2ToGpt } from '../../src/models/hf-gpt2.ts';
import { encodeSafetensors, loadSafetensors, type NamedTensor } from '../../src/runtime/safetensors.ts';
import { writeRun } from '../../src/train/checkpoint.ts';
import { exportHfGpt2 } from '../../src/train/export-run.ts';
import { Forward } from '../../src/train/forward.ts';
import { applyInitSource, readInitSource } from '../../src/train/init-from.ts';
import { ByteTokenizer } from '../../src/data/text/tokenizer.ts';
import { bytesEqual, expectClose, expectSwitchyardError, randArray } from '../train/helpers.ts';

const V = 40; // vocabulary
const P = 12; // positions
const D = 16; // width
const H = 2; // heads
const L = 2; // layers
const F = 4 * D; // MLP hidden

/** A random GPT-2 checkpoint in Transformers' names and layout (Conv1D weights [in, out]). */
function gpt2Tensors(prefix: string): Map<string, NamedTensor> {
  let seed = 1;
  const t = (shape: number[], scale = 0.3): NamedTensor => {
    const size = shape.reduce((a, b) => a * b, 1);
    return { dtype: 'F32', shape, data: randArray(seed++, size, scale) };
  };
  const m = new Map<string, NamedTensor>();
  m.set(`${prefix}wte.weight`, t([V, D], 1));
  m.set(`${prefix}wpe.weight`, t([P, D], 0.5));
  for (let i = 0; i < L; i++) {
    const h = `${prefix}h.${i}.`;
    m.set(`${h}ln_1.weight`, t([D], 1));
    m.set(`${h}ln_1.bias`, t([D]));
    m.set(`${h}attn.c_attn.weight`, t([D, 3 * D]));
    m.set(`${h}attn.c_attn.bias`, t([3 * D]));
    m.set(`${h}attn.c_proj.weight`, t([D, D]));
    m.set(`${h}attn.c_proj.bias`, t([D]));
    m.set(`${h}ln_2.weight`, t([D], 1));
    m.set(`${h}ln_2.bias`, t([D]));
    m.set(`${h}mlp.c_fc.weight`, t([D, F]));
    m.set(`${h}mlp.c_fc.bias`, t([F]));
    m.set(`${h}mlp.c_proj.weight`, t([F, D]));
    m.set(`${h}mlp.c_proj.bias`, t([D]));
    // Older checkpoints carry the causal mask as a buffer: not a weight, skipped on import.
    m.set(`${h}attn.bias`, { dtype: 'F32', shape: [1, 1, P, P], data: new Float32Array(P * P).fill(1) });
  }
  m.set(`${prefix}ln_f.weight`, t([D], 1));
  m.set(`${prefix}ln_f.bias`, t([D]));
  return m;
}

const HF_CONFIG = {
  model_type: 'gpt2', n_head: H, n_embd: D, n_layer: L, n_positions: P, vocab_size: V, activation_function: 'gelu_new',
  layer_norm_epsilon: 1e-5,
};

const root = mkdtempSync(join(tmpdir(), 'sy-hf-'));
const closers: { release(): Promise<void> }[] = [];
afterAll(async () => {
  for (const c of closers) await c.release();
});

/** Writes a GPT-2 folder (model.safetensors + config.json) and returns its path. */
function writeGpt2Dir(name: string, tensors: Map<string, NamedTensor>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(HF_CONFIG));
  return dir;
}

/** Writes `model` as a GPT run directory (config, weights, manifest) and returns its path. */
async function writeGptRun(name: string, model: GPT): Promise<string> {
  const dir = join(root, name);
  const tokenizer = new ByteTokenizer().toJSON();
  await writeRun(dir, { format: 'switchyard.run', version: 1, kind: 'gpt', gpt: model.cfg, tokenizer }, model);
  return dir;
}

async function importGpt2(dir: string): Promise<GPT> {
  const src = await readInitSource({ path: dir });
  expect(src.layout).toBe('hf-gpt2');
  const model = new GPT({ ...GPT_PRESETS.tiny, ...src.gpt } as GptConfig).init(7);
  const report = applyInitSource(model, src);
  expect(report.fresh).toEqual([]);
  expect(report.unused).toEqual([]);
  expect(report.loaded.length).toBe(model.namedParameters().length);
  return model;
}

// ---- an independent GPT-2 forward on plain arrays, straight from the HF tensors ----
type W = (n: string) => Float32Array;
const conv1d = (x: number[], w: Float32Array, b: Float32Array, nIn: number, nOut: number) =>
  Array.from({ length: nOut }, (_, o) => x.reduce((s, xi, i) => s + xi * w[i * nOut + o], b[o]));
function layerNorm(x: number[], g: Float32Array, b: Float32Array): number[] {
  const mean = x.reduce((a, v) => a + v, 0) / x.length;
  const v = x.reduce((a, xi) => a + (xi - mean) ** 2, 0) / x.length;
  return x.map((xi, i) => ((xi - mean) / Math.sqrt(v + 1e-5)) * g[i] + b[i]);
}
const geluNew = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

function gpt2Logits(w: W, ids: number[]): number[][] {
  const hd = D / H;
  const embed = (id: number, t: number) =>
    Array.from({ length: D }, (_, c) => w('wte.weight')[id * D + c] + w('wpe.weight')[t * D + c]);
  let h = ids.map(embed);
  for (let l = 0; l < L; l++) {
    const p = `h.${l}.`;
    const ln = (x: number[], n: string) => layerNorm(x, w(`${p}${n}.weight`), w(`${p}${n}.bias`));
    const conv = (x: number[], n: string, nIn: number, nOut: number) =>
      conv1d(x, w(`${p}${n}.weight`), w(`${p}${n}.bias`), nIn, nOut);
    const qkv = h.map((x) => conv(ln(x, 'ln_1'), 'attn.c_attn', D, 3 * D));
    const att = qkv.map((row, t) => {
      const out = new Array<number>(D).fill(0);
      for (let head = 0; head < H; head++) {
        const q = row.slice(head * hd, (head + 1) * hd); // q | k | v, each split into heads
        const key = (r: number[]) => r.slice(D + head * hd, D + (head + 1) * hd);
        const scores = qkv.slice(0, t + 1).map((r) => key(r).reduce((s, ki, i) => s + ki * q[i], 0) / Math.sqrt(hd));
        const mx = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - mx));
        const z = e.reduce((a, b) => a + b, 0);
        e.forEach((ei, j) => {
          for (let i = 0; i < hd; i++) out[head * hd + i] += (ei / z) * qkv[j][2 * D + head * hd + i];
        });
      }
      return out;
    });
    h = h.map((x, t) => conv(att[t], 'attn.c_proj', D, D).map((v, i) => v + x[i]));
    h = h.map((x) => {
      const f = conv(ln(x, 'ln_2'), 'mlp.c_fc', D, F).map(geluNew);
      return conv(f, 'mlp.c_proj', F, D).map((v, i) => v + x[i]);
    });
  }
  return h.map((x) => {
    const y = layerNorm(x, w('ln_f.weight'), w('ln_f.bias'));
    const logit = (v: number) => y.reduce((s, yi, c) => s + yi * w('wte.weight')[v * D + c], 0);
    return Array.from({ length: V }, (_, v) => logit(v)); // the head is tied to wte
  });
}

async function ourLogits(model: GPT, ids: number[]): Promise<Float32Array> {
  const spec = { ids: { dtype: 'i64' as const, shape: [1, ids.length] } };
  const fwd = await Forward.compile(model, (m, b) => ({ logits: (m as GPT).forward(b.ids) }), spec, { threads: 1 });
  closers.push(fwd);
  const out = await fwd.run({ ids: { dtype: 'i64', shape: [1, ids.length], data: BigInt64Array.from(ids, BigInt) } });
  return out.logits.data as Float32Array;
}

describe('Hugging Face GPT-2 layout', () => {
  const IDS = [3, 17, 0, 39, 8, 8, 21];

  const PREFIXES = [['with the transformer. prefix', 'transformer.'], ['without it', '']];
  it.each(PREFIXES)('imports a GPT-2 checkpoint %s: config from config.json and shapes', async (_, prefix) => {
    const model = await importGpt2(writeGpt2Dir(`import-${prefix || 'bare'}`, gpt2Tensors(prefix)));
    expect(model.cfg).toMatchObject({ vocab: V, dModel: D, layers: L, heads: H, context: P, mlpHidden: F });
    expect(model.cfg).toMatchObject({ activation: 'gelu-tanh', tieWeights: true, position: 'learned' });
  });

  it('imported weights compute GPT-2: our logits equal an independent plain-array GPT-2 forward', async () => {
    const hf = gpt2Tensors('');
    const model = await importGpt2(writeGpt2Dir('logits', hf));
    const expected = gpt2Logits((n) => hf.get(n)!.data as Float32Array, IDS).flat();
    expectClose(await ourLogits(model, IDS), expected, 1e-4, 1e-4, 'logits');
    // The exact GELU would not match GPT-2's function: the activation matters at this tolerance.
    const exact = new GPT({ ...model.cfg, activation: 'gelu' }).named();
    exact.loadStateDict(model.stateDict());
    const diff = (await ourLogits(exact, IDS)).reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0);
    expect(diff).toBeGreaterThan(1e-4);
  });

  it('round-trips bit-exact: GPT-2 file -> import -> run -> export hf-gpt2 -> the same bytes per tensor', async () => {
    const hf = gpt2Tensors('transformer.');
    const model = await importGpt2(writeGpt2Dir('roundtrip', hf));
    const out = join(root, 'exported');
    const r = await exportHfGpt2(await writeGptRun('run', model), out);
    expect(r.tensors).toBe(2 + L * 12 + 2);
    const back = (await loadSafetensors(join(out, 'model.safetensors'))).tensors;
    for (const [name, t] of hf) {
      if (name.endsWith('attn.bias') && t.shape.length === 4) continue; // the mask buffer is not a weight
      const got = back.get(name);
      expect(got?.shape, name).toEqual(t.shape);
      expect(bytesEqual(got!.data as Float32Array, t.data as Float32Array), name).toBe(true);
    }
    expect(back.has('lm_head.weight')).toBe(false); // tied
    const cfg = JSON.parse((await import('node:fs')).readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ model_type: 'gpt2', n_embd: D, n_head: H, n_layer: L, n_positions: P, vocab_size: V });
    expect(cfg).toMatchObject({ activation_function: 'gelu_new', tie_word_embeddings: true, n_inner: null });
    // ... and the export imports again to the same model
    const again = await importGpt2(out);
    for (const [n, v] of model.stateDict()) expect(bytesEqual(again.stateDict().get(n)!.data, v.data), n).toBe(true);
  });

  it('an untied head exports as lm_head.weight and imports untied; Conv1D weights are the transposes of ours', () => {
    const cfg: GptConfig = { ...GPT_PRESETS.tiny, vocab: 20, dModel: 8, heads: 2, layers: 1, context: 6 };
    cfg.mlpHidden = 12;
    const model = new GPT(cfg).init(3);
    const hf = gptToHfGpt2(model.stateDict(), cfg);
    expect(hf.get('lm_head.weight')?.shape).toEqual([20, 8]);
    expect(hf.get('h.0.mlp.c_fc.weight')?.shape).toEqual([8, 12]);
    const ours = model.blocks[0].attn.qkv.weight.data; // [24, 8]
    const theirs = hf.get('h.0.attn.c_attn.weight')!.data as Float32Array; // [8, 24]
    expect(theirs[5 * 24 + 17]).toBe(ours[17 * 8 + 5]);
    expect(hfGpt2Config(cfg)).toMatchObject({ n_inner: 12, tie_word_embeddings: false, activation_function: 'gelu' });
  });

  it('widens F16 checkpoints exactly and drops the transformer. prefix and mask buffers', () => {
    const half = Uint16Array.of(0x3c00, 0xc000, 0x0001, 0x7bff); // 1, -2, 2^-24 (subnormal), 65504
    const m = new Map<string, NamedTensor>([
      ['transformer.wte.weight', { dtype: 'F16', shape: [2, 2], data: half }],
      ['transformer.h.0.attn.bias', { dtype: 'F32', shape: [1], data: Float32Array.of(1) }],
      ['transformer.h.0.ln_1.weight', { dtype: 'F16', shape: [2], data: half.subarray(0, 2) }],
    ]);
    const ours = hfGpt2ToGpt(m);
    expect([...ours.keys()]).toEqual(['wte.weight', 'blocks.0.ln1.weight']);
    expect([...ours.get('wte.weight')!.data]).toEqual([1, -2, 2 ** -24, 65504]);
  });

  it('refuses configurations that are not GPT-2: rotary, RMSNorm, MoE, another epsilon', async () => {
    const base = { ...GPT_PRESETS.tiny };
    expect(gpt2Incompatibilities(base)).toEqual([]);
    const moe = { experts: 2, topK: 1, hidden: 8 };
    expect(gpt2Incompatibilities({ ...base, position: 'rotary', norm: 'rmsnorm', moe })).toHaveLength(3);
    await expectSwitchyardError(() => hfGpt2Config({ ...base, position: 'rotary' }), 'E_HF_GPT2', /rotary/);
    const dir = writeGpt2Dir('eps', gpt2Tensors(''));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...HF_CONFIG, layer_norm_epsilon: 1e-6 }));
    await expectSwitchyardError(() => readInitSource({ path: dir }), 'E_HF_GPT2', /layer_norm_epsilon/);
  });

  const hasTorch = spawnSync('python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!hasTorch)('PyTorch (when installed) computes the same logits from the exported folder', async () => {
    const model = await importGpt2(writeGpt2Dir('torch', gpt2Tensors('')));
    const out = join(root, 'torch-export');
    await exportHfGpt2(await writeGptRun('torch-run', model), out);
    const script = join(import.meta.dirname, 'gpt2_torch_logits.py');
    const r = spawnSync('python3', [script, out, JSON.stringify(IDS)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expectClose(await ourLogits(model, IDS), JSON.parse(r.stdout), 1e-4, 1e-4, 'torch logits');
  });
});
