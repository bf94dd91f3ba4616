import { existsSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../core/graph.ts';
import { bitsPerByte, randomStarts, sequentialWindows, tokenizeCorpus } from '../data/text/lm-batches.ts';
import type { MaskingOptions } from '../data/text/masking.ts';
import { loadTextCorpus, splitDocuments, type TextCorpus } from '../data/text/corpus.ts';
import { ByteTokenizer, loadTokenizer, type Tokenizer, tokenizerFromJSON } from '../data/text/tokenizer.ts';
import { toHuggingFaceJSON } from '../data/text/hf-tokenizer.ts';
import { trainBpe } from '../data/text/bpe.ts';
import { GPT, type GptConfig, gptStepFlops, isMoeLayer } from '../models/gpt.ts';
import type { Module } from '../nn/module.ts';
import { adamw } from '../optim/optimizer.ts';
import { warmupCosine } from '../optim/schedule.ts';
import { SwitchyardError } from '../util/errors.ts';
import { sha256Bytes, stringifyJson, writeFileAtomic, writeJsonAtomic } from '../util/fs.ts';
import { Progress } from '../util/progress.ts';
import { checkParamBudget, checkRanges, COMMON_RANGES, DEFAULT_MAX_PARAMS } from '../util/ranges.ts';
import { Rng } from '../util/rng.ts';
import { resumableConfig, resumeCheckpoint, RUN_FILES, saveCheckpoint, saveWeights } from './checkpoint.ts';
import { Forward } from './forward.ts';
import { divergence, TrainStep } from './step.ts';
import { progressLabel, runDevice, type RunDevice } from './device.ts';
import { finishRunDir, prepareRunDir, type RunOptions } from './run-dir.ts';
import { type InitFromOptions, initModelFrom, type InitReport, type InitSource, initSourceOf } from './init-from.ts';
import { type LmFeeds, lmHostFeeds, lmObjective, type LmObjective } from './lm-objective.ts';

/** Options of {@link trainLm} (`switchyard train --model gpt`). */
export interface LmTrainOptions extends RunOptions {
  /** Text files, or folders of `.txt`/`.md` files, read as the corpus. */
  data: string[];
  /** Run directory to write: config, tokenizer, weights, metrics, checkpoint, manifest. */
  out: string;
  /** The GPT architecture (dense or MoE), e.g. `GPT_PRESETS.tiny` with overrides. */
  model: GptConfig;
  /**
   * `'next-token'` (default): a GPT. `'masked'`: a BERT-style encoder (`switchyard train --model encoder`): the same
   * stack with bidirectional attention, trained to predict masked tokens (run kind `encoder`; the vocabulary gains
   * one mask token).
   */
  objective?: 'next-token' | 'masked';
  /** Masked objective: the share of positions that are targets (default 0.15; see {@link maskTokens}). */
  maskRate?: number;
  /**
   * `'byte'` (default), `'bpe'` (trained on the training split), or the path of a `tokenizer.json` (Hugging Face
   * byte-level BPE, or one a run wrote) to use as it is. Every run writes its tokenizer as `tokenizer.json`.
   */
  tokenizer?: 'byte' | 'bpe' | (string & {});
  /** BPE vocabulary size (ignored for bytes and for a given tokenizer.json). */
  vocabSize?: number;
  /** Optimizer updates in total. */
  steps?: number;
  /** Sequences per micro-batch (default 16). */
  batchSize?: number;
  /** Micro-batches per optimizer update (default 1). */
  accumulate?: number;
  /** Peak learning rate after warm-up (default 1e-3). */
  lr?: number;
  /** Final learning rate of the cosine decay (default 1e-4). */
  minLr?: number;
  /** Linear warm-up updates (default 50). */
  warmup?: number;
  /** AdamW decoupled weight decay (default 0.1). */
  weightDecay?: number;
  /** Global gradient-norm clip (default 1). */
  clipNorm?: number;
  /** Validate (and checkpoint) every this many updates. */
  evalEvery?: number;
  /** At most this many validation tokens per evaluation. */
  evalTokens?: number;
  /** Share of documents held out for validation (default 0.1). */
  validFraction?: number;
  /** Seed of the weights, the split, batching and dropout (default 0). */
  seed?: number;
  /** Micro-steps per ONNX Runtime call (the ONNX `Loop` trip count, default 8). */
  stepsPerCall?: number;
  /** The most parameters the model may have (default {@link DEFAULT_MAX_PARAMS}); checked before allocating. */
  maxParams?: number;
  /**
   * Start from these weights (a new run with a fresh optimizer, not a resume): see {@link readInitSource}. From a
   * GPT run or a GPT-2 folder holding a `tokenizer.json`, that tokenizer is reused unless `tokenizer` is given.
   */
  initFrom?: InitFromOptions | InitSource;
}

/**
 * Ranges of the numeric options of {@link trainLm}, each with the `switchyard train --model gpt` flag that sets it:
 * the CLI's flag spec spreads them in and {@link trainLm} checks them, so both give the same error.
 *
 * @example
 * const spec = { steps: { type: 'number', default: 500, ...LM_TRAIN_RANGES.steps, help: 'optimizer updates' } };
 */
export const LM_TRAIN_RANGES = {
  vocabSize: { flag: '--vocab-size', min: 256, max: 1 << 21, integer: true },
  steps: { flag: '--steps', min: 1, integer: true },
  batchSize: { flag: '--batch-size', min: 1, integer: true },
  accumulate: { flag: '--accumulate', min: 1, integer: true },
  lr: { flag: '--lr', above: 0 },
  minLr: { flag: '--min-lr', min: 0 },
  warmup: { flag: '--warmup', min: 0, integer: true },
  weightDecay: { flag: '--weight-decay', min: 0 },
  clipNorm: { flag: '--clip-norm', above: 0 },
  evalEvery: { flag: '--eval-every', min: 1, integer: true },
  evalTokens: { flag: '--eval-tokens', min: 1, integer: true },
  validFraction: { flag: '--valid-fraction', min: 0, below: 1 },
  stopAfter: { flag: '--stop-after', min: 1, integer: true },
  maxParams: { flag: '--max-params', min: 1, integer: true },
  maskRate: { flag: '--mask-rate', above: 0, below: 1 },
  ...COMMON_RANGES,
} as const;

/** About how many parameters a GPT of `c` holds (embeddings, attention, MLPs or experts, norms, head). */
export function gptParamEstimate(c: GptConfig): number {
  const d = c.dModel;
  const mlp = (hidden: number) => 2 * d * hidden + hidden + d;
  let n = c.vocab * d * (c.tieWeights ? 1 : 2) + (c.position === 'learned' ? c.context * d : 0) + 2 * d;
  for (let i = 0; i < c.layers; i++) {
    const m = c.moe;
    const ffn = m && isMoeLayer(c, i) ? d * m.experts + (m.experts + (m.sharedExperts ?? 0)) * mlp(m.hidden) : mlp(c.mlpHidden);
    n += 4 * d * d + 4 * d + 4 * d + ffn;
  }
  return n;
}

/** One validation record of `metrics.jsonl`. */
export interface LmEvalRecord {
  step: number;
  tokens: number;
  trainLoss: number;
  validLoss: number;
  validBpb: number;
  lr: number;
  tokensPerSecond: number;
  /** Model FLOPs utilisation against the CPU's measured matmul rate; NaN (null in JSON) on WebGPU. */
  mfu: number;
  aux?: Record<string, number | number[]>;
}

/** Options of {@link trainLm} that are not hyper-parameters recorded in `config.json`'s `train`. */
type LmRunOnlyOptions = 'model' | 'progress' | 'resume' | 'force' | 'stopAfter' | 'threads' | 'device' | 'data' | 'out'
  | 'maxParams' | 'initFrom';

/** The `config.json` of a language-model run. */
export interface LmRunConfig {
  format: 'switchyard.run';
  version: 1;
  /** `gpt` (next-token prediction) or `encoder` (masked-token prediction, `gpt.causal` false). */
  kind: 'gpt' | 'encoder';
  /** The transformer (for an encoder: bidirectional, with the mask token as its last vocabulary id). */
  gpt: GptConfig;
  /** How an encoder's inputs were masked (encoder runs only). */
  masking?: MaskingOptions;
  tokenizer: object;
  train: Required<Omit<LmTrainOptions, LmRunOnlyOptions>> & { data: string[] };
  seed: number;
  created: string;
  /** Where the initial weights came from (`--init-from`), for lineage. */
  initFrom?: InitReport;
}

const DEFAULTS = { tokenizer: 'byte' as NonNullable<LmTrainOptions['tokenizer']>, vocabSize: 1024, steps: 500, batchSize: 16, accumulate: 1, lr: 1e-3, minLr: 1e-4, warmup: 50, weightDecay: 0.1, clipNorm: 1, evalEvery: 100, evalTokens: 65536, validFraction: 0.1, seed: 0, stepsPerCall: 8, objective: 'next-token' as NonNullable<LmTrainOptions['objective']>, maskRate: 0.15 };

/** The `tokenizer.json` that `--tokenizer` names (a word other than byte/bpe that is not a file is a usage error). */
async function loadGivenTokenizer(file: string): Promise<Tokenizer> {
  if (!existsSync(file)) {
    const hint = 'pass byte, bpe, or the path of a tokenizer.json (Hugging Face byte-level BPE, or one a run wrote)';
    throw new SwitchyardError('E_USAGE', `--tokenizer ${file}: neither byte, bpe nor an existing file`, hint);
  }
  return loadTokenizer(file);
}

/** Per-sequence mean next-token loss `rowLoss` [B] of `x`, `y` [B, T]: the evaluation graph of {@link evaluateLm}. */
export function lmRowLoss(m: Module, b: Record<string, Tensor>): Record<string, Tensor> {
  return lmObjective().rowLoss(m, b);
}

/**
 * Mean loss over sequential windows of `tokens` (at most `maxTokens`). `fwd` computes the objective's row loss
 * ({@link lmRowLoss} for next-token prediction, the default) on a static batch of `batch` rows (capacity-dispatch MoE
 * needs a static token count): a short last batch is padded with copies of its last window, which are not counted.
 */
export async function evaluateLm(
  fwd: Pick<Forward, 'run'>, tokens: Int32Array, context: number, batch: number, maxTokens: number,
  objective: LmObjective = lmObjective(),
): Promise<{ loss: number; tokens: number }> {
  const starts = sequentialWindows(tokens.length, context);
  const n = Math.max(1, Math.min(starts.length, Math.floor(maxTokens / context)));
  let sum = 0;
  let count = 0;
  for (let s = 0; s < n; s += batch) {
    const rows = starts.subarray(s, Math.min(s + batch, n));
    const padded = Int32Array.from({ length: batch }, (_, i) => rows[Math.min(i, rows.length - 1)]);
    const out = await fwd.run(lmHostFeeds(objective.batch(tokens, padded, context, s + 1), [batch, context]));
    const per = out.rowLoss.data as Float32Array;
    for (let i = 0; i < rows.length; i++) sum += per[i];
    count += rows.length;
  }
  return { loss: sum / Math.max(1, count), tokens: count * context };
}

/**
 * The matmul rate (GFLOP/s) MFU is reported against: ONNX Runtime's, measured, on the CPU (loaded only then, so a
 * WebGPU run never loads onnxruntime-node); NaN on WebGPU, whose peak is the card's (bench/gpu reports GPU MFU).
 */
async function matmulCeiling(device: RunDevice, threads: number | undefined): Promise<number> {
  if (device.name !== 'cpu') return NaN;
  const { measureMatmulCeiling } = await import('../runtime/ceiling.ts');
  return measureMatmulCeiling({ threads });
}

/** The progress line's MFU field, left out when there is no ceiling to measure it against. */
function mfuField(mfu: number): { mfu?: string } {
  return Number.isFinite(mfu) ? { mfu: `${(mfu * 100).toFixed(0)}%` } : {};
}

/**
 * Trains a GPT (dense or MoE) on text files: tokenises (bytes or a BPE trained on the training split),
 * samples random windows, runs the compiled step with warm-up + cosine learning rate, clipping and
 * accumulation, validates periodically (loss and bits per byte), checkpoints, and resumes exactly.
 *
 * @example
 * await trainLm({ data: ['corpus/'], out: 'runs/lm', model: GPT_PRESETS.tiny, steps: 200 });
 */
export async function trainLm(
  opts: LmTrainOptions,
): Promise<{ records: LmEvalRecord[]; params: number; activeParams: number; out: string; init?: InitReport }> {
  let o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS & LmTrainOptions;
  checkRanges(o, LM_TRAIN_RANGES);
  const device = await runDevice(o.device, o.progress?.enabled === false);
  let cfg: LmRunConfig;
  let tok: Tokenizer;
  let cfgText = '';
  const corpus = await loadTextCorpus(o.data);
  if (corpus.bytes === 0) throw new SwitchyardError('E_CORPUS_EMPTY', `${o.data.join(', ')}: the corpus holds no text`, 'point --data at non-empty text files');
  const kind = o.objective === 'masked' ? 'encoder' : 'gpt';
  const init = await initSourceOf(o, [kind]);
  if (o.resume) {
    ({ cfg, text: cfgText } = await resumableConfig<LmRunConfig>(o.out));
    tok = tokenizerFromJSON(cfg.tokenizer);
    o = { ...o, ...cfg.train, model: cfg.gpt };
  }
  const split = splitDocuments(corpus, o.validFraction, new Rng(o.seed));
  let sourceTokenizer: InitSource['tokenizer'];
  if (!o.resume) {
    sourceTokenizer = opts.tokenizer === undefined ? init?.tokenizer : undefined;
    if (sourceTokenizer) tok = sourceTokenizer.tokenizer;
    else if (o.tokenizer === 'bpe') tok = trainBpe(split.train.documents.map((d) => d.text), o.vocabSize);
    else if (o.tokenizer === 'byte') tok = new ByteTokenizer();
    else tok = await loadGivenTokenizer(o.tokenizer);
    // An encoder's vocabulary is the tokenizer's ids and one mask token after them.
    const v = tok!.vocabSize;
    const masking = kind === 'encoder' ? { rate: o.maskRate, maskId: v, randomVocab: v } : undefined;
    const gpt: GptConfig = masking ? { ...o.model, vocab: v + 1, causal: false } : { ...o.model, vocab: v };
    cfg = {
      format: 'switchyard.run', version: 1, kind, gpt, tokenizer: tok.toJSON(), ...(masking ? { masking } : {}),
      train: { data: o.data, tokenizer: o.tokenizer, vocabSize: o.vocabSize, steps: o.steps, batchSize: o.batchSize, accumulate: o.accumulate, lr: o.lr, minLr: o.minLr, warmup: o.warmup, weightDecay: o.weightDecay, clipNorm: o.clipNorm, evalEvery: o.evalEvery, evalTokens: o.evalTokens, validFraction: o.validFraction, seed: o.seed, stepsPerCall: o.stepsPerCall, objective: o.objective, maskRate: o.maskRate },
      seed: o.seed,
      created: new Date().toISOString(),
    };
  }
  let trainTokens = tokenizeCorpus(split.train, tok!);
  let validTokens = tokenizeCorpus(split.valid, tok!);
  let validBytesPerToken = split.valid.bytes / Math.max(1, validTokens.length);
  if (validTokens.length <= cfg!.gpt.context && o.validFraction > 0) {
    // Too few documents to hold some out (e.g. one file): validate on the tail of the token stream instead.
    const cut = Math.min(Math.floor(trainTokens.length * (1 - o.validFraction)), trainTokens.length - cfg!.gpt.context - 1);
    validTokens = trainTokens.subarray(cut);
    trainTokens = trainTokens.subarray(0, cut);
    validBytesPerToken = split.train.bytes / Math.max(1, cut + validTokens.length);
  }
  const gptCfg = cfg!.gpt;
  const T = gptCfg.context;
  if (trainTokens.length <= T + 1) throw new SwitchyardError('E_CORPUS_SMALL', `${o.data.join(', ')}: ${trainTokens.length} training tokens, fewer than one context of ${T}`, 'add text or use a shorter --context');
  checkParamBudget(gptParamEstimate(gptCfg), o.maxParams ?? DEFAULT_MAX_PARAMS, `a GPT of width ${gptCfg.dModel}, ${gptCfg.layers} layers and vocabulary ${gptCfg.vocab}`);
  const model = new GPT(gptCfg).init(o.seed);
  if (init) cfg!.initFrom = initModelFrom(model, init, o.progress?.enabled !== false, sourceTokenizer?.file);
  const objective = lmObjective(cfg!.masking);
  const spec = objective.spec(o.batchSize, T);
  const step = await TrainStep.compile({ model, optimizer: adamw({ weightDecay: o.weightDecay, beta2: 0.95 }), batch: spec, loss: objective.loss, clipNorm: o.clipNorm, accumulate: o.accumulate, threads: o.threads, seed: o.seed, device: device.name });
  const fwd = await Forward.compile(model, objective.rowLoss, spec, { threads: o.threads, device: device.name });
  const schedule = warmupCosine({ lr: o.lr, warmup: o.warmup, total: o.steps, minLr: o.minLr });
  const target = await prepareRunDir(o.out, o);
  const dir = target.work;
  await mkdir(dir, { recursive: true });
  const records: LmEvalRecord[] = [];
  // An LM run ships its last weights (metrics.json describes the last evaluation); the checkpoint adds the
  // optimizer state and the records, for resume.
  const checkpoint = () => saveCheckpoint(join(dir, RUN_FILES.checkpoint), model, step, { updates: step.updates, microSteps: step.microSteps, epoch: 0, batchInEpoch: 0 }, {}, { state: { configSha256: sha256Bytes(cfgText), records } });
  if (o.resume) {
    const ck = await resumeCheckpoint(dir, model, step, cfgText);
    records.push(...((ck.state?.records ?? []) as LmEvalRecord[]));
  } else {
    cfgText = stringifyJson(cfg!, 2) + '\n';
    await writeFileAtomic(join(dir, RUN_FILES.config), cfgText);
    // The same tokenizer for Hugging Face's libraries (config.json stays what loaders read).
    await writeJsonAtomic(join(dir, RUN_FILES.tokenizer), toHuggingFaceJSON(tok!));
    await checkpoint();
  }
  await writeFileAtomic(join(dir, RUN_FILES.metrics), records.map((r) => JSON.stringify(r) + '\n').join(''));
  const ceiling = await matmulCeiling(device, o.threads);
  const flopsPerUpdate = gptStepFlops(gptCfg, o.batchSize) * o.accumulate;
  const startUpdates = step.updates;
  const endUpdates = Math.min(o.steps, startUpdates + (o.stopAfter ?? Infinity));
  const progress = new Progress({ total: (endUpdates - startUpdates) * o.batchSize * o.accumulate * T, label: progressLabel(device), unit: 'tok', ...o.progress });
  const stepsPerCall = Math.max(o.accumulate, o.stepsPerCall - (o.stepsPerCall % o.accumulate));
  let lossSum = 0;
  let lossCount = 0;
  let seconds = 0;
  let tokensSinceEval = 0;
  let lastAux: Record<string, number | number[]> = {};
  while (step.updates < endUpdates) {
    const updates = Math.min(stepsPerCall / o.accumulate, endUpdates - step.updates, o.evalEvery - (step.updates % o.evalEvery));
    const k = updates * o.accumulate;
    // Windows (and masks) depend only on the seed and the micro-step index, so a resumed run sees the same batches.
    const batches = Array.from({ length: k }, (_, i) => {
      const seed = o.seed * 1_000_003 + step.microSteps + i + 1;
      return objective.batch(trainTokens, randomStarts(trainTokens.length, T, o.batchSize, new Rng(seed)), T, seed);
    });
    const lrs = Array.from({ length: updates }, (_, u) => schedule(step.updates + u));
    const t0 = performance.now();
    const r = await step.run(lmHostFeeds(stackFeeds(batches), [k, o.batchSize, T]), lrs);
    const dt = (performance.now() - t0) / 1000;
    if (r.nonFinite !== null) {
      throw new SwitchyardError('E_NONFINITE', `training diverged: ${divergence(r)} at step ${step.updates + Math.floor(r.nonFinite / o.accumulate) + 1}; kept the last checkpoint in ${dir}`, `lower the learning rate (e.g. --lr ${(o.lr / 3).toPrecision(2)}) or the clip norm`);
    }
    seconds += dt;
    for (const l of r.losses) { lossSum += l; lossCount++; }
    // Telemetry of the last micro-step: scalars (aux losses, router entropy) and per-expert token counts.
    lastAux = Object.fromEntries(Object.entries(r.metrics).map(([n, v]) => {
      const per = v.length / k;
      return [n, per === 1 ? v[k - 1] : Array.from(v.subarray((k - 1) * per, k * per))];
    }));
    const tokens = k * o.batchSize * T;
    tokensSinceEval += tokens;
    const mfu = (flopsPerUpdate * updates) / dt / 1e9 / ceiling;
    progress.tick(tokens, { step: `${step.updates}/${o.steps}`, loss: (lossSum / lossCount).toFixed(3), ...mfuField(mfu) });
    if (step.updates % o.evalEvery === 0 || step.updates === endUpdates) {
      const v = validTokens.length > T
        ? await evaluateLm(fwd, validTokens, T, o.batchSize, o.evalTokens, objective)
        : { loss: NaN, tokens: 0 };
      const rec: LmEvalRecord = {
        step: step.updates, tokens: step.microSteps * o.batchSize * T, trainLoss: lossSum / lossCount, validLoss: v.loss,
        // Bits per byte is a next-token measure; a masked-token loss has none.
        validBpb: kind === 'gpt' ? bitsPerByte(v.loss, 1, validBytesPerToken) : NaN,
        lr: schedule(step.updates - 1), tokensPerSecond: tokensSinceEval / seconds,
        mfu: (flopsPerUpdate * tokensSinceEval) / (o.batchSize * o.accumulate * T) / seconds / 1e9 / ceiling, aux: lastAux,
      };
      records.push(rec);
      await appendFile(join(dir, RUN_FILES.metrics), JSON.stringify(rec) + '\n');
      await checkpoint();
      lossSum = lossCount = seconds = tokensSinceEval = 0;
    }
  }
  progress.done();
  await step.release();
  await fwd.release();
  await saveWeights(join(dir, RUN_FILES.model), model.stateDict(), { updates: String(step.updates) });
  const initInfo = cfg!.initFrom ? { init: cfg!.initFrom } : {};
  const counts = { params: model.parameterCount(), activeParams: model.activeParameterCount() };
  const last = records[records.length - 1] ?? null;
  await writeJsonAtomic(join(dir, RUN_FILES.summary), { ...counts, ceilingGflops: ceiling, last, ...initInfo, device });
  await finishRunDir(target);
  return { records, ...counts, out: o.out, ...initInfo };
}

/** The micro-batches' feeds stacked along a new leading axis (one array per input). */
function stackFeeds(batches: LmFeeds[]): LmFeeds {
  return Object.fromEntries(Object.keys(batches[0]).map((name) => {
    const first = batches[0][name];
    const n = first.length * batches.length;
    const out = first instanceof Float32Array ? new Float32Array(n) : new BigInt64Array(n);
    batches.forEach((b, i) => out.set(b[name] as never, i * first.length));
    return [name, out];
  }));
}

export type { TextCorpus };
