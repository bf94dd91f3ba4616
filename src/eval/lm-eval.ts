/**
 * Evaluation of a Switchyard language model on text: loss, perplexity and bits per byte over sequential
 * windows (the training workflow's own evaluateLm), clean and under seeded text corruptions (typos, word drops).
 * A run directory is scored from its weights; an exported (or compressed) decode step by ONNX Runtime, one
 * window per call.
 */
import type { TextCorpus } from '../data/text/corpus.ts';
import { loadTextCorpus } from '../data/text/corpus.ts';
import { bitsPerByte, tokenizeCorpus } from '../data/text/lm-batches.ts';
import { evaluateLm, lmRowLoss } from '../train/lm.ts';
import type { DeviceChoice } from '../runtime/compile-for.ts';
import { Forward } from '../train/forward.ts';
import { SwitchyardError } from '../util/errors.ts';
import { crossEntropyAt } from '../util/scores.ts';
import { corruptText, type TextCorruption } from './corruptions.ts';
import type { LmEvalModel } from './model.ts';
import { embeddingAttack, type EmbeddingAttackPoint } from './lm-attack.ts';

/**
 * Language-model numbers on one text.
 *
 * @example
 * const s: LmScores = { loss: 1.2, perplexity: 3.32, bitsPerByte: 1.73, tokens: 8192 };
 */
export interface LmScores {
  /** Mean next-token cross-entropy in nats. */
  loss: number;
  perplexity: number;
  bitsPerByte: number;
  /** Tokens scored. */
  tokens: number;
}

/**
 * The LM section of an evaluation: clean scores and scores under each corruption.
 *
 * @example
 * const r = await evaluateLmRun(model, ['test.txt']);
 * r.clean.perplexity;
 */
export interface LmEvalResult {
  clean: LmScores;
  corruptions: { kind: TextCorruption; rate: number; scores: LmScores; lossIncrease: number }[];
  /** PGD on the token embeddings (with `adversarial`). */
  adversarial?: { steps: number; windows: number; points: EmbeddingAttackPoint[] };
}

/**
 * {@link lmRowLoss} of an exported decode step: each row is one call over its window (ids [1, T] from position
 * 0 with empty caches), scored from the step's `allLogits`.
 */
async function exportRowLoss(m: LmEvalModel, threads?: number): Promise<Pick<Forward, 'run' | 'release'>> {
  // Loaded here, so that evaluating a run directory on WebGPU never loads onnxruntime-node.
  const { createUserSession, runUserSession, sessionOptions, toOrtTensor } = await import('../runtime/session.ts');
  const s = await createUserSession(m.onnx!, m.source, sessionOptions({ threads }));
  const ids = s.inputMetadata.find((i) => i.name === 'ids');
  if (!s.outputNames.includes('allLogits') || !ids?.isTensor || typeof ids.shape[1] === 'number') {
    await s.release();
    throw new SwitchyardError('E_MODEL_INPUT', `${m.source}: this decode step reads one token per call (an export from before 2026-11-29, or capacity-dispatch MoE), so it cannot score a window at once`, 'evaluate the run directory, or export it again');
  }
  const g = m.cfg.gpt;
  const cache = [g.layers, 1, g.heads, g.context, g.dModel / g.heads];
  const zeros = toOrtTensor({ dtype: 'f32', shape: cache, data: new Float32Array(cache.reduce((a, b) => a * b, 1)) });
  const pos = toOrtTensor({ dtype: 'i64', shape: [1], data: BigInt64Array.of(0n) });
  return {
    async run(batch) {
      const [rows, T] = batch.x.shape;
      const x = batch.x.data as BigInt64Array;
      const y = batch.y.data as BigInt64Array;
      const rowLoss = new Float32Array(rows);
      for (let r = 0; r < rows; r++) {
        const ids = toOrtTensor({ dtype: 'i64', shape: [1, T], data: x.subarray(r * T, (r + 1) * T) });
        const out = await runUserSession(s, m.source, { ids, pos, cacheK: zeros, cacheV: zeros }, ['allLogits']);
        const logits = out.allLogits.data as Float32Array;
        const V = logits.length / T;
        let sum = 0;
        for (let t = 0; t < T; t++) sum += crossEntropyAt(logits.subarray(t * V, (t + 1) * V), Number(y[r * T + t]));
        rowLoss[r] = sum / T;
      }
      return { rowLoss: { dtype: 'f32', shape: [rows], data: rowLoss } };
    },
    release: () => s.release(),
  };
}

async function scoreCorpus(fwd: Pick<Forward, 'run'>, m: LmEvalModel, corpus: TextCorpus, batch: number, maxTokens: number): Promise<LmScores> {
  const T = m.cfg.gpt.context;
  const tokens = tokenizeCorpus(corpus, m.tokenizer);
  if (tokens.length <= T) throw new SwitchyardError('E_CORPUS_SMALL', `the evaluation text holds ${tokens.length} tokens, fewer than one context of ${T}`, 'pass more text with --data');
  const r = await evaluateLm(fwd, tokens, T, batch, maxTokens);
  const bytesPerToken = corpus.bytes / tokens.length;
  return { loss: r.loss, perplexity: Math.exp(r.loss), bitsPerByte: bitsPerByte(r.loss, 1, bytesPerToken), tokens: r.tokens };
}

/**
 * Scores a language-model run on text files (clean, then each corruption at each rate; seeded).
 *
 * @example
 * const r = await evaluateLmRun(model, ['valid.txt'], { rates: [0.05] });
 */
export async function evaluateLmRun(
  m: LmEvalModel, data: string[],
  o: {
    batch?: number; maxTokens?: number; rates?: number[]; seed?: number; threads?: number; device?: DeviceChoice;
    corruptions?: boolean; adversarial?: boolean; epsilons?: number[]; steps?: number;
  } = {},
): Promise<LmEvalResult> {
  const corpus = await loadTextCorpus(data);
  if (corpus.bytes === 0) throw new SwitchyardError('E_CORPUS_EMPTY', `${data.join(', ')}: no text to evaluate on`, 'point --data at non-empty text files');
  const batch = o.batch ?? 8;
  const T = m.cfg.gpt.context;
  const spec = { x: { dtype: 'i64' as const, shape: [batch, T] }, y: { dtype: 'i64' as const, shape: [batch, T] } };
  const fwd = m.model
    ? await Forward.compile(m.model, lmRowLoss, spec, { threads: o.threads, device: o.device })
    : await exportRowLoss(m, o.threads);
  try {
    const maxTokens = o.maxTokens ?? 65536;
    const clean = await scoreCorpus(fwd, m, corpus, batch, maxTokens);
    const out: LmEvalResult = { clean, corruptions: [] };
    if (o.adversarial && m.model) {
      const windows = 32;
      out.adversarial = { steps: o.steps ?? 10, windows, points: await embeddingAttack(m, corpus, { epsilons: o.epsilons, steps: o.steps, batch, maxWindows: windows, threads: o.threads, device: o.device }) };
    }
    if (o.corruptions === false) return out;
    for (const kind of ['typos', 'word-drop'] as const) {
      for (const rate of o.rates ?? [0.05, 0.2]) {
        const docs = corpus.documents.map((d, i) => ({ ...d, text: corruptText(d.text, kind, rate, (o.seed ?? 0) * 7919 + i) }));
        const bytes = docs.reduce((a, d) => a + Buffer.byteLength(d.text, 'utf8'), 0);
        const scores = await scoreCorpus(fwd, m, { documents: docs, bytes }, batch, maxTokens);
        out.corruptions.push({ kind, rate, scores, lossIncrease: scores.loss - clean.loss });
      }
    }
    return out;
  } finally {
    await fwd.release();
  }
}
