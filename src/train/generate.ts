import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../core/graph.ts';
import { createStreamDecoder, type Tokenizer, tokenizerFromJSON } from '../data/text/tokenizer.ts';
import { GPT } from '../models/gpt.ts';
import type { Module } from '../nn/module.ts';
import { SwitchyardError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { loadWeights, RUN_FILES } from './checkpoint.ts';
import { exportOnnx, Forward } from './forward.ts';
import type { LmRunConfig } from './lm.ts';

/** Sampling options of {@link generate}. */
export interface SampleOptions {
  maxTokens: number;
  /** 0 = greedy. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP?: number;
  seed?: number;
  /** Called with each piece of text as soon as it is complete (for streaming to a terminal). */
  onText?: (text: string) => void;
}

/** Loads a language-model run directory: config, tokenizer, weights. */
export async function loadLmRun(dir: string): Promise<{ cfg: LmRunConfig; tok: Tokenizer; model: GPT }> {
  const file = join(dir, RUN_FILES.config);
  if (!existsSync(file)) throw new SwitchyardError('E_FILE_NOT_FOUND', `${file}: no such file`, 'pass the --out directory of a switchyard train --model gpt run');
  const cfg = JSON.parse(await readFile(file, 'utf8')) as LmRunConfig;
  if (cfg.kind !== 'gpt') throw new SwitchyardError('E_CONFIG', `${file}: not a language-model run (kind ${cfg.kind})`, 'generate needs a run trained with --model gpt');
  const model = new GPT(cfg.gpt).named();
  await loadWeights(dir, model);
  return { cfg, tok: tokenizerFromJSON(cfg.tokenizer), model };
}

function decodeSpec(model: GPT) {
  const c = model.cfg;
  const cache = [c.layers, 1, c.heads, c.context, c.dModel / c.heads];
  return {
    ids: { dtype: 'i64' as const, shape: [1, 1] },
    pos: { dtype: 'i64' as const, shape: [1] },
    cacheK: { dtype: 'f32' as const, shape: cache },
    cacheV: { dtype: 'f32' as const, shape: cache },
  };
}

const decodeFn = (m: Module, b: Record<string, Tensor>): Record<string, Tensor> => {
  const r = (m as GPT).decodeStep(b.ids, b.pos, b.cacheK, b.cacheV);
  return { logits: r.logits, presentK: r.cacheK, presentV: r.cacheV };
};

/** Picks the next token from `logits` with temperature, top-k and top-p (nucleus) filtering. */
export function sampleToken(logits: Float32Array, o: SampleOptions, rng: Rng): number {
  const t = o.temperature ?? 1;
  if (t <= 0) return logits.reduce((best, v, i) => (v > logits[best] ? i : best), 0);
  let order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
  if (o.topK && o.topK > 0) order = order.slice(0, o.topK);
  const max = logits[order[0]];
  let probs = order.map((i) => Math.exp((logits[i] - max) / t));
  let sum = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / sum);
  const topP = o.topP ?? 1;
  if (topP < 1) {
    let acc = 0;
    let cut = probs.length;
    for (let i = 0; i < probs.length; i++) {
      acc += probs[i];
      if (acc >= topP) {
        cut = i + 1;
        break;
      }
    }
    order = order.slice(0, cut);
    probs = probs.slice(0, cut);
    sum = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / sum);
  }
  let u = rng.next();
  for (let i = 0; i < probs.length; i++) {
    u -= probs[i];
    if (u <= 0) return order[i];
  }
  return order[order.length - 1];
}

/**
 * Generates text after `prompt` with a KV-cached decode graph: every token (prompt or generated) costs one
 * decode step over the cache, never a re-run of the sequence. When the context fills up, the window slides:
 * the cache is rebuilt from the last half-context of text and generation goes on, up to `maxTokens`.
 *
 * @example
 * const { text } = await generate('runs/lm', 'The economy', { maxTokens: 100, temperature: 0.8, topK: 40, seed: 1, onText: (s) => process.stdout.write(s) });
 */
export async function generate(runDir: string, prompt: string, o: SampleOptions): Promise<{ text: string; tokens: number[]; promptTokens: number; msPerToken: number; windowSlides: number }> {
  const { tok, model } = await loadLmRun(runDir);
  const c = model.cfg;
  const ids = Array.from(tok.encode(prompt));
  if (ids.length === 0) ids.push(...tok.encode('\n'));
  if (ids.length >= c.context) throw new SwitchyardError('E_PROMPT', `the prompt is ${ids.length} tokens; the model's context is ${c.context}`, 'use a shorter prompt');
  const fwd = await Forward.compile(model, decodeFn, decodeSpec(model));
  const size = c.layers * c.heads * c.context * (c.dModel / c.heads);
  let cacheK: Float32Array = new Float32Array(size);
  let cacheV: Float32Array = new Float32Array(size);
  const cacheShape = decodeSpec(model).cacheK.shape;
  const rng = new Rng(o.seed ?? 0);
  const stream = createStreamDecoder(tok);
  const out: number[] = [];
  let logits: Float32Array = new Float32Array(0);
  let pos = 0;
  const t0 = performance.now();
  const feed = async (id: number) => {
    const r = await fwd.run({
      ids: { dtype: 'i64', shape: [1, 1], data: BigInt64Array.of(BigInt(id)) },
      pos: { dtype: 'i64', shape: [1], data: BigInt64Array.of(BigInt(pos)) },
      cacheK: { dtype: 'f32', shape: cacheShape, data: cacheK },
      cacheV: { dtype: 'f32', shape: cacheShape, data: cacheV },
    });
    cacheK = r.presentK.data as Float32Array;
    cacheV = r.presentV.data as Float32Array;
    logits = r.logits.data as Float32Array;
    pos++;
  };
  for (const id of ids) await feed(id);
  let reprimes = 0;
  for (let i = 0; i < o.maxTokens; i++) {
    const next = sampleToken(logits, o, rng);
    out.push(next);
    const piece = stream.push(next);
    if (piece) o.onText?.(piece);
    if (i === o.maxTokens - 1) break;
    if (pos >= c.context) {
      // The cache is full: slide the window, re-reading the last half of the text from position 0.
      const recent = [...ids, ...out].slice(-Math.floor(c.context / 2));
      cacheK.fill(0);
      cacheV.fill(0);
      pos = 0;
      reprimes++;
      for (const id of recent.slice(0, -1)) await feed(id);
    }
    await feed(next);
  }
  const rest = stream.flush();
  if (rest) o.onText?.(rest);
  const steps = ids.length + Math.max(0, out.length - 1) + reprimes * Math.floor(c.context / 2);
  await fwd.release();
  return { text: tok.decode(out), tokens: out, promptTokens: ids.length, msPerToken: (performance.now() - t0) / Math.max(1, steps), windowSlides: reprimes };
}

/**
 * Exports a language model's KV-cached decode step as ONNX: inputs `ids` [1, 1], `pos` [1], `cacheK`,
 * `cacheV` [layers, 1, heads, context, headDim]; outputs `logits` [1, vocab] and the updated caches `presentK`, `presentV`.
 * Dense and MoE models alike (MoE dispatch uses NonZero/Gather/ScatterND).
 */
export async function exportLm(runDir: string): Promise<{ bytes: Uint8Array; meta: Record<string, string> }> {
  const { model, cfg } = await loadLmRun(runDir);
  const meta = { 'switchyard.kind': 'gpt-decode', 'switchyard.gpt': JSON.stringify(cfg.gpt), 'switchyard.tokenizer': JSON.stringify(cfg.tokenizer) };
  return { bytes: exportOnnx(model, decodeFn, decodeSpec(model), meta), meta };
}
