/**
 * Language-model batches: a corpus becomes one stream of token ids; a batch is a set of windows of that
 * stream, inputs `x` and next-token targets `y` (the same window shifted by one), as int64 for ONNX.
 */
import { SwitchyardError } from '../../util/errors.ts';
import type { Rng } from '../../util/rng.ts';
import type { TextCorpus } from './corpus.ts';
import type { Tokenizer } from './tokenizer.ts';

/**
 * Options for {@link tokenizeCorpus}.
 *
 * @example
 * const opts: TokenizeCorpusOptions = { separator: '\n\n', onProgress: (d, t) => bar.update(d) };
 */
export interface TokenizeCorpusOptions {
  /** Text put between two documents, encoded on its own. Default `'\n\n'`. */
  separator?: string;
  /** Called after each document with the documents done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Encodes every document of `corpus` with `tok` and joins them into one stream of ids.
 *
 * Separator policy: documents are encoded one by one (so no token spans two documents) and the
 * separator text — by default a blank line, `'\n\n'` — is encoded on its own and placed between two
 * consecutive documents (not before the first or after the last). With the byte tokenizer that is the
 * two ids `10, 10`; with BPE it is whatever the separator encodes to (usually one token). No special
 * token is added, so the vocabulary stays the tokenizer's and generated text can contain blank lines
 * that start a "new document". Empty documents are skipped (they add no separator).
 *
 * @example
 * const ids = tokenizeCorpus(corpus, new ByteTokenizer()); // Int32Array of corpus.bytes + 2 × (docs − 1) ids
 */
export function tokenizeCorpus(corpus: TextCorpus, tok: Tokenizer, opts: TokenizeCorpusOptions = {}): Int32Array {
  const sep = tok.encode(opts.separator ?? '\n\n');
  const parts: Int32Array[] = [];
  let total = 0;
  const docs = corpus.documents;
  for (let i = 0; i < docs.length; i++) {
    if (docs[i].text.length > 0) {
      if (parts.length > 0 && sep.length > 0) {
        parts.push(sep);
        total += sep.length;
      }
      const ids = tok.encode(docs[i].text);
      parts.push(ids);
      total += ids.length;
    }
    opts.onProgress?.(i + 1, docs.length);
  }
  const out = new Int32Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * One language-model batch: `x` and `y` are row-major `[batch, context]`, `y[b, t] = x[b, t + 1]`
 * within the stream.
 *
 * @example
 * const { x, y, batch, context }: LmBatch = lmBatch(ids, starts, 256);
 */
export interface LmBatch {
  x: BigInt64Array;
  y: BigInt64Array;
  batch: number;
  context: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function windowError(what: string): SwitchyardError {
  return new SwitchyardError('E_LM_WINDOW', what, 'use a shorter context or more text (a window needs context + 1 tokens)');
}

/** Writes int32 values into an int64 array without a BigInt per element (two int32 halves). */
function putInt64(dst: BigInt64Array, at: number, src: Int32Array, from: number, count: number): void {
  if (LITTLE_ENDIAN) {
    const halves = new Int32Array(dst.buffer, dst.byteOffset, dst.length * 2);
    for (let t = 0; t < count; t++) {
      const v = src[from + t];
      halves[2 * (at + t)] = v;
      halves[2 * (at + t) + 1] = v < 0 ? -1 : 0;
    }
  } else {
    for (let t = 0; t < count; t++) dst[at + t] = BigInt(src[from + t]);
  }
}

/**
 * Gathers the windows starting at `starts` from `tokens`: row `b` of `x` is
 * `tokens[starts[b] .. starts[b] + context)` and row `b` of `y` is the same window shifted by one
 * (the next-token targets). Throws `E_LM_WINDOW` when a window does not fit.
 *
 * @example
 * const { x, y } = lmBatch(Int32Array.of(5, 6, 7, 8), Int32Array.of(0, 1), 2);
 * // x = [5, 6, 6, 7], y = [6, 7, 7, 8]
 */
export function lmBatch(tokens: Int32Array, starts: ArrayLike<number>, context: number): LmBatch {
  if (!(Number.isInteger(context) && context >= 1)) throw windowError(`context must be a positive integer, got ${context}`);
  const batch = starts.length;
  const x = new BigInt64Array(batch * context);
  const y = new BigInt64Array(batch * context);
  for (let b = 0; b < batch; b++) {
    const s = starts[b];
    if (!Number.isInteger(s) || s < 0 || s + context + 1 > tokens.length) {
      throw windowError(`window ${b} starts at ${s}: tokens [${s}, ${s + context + 1}) are outside the ${tokens.length}-token stream`);
    }
    putInt64(x, b * context, tokens, s, context);
    putInt64(y, b * context, tokens, s + 1, context);
  }
  return { x, y, batch, context };
}

function checkFits(n: number, context: number): void {
  if (!(Number.isInteger(context) && context >= 1)) throw windowError(`context must be a positive integer, got ${context}`);
  if (n < context + 1) throw windowError(`the stream has ${n} tokens; a window of context ${context} needs ${context + 1}`);
}

/**
 * `batch` window starts drawn uniformly (with replacement) from every position where a full window
 * (`context + 1` tokens) fits in a stream of `n` tokens, i.e. from `[0, n - context - 1]`.
 *
 * @example
 * const starts = randomStarts(ids.length, 256, 32, rng);
 * const { x, y } = lmBatch(ids, starts, 256);
 */
export function randomStarts(n: number, context: number, batch: number, rng: Rng): Int32Array {
  checkFits(n, context);
  const starts = new Int32Array(batch);
  const span = n - context;
  for (let b = 0; b < batch; b++) starts[b] = rng.int(span);
  return starts;
}

/**
 * Deterministic window starts for evaluation: `0, stride, 2·stride, …` while a full window
 * (`context + 1` tokens) fits; a final partial window is dropped. With `stride = context` (the default)
 * the windows do not overlap and every target from token 1 up to the last full window is scored once.
 *
 * @example
 * sequentialWindows(10, 3); // Int32Array [0, 3, 6]  (targets 1..9)
 * sequentialWindows(9, 3);  // Int32Array [0, 3]     (tokens 7..8 cannot fill a window)
 */
export function sequentialWindows(n: number, context: number, stride: number = context): Int32Array {
  checkFits(n, context);
  if (!(Number.isInteger(stride) && stride >= 1)) throw windowError(`stride must be a positive integer, got ${stride}`);
  const count = Math.floor((n - context - 1) / stride) + 1;
  const starts = new Int32Array(count);
  for (let i = 0; i < count; i++) starts[i] = i * stride;
  return starts;
}

/**
 * Bits per byte from a mean cross-entropy in nats per token: `meanLoss × tokens / (bytes × ln 2)`.
 * It compares models with different tokenizers on the same text (`tokens` scored, `bytes` of text they
 * cover); for the byte tokenizer it is simply the loss in bits.
 *
 * @example
 * bitsPerByte(Math.LN2, 100, 100); // 1
 * bitsPerByte(3.0, 250_000, 1_000_000); // ≈ 1.082
 */
export function bitsPerByte(meanLossNats: number, tokens: number, bytes: number): number {
  if (!(bytes > 0)) throw new SwitchyardError('E_LM_METRIC', `bitsPerByte needs a positive byte count, got ${bytes}`, 'pass the UTF-8 byte length of the evaluated text');
  return (meanLossNats * tokens) / (bytes * Math.LN2);
}
