/**
 * A loaded language model, ready to generate: the run's weights are read and its one ONNX Runtime session (the
 * KV-cached decode step, which takes any number of new tokens: a whole prompt, then one per generated token) is
 * built once, then reused by every {@link LmSession.generate} call. Calls on one handle run one at a time.
 * An exported decode step (`switchyard export`, or its int8 copy from `switchyard compress`) loads the same way.
 */
import { checkRanges, COMMON_RANGES } from '../util/ranges.ts';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Tensor } from '../core/graph.ts';
import { createStreamDecoder, type Tokenizer, tokenizerFromJSON } from '../data/text/tokenizer.ts';
import { GPT, type GptConfig, isMoeLayer } from '../models/gpt.ts';
import type { Module } from '../nn/module.ts';
import { assertInt8Runs } from '../runtime/int8-cpu.ts';
import { decodeModel } from '../runtime/onnx/proto.ts';
import type { DeviceChoice } from '../runtime/compile-for.ts';
import { SwitchyardError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { loadWeightsFile, RUN_FILES } from './checkpoint.ts';
import { openRun } from './run-dir.ts';
import { onnxFileDevice, runDevice } from './device.ts';
import { Forward } from './forward.ts';
import type { LmRunConfig } from './lm.ts';
import type { BatchSpec } from './step.ts';

/**
 * Sampling options of {@link LmSession.generate}.
 *
 * @example
 * const o: SampleOptions = { maxTokens: 50, temperature: 0.8, topK: 40, topP: 0.95, seed: 1 };
 */
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
  /** Stops the generation between decode steps (a server's client went away): the text so far is returned. */
  signal?: AbortSignal;
}

/**
 * Ranges of {@link SampleOptions}, each with the `switchyard generate` flag that sets it: the CLI's flag spec
 * spreads them in and {@link LmSession.generate} checks them, so both give the same error.
 *
 * @example
 * const spec = { 'top-p': { type: 'number', default: 1, ...SAMPLE_RANGES.topP, help: 'nucleus threshold' } };
 */
export const SAMPLE_RANGES = {
  maxTokens: { flag: '--max-tokens', min: 1, max: 1_000_000, integer: true },
  temperature: { flag: '--temperature', min: 0 },
  topK: { flag: '--top-k', min: 0, integer: true },
  topP: { flag: '--top-p', above: 0, max: 1 },
  seed: COMMON_RANGES.seed,
} as const;

/**
 * What one generation produced.
 *
 * @example
 * const r: GenerateResult = await lm.generate('The', { maxTokens: 5 });
 * console.log(r.text, r.firstTokenMs);
 */
export interface GenerateResult {
  text: string;
  tokens: number[];
  promptTokens: number;
  /** Wall time over every token the model processed (prompt, generated, re-read after window slides). */
  msPerToken: number;
  /** Time from the start of the call to the first sampled token (the prompt's prefill included). */
  firstTokenMs: number;
  windowSlides: number;
}

/**
 * The KV-cache state after some tokens: next-token logits, the caches and the next position.
 *
 * @example
 * const s: LmState = await lm.prefill([72, 101, 121]);
 * s.pos; // 3
 */
export interface LmState {
  logits: Float32Array;
  cacheK: Float32Array;
  cacheV: Float32Array;
  pos: number;
}

/**
 * Options of {@link loadLm}.
 *
 * @example
 * const lm = await loadLm('runs/lm', { threads: 2 });
 */
export interface LoadLmOptions {
  /** ONNX Runtime intra-op threads (default: the runtime's choice). */
  threads?: number;
  /** Prefill a prompt in one batched call (default true); false feeds it one decode step per token. */
  batchedPrefill?: boolean;
  /**
   * Where a run directory's decode step runs (default `cpu`; see {@link DeviceChoice}). An `.onnx` file runs on
   * ONNX Runtime: `webgpu` is then `E_DEVICE_ONNX`, and `auto` falls back to the CPU with a note on stderr.
   */
  device?: DeviceChoice;
  /** Leave out the device notes on stderr (`--device auto` falling back to the CPU). */
  quiet?: boolean;
}

/**
 * Loads a language-model run directory: config, tokenizer, weights.
 *
 * @example
 * const { cfg, tok, model } = await loadLmRun('runs/lm');
 */
export async function loadLmRun(dir: string): Promise<{ cfg: LmRunConfig; tok: Tokenizer; model: GPT }> {
  const run = await openRun(dir, { kinds: ['gpt'] });
  const cfg = run.config as unknown as LmRunConfig;
  const model = new GPT(cfg.gpt).named();
  await loadWeightsFile(run.file(RUN_FILES.model), model);
  return { cfg, tok: tokenizerFromJSON(cfg.tokenizer), model };
}

/**
 * The KV-cached decode step of `model` as a traceable function and its input spec: `ids` [1, T] (T new tokens:
 * 1 per generated token, or a whole prompt), `pos` [1] (the position of the first), `cacheK`/`cacheV`
 * [layers, 1, heads, context, headDim] -> `logits` [1, vocab] after the last new token, the updated caches
 * `presentK`, `presentV`, the new tokens' rows `newK`, `newV` [layers, 1, heads, T, headDim], and the logits
 * after every new token `allLogits` [1, T, vocab] (evaluation scores a window of text in one call).
 * {@link LmSession} fetches only the logits and the new rows and writes them into its own cache: at a
 * 512-token context, copying the two whole caches out of ONNX Runtime cost most of a step.
 *
 * @example
 * const { fn, spec } = decodeGraph(model);
 * const fwd = await Forward.compile(model, fn, spec);
 */
export function decodeGraph(model: GPT): { fn: (m: Module, b: Record<string, Tensor>) => Record<string, Tensor>; spec: BatchSpec } {
  const c = model.cfg;
  const cache = [c.layers, 1, c.heads, c.context, c.dModel / c.heads];
  // Capacity dispatch drops tokens depending on how many arrive together, so it decodes one token per call.
  const tokens = hasCapacityDispatch(c) ? 1 : 'tokens';
  return {
    fn: (m, b) => {
      const r = (m as GPT).decodeStep(b.ids, b.pos, b.cacheK, b.cacheV);
      return { logits: r.logits, presentK: r.cacheK, presentV: r.cacheV, newK: r.newK, newV: r.newV, allLogits: r.allLogits };
    },
    spec: { ids: { dtype: 'i64', shape: [1, tokens] }, pos: { dtype: 'i64', shape: [1] }, cacheK: { dtype: 'f32', shape: cache }, cacheV: { dtype: 'f32', shape: cache } },
  };
}

/**
 * The configuration, tokenizer and metadata an exported decode step carries, or null when the ONNX model
 * is not a Switchyard language-model export. Throws when the bytes are not a readable ONNX model.
 *
 * @example
 * const info = lmExportInfo(readFileSync('lm.int8.onnx')); // { gpt, tokenizer } or null
 */
export function lmExportInfo(
  bytes: Uint8Array,
): { gpt: GptConfig; tokenizer: Tokenizer; metadata: Record<string, string> } | null {
  const meta = decodeModel(bytes).metadata ?? {};
  if (meta['switchyard.kind'] !== 'gpt-decode' || !meta['switchyard.gpt'] || !meta['switchyard.tokenizer']) return null;
  const tokenizer = tokenizerFromJSON(JSON.parse(meta['switchyard.tokenizer']));
  return { gpt: JSON.parse(meta['switchyard.gpt']) as GptConfig, tokenizer, metadata: meta };
}

function hasCapacityDispatch(c: GptConfig): boolean {
  return Array.from({ length: c.layers }, (_, i) => i).some((i) => isMoeLayer(c, i) && c.moe?.dispatch === 'capacity');
}

/** What generation needs of a compiled decode step: {@link Forward}, or an exported ONNX file's session. */
type DecodeRunner = Pick<Forward, 'run' | 'release'>;

/** The outputs {@link LmSession.step} fetches: never the whole updated caches when the new rows are there. */
const STEP_OUTPUTS = ['logits', 'newK', 'newV'];

/** An exported decode step run as it is (its graph may be quantized: it is not rebuilt from weights). */
async function onnxDecodeRunner(bytes: Uint8Array, threads: number | undefined, file: string): Promise<DecodeRunner & { multiToken: boolean }> {
  // Loaded here, so that a run directory's decode step on WebGPU never loads onnxruntime-node.
  const { createUserSession, fromOrtTensor, sessionOptions, toOrtTensor } = await import('../runtime/session.ts');
  const s = await createUserSession(bytes, file, sessionOptions({ threads }));
  // Exports written before 2026-11-29 take one token per call ([1, 1] ids) and return the whole caches.
  const newRows = STEP_OUTPUTS.every((n) => s.outputNames.includes(n));
  const fetch = newRows ? STEP_OUTPUTS : [...s.outputNames];
  const ids = s.inputMetadata.find((m) => m.name === 'ids');
  return {
    multiToken: newRows && !!ids?.isTensor && typeof ids.shape[1] !== 'number',
    async run(batch) {
      const r = await s.run(Object.fromEntries(Object.entries(batch).map(([k, t]) => [k, toOrtTensor(t)])), fetch);
      return Object.fromEntries(Object.entries(r).map(([k, t]) => [k, fromOrtTensor(t)]));
    },
    release: () => s.release(),
  };
}

/**
 * Picks the next token from `logits` with temperature, top-k and top-p (nucleus) filtering.
 *
 * @example
 * const id = sampleToken(logits, { maxTokens: 1, temperature: 0.8, topK: 40 }, new Rng(1));
 */
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
 * A loaded language model (see {@link loadLm}): weights read and decode session compiled once.
 *
 * @example
 * const lm = await loadLm('runs/lm');
 * const a = await lm.generate('The economy', { maxTokens: 40, temperature: 0.8, seed: 1 });
 * const b = await lm.generate('Congress', { maxTokens: 40, temperature: 0 }, (id, text) => process.stdout.write(text));
 * await lm.close();
 */
export class LmSession {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /**
   * Whether a prompt is read in one decode call. False for capacity-dispatch MoE (its token dropping depends on
   * the batch) and for exports older than 2026-11-29: their prompts are fed token by token.
   */
  readonly batchedPrefill: boolean;

  private constructor(
    /** The model's configuration. */
    readonly gpt: GptConfig,
    readonly tok: Tokenizer,
    private readonly decode: DecodeRunner,
    /** Whether the decode step takes several new tokens per call (exports older than 2026-11-29 take one). */
    multiToken: boolean,
    opts: LoadLmOptions,
  ) {
    this.batchedPrefill = (opts.batchedPrefill ?? true) && !hasCapacityDispatch(gpt) && multiToken;
  }

  /** Loads a run directory or an exported decode step (`.onnx`); prefer {@link loadLm}. */
  static async load(source: string, opts: LoadLmOptions = {}): Promise<LmSession> {
    if (existsSync(source) && statSync(source).isFile()) return LmSession.fromOnnx(new Uint8Array(await readFile(source)), source, opts);
    const { cfg, tok, model } = await loadLmRun(source);
    const { fn, spec } = decodeGraph(model);
    // Only the step outputs: the nodes that assemble the whole updated caches are pruned from this graph.
    const stepFn = (m: Module, b: Record<string, Tensor>) => Object.fromEntries(Object.entries(fn(m, b)).filter(([n]) => STEP_OUTPUTS.includes(n)));
    const { name: device } = await runDevice(opts.device, opts.quiet);
    const decode = await Forward.compile(model, stepFn, spec, { threads: opts.threads, device });
    return new LmSession(cfg.gpt, tok, decode, true, opts);
  }

  /**
   * An exported decode step (from `switchyard export` or `switchyard compress`): its metadata holds the
   * configuration and the tokenizer.
   *
   * @example
   * const lm = await LmSession.fromOnnx(readFileSync('lm.int8.onnx'), 'lm.int8.onnx');
   */
  static async fromOnnx(bytes: Uint8Array, source: string, opts: LoadLmOptions = {}): Promise<LmSession> {
    let lm: ReturnType<typeof lmExportInfo>;
    try {
      lm = lmExportInfo(bytes);
    } catch (e) {
      throw new SwitchyardError('E_MODEL_INPUT', `${source}: not a readable ONNX model (${(e as Error).message})`, 'pass a run directory written by switchyard train --model gpt, or its exported decode step');
    }
    if (!lm) throw new SwitchyardError('E_MODEL_INPUT', `${source}: not a Switchyard language-model export (no gpt-decode metadata)`, 'export one with switchyard export --model runs/lm --out lm.onnx');
    assertInt8Runs(lm.metadata, source);
    onnxFileDevice(opts.device, source, opts.quiet);
    const runner = await onnxDecodeRunner(bytes, opts.threads, source);
    return new LmSession(lm.gpt, lm.tokenizer, runner, runner.multiToken, opts);
  }

  private get cacheShape(): number[] {
    const c = this.gpt;
    return [c.layers, 1, c.heads, c.context, c.dModel / c.heads];
  }

  /**
   * Runs the decode step on `ids` at positions `s.pos`, `s.pos + 1`, ... The caches of `s` are updated in place
   * and handed on to the returned state (keep a copy to branch from `s`): the step returns only the new tokens'
   * keys and values, which are written at their positions.
   */
  private async advance(s: LmState, ids: number[]): Promise<LmState> {
    const shape = this.cacheShape;
    const r = await this.decode.run({
      ids: { dtype: 'i64', shape: [1, ids.length], data: BigInt64Array.from(ids, BigInt) },
      pos: { dtype: 'i64', shape: [1], data: BigInt64Array.of(BigInt(s.pos)) },
      cacheK: { dtype: 'f32', shape, data: s.cacheK },
      cacheV: { dtype: 'f32', shape, data: s.cacheV },
    });
    const logits = r.logits.data as Float32Array;
    const pos = s.pos + ids.length;
    if (!r.newK) return { logits, cacheK: r.presentK.data as Float32Array, cacheV: r.presentV.data as Float32Array, pos };
    const [layers, , heads, C, D] = shape;
    const n = ids.length;
    const newK = r.newK.data as Float32Array;
    const newV = r.newV.data as Float32Array;
    // newK [layers, 1, heads, n, D] -> rows s.pos .. s.pos + n - 1 of cache [layers, 1, heads, C, D]
    for (let lh = 0; lh < layers * heads; lh++) {
      s.cacheK.set(newK.subarray(lh * n * D, (lh + 1) * n * D), (lh * C + s.pos) * D);
      s.cacheV.set(newV.subarray(lh * n * D, (lh + 1) * n * D), (lh * C + s.pos) * D);
    }
    return { logits, cacheK: s.cacheK, cacheV: s.cacheV, pos };
  }

  /**
   * Advances `s` by one token at position `s.pos`. The caches of `s` are updated in place and handed on to the
   * returned state (keep a copy to branch from `s`).
   */
  step(s: LmState, id: number): Promise<LmState> {
    return this.advance(s, [id]);
  }

  /**
   * The state after reading `ids` (1 to context tokens) from position 0: one decode call over the whole prompt,
   * or one per token when `batched` is false.
   */
  async prefill(ids: number[], batched = this.batchedPrefill): Promise<LmState> {
    const L = this.gpt.context;
    if (ids.length === 0 || ids.length > L) throw new SwitchyardError('E_PROMPT', `cannot prefill ${ids.length} tokens with a context of ${L}`, 'pass 1 to context tokens');
    const size = this.cacheShape.reduce((a, b) => a * b, 1);
    let s: LmState = { logits: new Float32Array(0), cacheK: new Float32Array(size), cacheV: new Float32Array(size), pos: 0 };
    if (batched) return this.advance(s, ids);
    for (const id of ids) s = await this.step(s, id);
    return s;
  }

  /**
   * Generates text after `prompt`: the prompt is prefilled, then every new token costs one decode step over
   * the cache. When the context fills up, the window slides: the cache is rebuilt (one prefill) from the
   * last half-context of text and generation goes on, up to `maxTokens`. `onToken` gets each sampled id with
   * the text it completed (often '' inside a multi-byte character). Concurrent calls queue.
   */
  generate(prompt: string, o: SampleOptions, onToken?: (id: number, text: string) => void): Promise<GenerateResult> {
    if (this.closed) return Promise.reject(new SwitchyardError('E_MODEL_CLOSED', 'this language model was closed', 'load it again with loadLm'));
    try {
      checkRanges(o, SAMPLE_RANGES);
    } catch (e) {
      return Promise.reject(e);
    }
    const run = this.queue.then(() => this.run(prompt, o, onToken));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(prompt: string, o: SampleOptions, onToken?: (id: number, text: string) => void): Promise<GenerateResult> {
    const { tok } = this;
    const c = this.gpt;
    const ids = Array.from(tok.encode(prompt));
    if (o.signal?.aborted) {
      return { text: '', tokens: [], promptTokens: ids.length, msPerToken: 0, firstTokenMs: 0, windowSlides: 0 };
    }
    if (ids.length === 0) ids.push(...tok.encode('\n'));
    if (ids.length >= c.context) throw new SwitchyardError('E_PROMPT', `the prompt is ${ids.length} tokens; the model's context is ${c.context}`, 'use a shorter prompt');
    const rng = new Rng(o.seed ?? 0);
    const stream = createStreamDecoder(tok);
    const out: number[] = [];
    const t0 = performance.now();
    let s = await this.prefill(ids);
    let firstTokenMs = 0;
    let slides = 0;
    const half = Math.floor(c.context / 2);
    for (let i = 0; i < o.maxTokens && !o.signal?.aborted; i++) {
      const next = sampleToken(s.logits, o, rng);
      if (i === 0) firstTokenMs = performance.now() - t0;
      out.push(next);
      const piece = stream.push(next);
      if (piece) o.onText?.(piece);
      onToken?.(next, piece);
      if (i === o.maxTokens - 1) break;
      if (s.pos >= c.context) {
        // The cache is full: slide the window, re-reading the last half of the text from position 0.
        s = await this.prefill([...ids, ...out].slice(-half));
        slides++;
      } else s = await this.step(s, next);
    }
    const rest = stream.flush();
    if (rest) o.onText?.(rest);
    const steps = ids.length + Math.max(0, out.length - 1) + slides * half;
    return { text: tok.decode(out), tokens: out, promptTokens: ids.length, msPerToken: (performance.now() - t0) / Math.max(1, steps), firstTokenMs, windowSlides: slides };
  }

  /** Waits for queued generations, then releases the ONNX Runtime sessions. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.decode.release();
  }
}

/**
 * Loads a language model once for many generations (serving, benchmarks, the CLI): a run directory, or an
 * exported decode step (`.onnx` from `switchyard export` or `switchyard compress`; prompts then prefill token by
 * token).
 *
 * @example
 * const lm = await loadLm('runs/lm');
 * try {
 *   const { text } = await lm.generate('The economy', { maxTokens: 100, temperature: 0.8, topK: 40, seed: 1 });
 * } finally {
 *   await lm.close();
 * }
 */
export function loadLm(source: string, opts: LoadLmOptions = {}): Promise<LmSession> {
  return LmSession.load(source, opts);
}
