/**
 * Hugging Face `tokenizer.json` files of the byte-level BPE family (GPT-2, RoBERTa, Llama 3, Qwen, ...): reading
 * one into a tokenizer our models train and generate with ({@link tokenizerFromHuggingFace}), and writing any of
 * our tokenizers as one ({@link toHuggingFaceJSON}) so that Hugging Face's libraries reproduce our ids. What a file
 * may hold is checked field by field; anything that would make our ids differ from Hugging Face's (WordPiece,
 * Unigram, byte fallback, dropout, a normalizer other than NFC, a post-processor that adds tokens, ...) is refused
 * with an `E_TOKENIZER` error naming the field.
 */
import { SwitchyardError } from '../../util/errors.ts';
import { type AddedToken, BpeTokenizer, ByteLevelBpe, pairKey } from './bpe-tokenizer.ts';
import { byteChar, byteLevelToBytes, bytesToByteLevel } from './byte-level.ts';
import { utf8Encode } from './bytes.ts';
import { writeJsonAtomic } from '../../util/fs.ts';
import {
  compilePreTokenizer, type PreTokenizerSpec, type SplitPattern, SWITCHYARD_PRETOKENIZER,
} from './pretokenize.ts';
import type { Tokenizer } from './tokenizer.ts';

/**
 * Everything that decides the ids of a byte-level BPE `tokenizer.json`, in a canonical form.
 *
 * @example
 * const def: HfBpeDefinition = tokenizerFromHuggingFace(json).definition;
 */
export interface HfBpeDefinition {
  /** `model.vocab` by id (undefined for an id that only an added token has, or that no token has). */
  vocab: (string | undefined)[];
  /** `model.merges` as pairs of ids, in rank order. */
  merges: [number, number][];
  added: AddedToken[];
  normalizer: 'NFC' | null;
  pretokenizer: PreTokenizerSpec;
  ignoreMerges: boolean;
  unkToken: string | null;
  /** The file's post-processor when it is a ByteLevel one (it only moves offsets), else null. */
  postProcessor: Record<string, unknown> | null;
}

type Json = Record<string, unknown>;

const ONLY_BYTE_LEVEL = 'only byte-level BPE tokenizer.json files (GPT-2 style) are supported';

function bad(field: string, problem: string, hint = ONLY_BYTE_LEVEL): SwitchyardError {
  return new SwitchyardError('E_TOKENIZER', `${field}: ${problem}`, hint);
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `field` holds `value` (an object is shown by its `type`), which we cannot honour; `only` says what we can. */
function unsupported(field: string, value: unknown, only: string): SwitchyardError {
  const shown = isObject(value) ? JSON.stringify(value.type) : JSON.stringify(value ?? null);
  return bad(field, `${shown} is not supported (${only})`);
}

const isSet = (v: unknown) => v !== null && v !== undefined;

/**
 * A Split pre-tokenizer. `Isolated` keeps matches and gaps as pieces whichever `invert` is; `Removed` with `invert`
 * keeps the matches only. Other behaviours merge or drop pieces in ways we do not reproduce.
 */
function readSplit(s: Json, field: string): SplitPattern {
  const inverted = s.invert === true;
  if (s.behavior !== 'Isolated' && !(s.behavior === 'Removed' && inverted)) {
    throw unsupported(`${field}.behavior`, s.behavior, 'only "Isolated", or "Removed" with invert true');
  }
  const matchesOnly = s.behavior === 'Removed' ? { matchesOnly: true } : {};
  const p = s.pattern;
  if (isObject(p) && typeof p.Regex === 'string') return { regex: p.Regex, ...matchesOnly };
  if (isObject(p) && typeof p.String === 'string') return { literal: p.String, ...matchesOnly };
  throw bad(`${field}.pattern`, 'is neither {"Regex": ...} nor {"String": ...}');
}

/** The pre-tokenizer: ByteLevel, or a Sequence of Splits ending in ByteLevel. */
function readPreTokenizer(p: unknown): PreTokenizerSpec {
  const field = 'pre_tokenizer';
  if (!isObject(p)) throw bad(field, 'is missing; a byte-level BPE needs a ByteLevel pre-tokenizer');
  const steps = p.type === 'Sequence' ? p.pretokenizers : [p];
  if (!Array.isArray(steps) || steps.length === 0) throw bad(`${field}.pretokenizers`, 'is not a non-empty list');
  const splits: SplitPattern[] = [];
  const at = (i: number) => (p.type === 'Sequence' ? `${field}.pretokenizers[${i}]` : field);
  for (let i = 0; i < steps.length - 1; i++) {
    const s = steps[i] as Json;
    if (!isObject(s) || s.type !== 'Split') throw unsupported(`${at(i)}.type`, s, 'only Split before ByteLevel');
    splits.push(readSplit(s, at(i)));
  }
  const last = steps[steps.length - 1] as Json;
  const f = at(steps.length - 1);
  if (!isObject(last) || last.type !== 'ByteLevel') {
    throw unsupported(`${f}.type`, last, 'a byte-level BPE ends in ByteLevel');
  }
  const addPrefixSpace = last.add_prefix_space === true;
  if (addPrefixSpace && splits.length > 0) {
    throw unsupported(`${f}.add_prefix_space`, true, 'only false after a Split: it puts a space before every piece');
  }
  const spec = { splits, byteLevelRegex: last.use_regex !== false, addPrefixSpace };
  try {
    compilePreTokenizer(spec);
  } catch (e) {
    const hint = 'only the Oniguruma syntax that tokenizers use is read (see README)';
    throw bad(`${field} pattern`, (e as Error).message, hint);
  }
  return spec;
}

function readNormalizer(n: unknown): 'NFC' | null {
  if (!isSet(n)) return null;
  if (isObject(n) && n.type === 'NFC') return 'NFC';
  throw unsupported('normalizer.type', n, 'only null or "NFC"');
}

function readModel(m: unknown): { vocab: Map<string, number>; merges: [string, string][]; model: Json } {
  if (!isObject(m)) throw bad('model', 'is missing');
  if (isSet(m.type) && m.type !== 'BPE') throw unsupported('model.type', m, 'only "BPE"');
  if (m.byte_fallback === true) throw unsupported('model.byte_fallback', true, 'byte-level BPE needs no fallback');
  if (isSet(m.dropout) && m.dropout !== 0) throw unsupported('model.dropout', m.dropout, 'random merges; only null');
  for (const k of ['continuing_subword_prefix', 'end_of_word_suffix']) {
    if (isSet(m[k]) && m[k] !== '') throw unsupported(`model.${k}`, m[k], 'only null');
  }
  if (!isObject(m.vocab)) throw bad('model.vocab', 'is not an object of token -> id');
  const vocab = new Map<string, number>();
  for (const [tok, id] of Object.entries(m.vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0) {
      throw bad(`model.vocab[${JSON.stringify(tok)}]`, `id ${JSON.stringify(id)} is not a non-negative integer`);
    }
    vocab.set(tok, id as number);
  }
  if (!Array.isArray(m.merges)) throw bad('model.merges', 'is not a list');
  const merges = m.merges.map((x: unknown, i): [string, string] => {
    const pair = typeof x === 'string' ? x.split(' ') : x;
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw bad(`model.merges[${i}]`, `${JSON.stringify(x)} is neither "a b" nor ["a", "b"]`);
    }
    return [pair[0], pair[1]];
  });
  return { vocab, merges, model: m };
}

function readAdded(list: unknown): AddedToken[] {
  if (!isSet(list)) return [];
  if (!Array.isArray(list)) throw bad('added_tokens', 'is not a list');
  return list.map((t: unknown, i) => {
    const f = `added_tokens[${i}]`;
    if (!isObject(t) || !Number.isInteger(t.id) || (t.id as number) < 0) {
      throw bad(`${f}.id`, 'is not a non-negative integer');
    }
    if (typeof t.content !== 'string' || t.content === '') throw bad(`${f}.content`, 'is not a non-empty string');
    for (const k of ['single_word', 'lstrip', 'rstrip']) {
      if (t[k] === true) throw unsupported(`${f}.${k}`, true, 'only false');
    }
    const special = t.special === true;
    const normalized = t.normalized === undefined ? !special : t.normalized === true;
    return { id: t.id as number, content: t.content, special, normalized };
  });
}

/** The tokens by id (holes where no token has the id, as in GPT-4o's file), checking that all 256 bytes are there. */
function tokensById(vocab: Map<string, number>, added: AddedToken[]): (string | undefined)[] {
  let size = 0;
  for (const id of vocab.values()) size = Math.max(size, id + 1);
  for (const t of added) size = Math.max(size, t.id + 1);
  const byId: (string | undefined)[] = new Array(size);
  for (const [tok, id] of vocab) {
    const both = `${JSON.stringify(byId[id])} and ${JSON.stringify(tok)}`;
    if (byId[id] !== undefined) throw bad('model.vocab', `id ${id} is given to ${both}`);
    byId[id] = tok;
  }
  for (let b = 0; b < 256; b++) {
    const what = `${JSON.stringify(byteChar(b))}, the token of byte 0x${b.toString(16).padStart(2, '0')}`;
    if (!vocab.has(byteChar(b))) throw bad('model.vocab', `lacks ${what} (a byte-level BPE has all 256)`);
  }
  return byId;
}

function readDefinition(json: unknown): HfBpeDefinition {
  if (!isObject(json)) throw bad('(top level)', 'is not a JSON object');
  for (const k of ['truncation', 'padding']) {
    if (isSet(json[k])) throw bad(k, 'is set; only null is supported (it changes the ids)');
  }
  const { vocab, merges, model } = readModel(json.model);
  const pp = json.post_processor;
  if (isSet(pp) && !(isObject(pp) && pp.type === 'ByteLevel')) {
    throw unsupported('post_processor.type', pp, 'only null or "ByteLevel"; others add tokens');
  }
  if (!isObject(json.decoder) || json.decoder.type !== 'ByteLevel') {
    throw unsupported('decoder.type', json.decoder, 'only "ByteLevel"');
  }
  const added = readAdded(json.added_tokens);
  const idOf = (tok: string, i: number, what = '') => {
    const id = vocab.get(tok);
    const hint = 'the file is damaged or not a byte-level BPE';
    if (id === undefined) throw bad(`model.merges[${i}]${what}`, `${JSON.stringify(tok)} is not in model.vocab`, hint);
    return id;
  };
  const vocabById = tokensById(vocab, added);
  const seen = new Map<number, number>();
  const pairs = merges.map(([a, b], i): [number, number] => {
    const pair: [number, number] = [idOf(a, i), idOf(b, i)];
    const first = seen.get(pairKey(...pair));
    if (first !== undefined) throw bad(`model.merges[${i}]`, `repeats model.merges[${first}]`, 'the file is damaged');
    seen.set(pairKey(...pair), i);
    idOf(a + b, i, ' result');
    return pair;
  });
  return {
    vocab: vocabById,
    merges: pairs,
    added,
    normalizer: readNormalizer(json.normalizer),
    pretokenizer: readPreTokenizer(json.pre_tokenizer),
    ignoreMerges: model.ignore_merges === true,
    unkToken: typeof model.unk_token === 'string' ? model.unk_token : null,
    postProcessor: isObject(pp) ? pp : null,
  };
}

/**
 * A tokenizer read from a Hugging Face byte-level BPE `tokenizer.json` (or built from our own, see
 * {@link toHuggingFaceJSON}): it encodes like Hugging Face's `tokenizers` and saves back to the same file content.
 *
 * @example
 * const tok = tokenizerFromHuggingFace(JSON.parse(readFileSync('gpt2/tokenizer.json', 'utf8')));
 * tok.encode('Hello world'); // Int32Array [15496, 995]
 */
export class HfBpeTokenizer extends ByteLevelBpe {
  /** Builds the tokenizer from a checked definition (see {@link tokenizerFromHuggingFace}). */
  constructor(readonly definition: HfBpeDefinition) {
    const d = definition;
    const added = new Map(d.added.map((t) => [t.id, t.content]));
    // Array.from, not map: an id that only an added token has is a hole in d.vocab, which map would skip. An id
    // no token has stands for no bytes (Hugging Face's decode skips it); a model may still sample it.
    const tokens = Array.from(d.vocab, (tok, id) => {
      const content = added.get(id) ?? tok;
      if (content === undefined) return new Uint8Array(0);
      return (added.has(id) ? null : byteLevelToBytes(content)) ?? utf8Encode(content);
    });
    const idOf = new Map<string, number>();
    d.vocab.forEach((tok, id) => tok !== undefined && idOf.set(tok, id));
    const merges = d.merges.map(([a, b]): [number, number, number] => [a, b, idOf.get(d.vocab[a]! + d.vocab[b]!)!]);
    const byteIds = Int32Array.from({ length: 256 }, (_, b) => idOf.get(byteChar(b))!);
    let wholePieces: Map<string, number> | undefined;
    if (d.ignoreMerges) {
      // Keyed by the piece's bytes as one char each, so an ASCII piece is its own key (no conversion per lookup).
      wholePieces = new Map();
      for (const [tok, id] of idOf) {
        const bytes = byteLevelToBytes(tok);
        if (bytes) wholePieces.set(String.fromCharCode(...bytes), id);
      }
    }
    const splitter = compilePreTokenizer(d.pretokenizer);
    super({ tokens, byteIds, merges }, { splitter, added: d.added, normalizer: d.normalizer, wholePieces });
  }

  /** The `tokenizer.json` content (canonical: merges as pairs, every field written out). */
  toJSON(): Json {
    return writeDefinition(this.definition);
  }
}

function writeDefinition(d: HfBpeDefinition): Json {
  const byteLevel = (addPrefixSpace: boolean, useRegex: boolean) => ({
    type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: useRegex,
  });
  const p = d.pretokenizer;
  const split = (s: SplitPattern) => ({
    type: 'Split',
    pattern: 'regex' in s ? { Regex: s.regex } : { String: s.literal },
    behavior: s.matchesOnly ? 'Removed' : 'Isolated',
    invert: !!s.matchesOnly,
  });
  const vocab: Record<string, number> = {};
  d.vocab.forEach((tok, id) => tok !== undefined && (vocab[tok] = id));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: d.added.map((t) => ({
      id: t.id, content: t.content, single_word: false, lstrip: false, rstrip: false,
      normalized: t.normalized, special: t.special,
    })),
    normalizer: d.normalizer ? { type: d.normalizer } : null,
    pre_tokenizer: p.splits.length === 0
      ? byteLevel(p.addPrefixSpace, p.byteLevelRegex)
      : { type: 'Sequence', pretokenizers: [...p.splits.map(split), byteLevel(false, p.byteLevelRegex)] },
    post_processor: d.postProcessor,
    decoder: byteLevel(true, true),
    model: {
      type: 'BPE', dropout: null, unk_token: d.unkToken, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: d.ignoreMerges, vocab,
      merges: d.merges.map(([a, b]) => [d.vocab[a], d.vocab[b]]),
    },
  };
}

/**
 * Reads a Hugging Face `tokenizer.json` object of the byte-level BPE family: model BPE (merges as `"a b"` or
 * `["a", "b"]`), pre-tokenizer ByteLevel or Sequence[Split..., ByteLevel], decoder ByteLevel, normalizer null or NFC,
 * added tokens. Throws `E_TOKENIZER` naming the first field it cannot honour exactly.
 *
 * @param json the parsed file
 * @example
 * const tok = tokenizerFromHuggingFace(JSON.parse(await readFile('tokenizer.json', 'utf8')));
 */
export function tokenizerFromHuggingFace(json: unknown): HfBpeTokenizer {
  return new HfBpeTokenizer(readDefinition(json));
}

/**
 * Whether `json` looks like a Hugging Face `tokenizer.json` (it has a `model` object) rather than our own form.
 *
 * @example
 * isHuggingFaceJSON({ model: { type: 'BPE' } }); // true
 */
export function isHuggingFaceJSON(json: unknown): boolean {
  return isObject(json) && isObject(json.model);
}

/**
 * The `tokenizer.json` content of any of our tokenizers: our BPE (its pattern written as a Split pre-tokenizer,
 * then the 256-code-point cut, then ByteLevel without GPT-2's regex), the byte tokenizer (a BPE without merges),
 * or one read from a file. Hugging Face's `tokenizers` (Rust or JS) encode text to our ids with it.
 *
 * @param tok the tokenizer to describe
 * @example
 * await writeJsonAtomic('runs/lm/tokenizer.json', toHuggingFaceJSON(trainBpe(texts, 4096)));
 */
export function toHuggingFaceJSON(tok: Tokenizer): Json {
  if (tok instanceof HfBpeTokenizer) return tok.toJSON();
  const base = { added: [], normalizer: null, ignoreMerges: false, unkToken: null, postProcessor: null };
  if (tok instanceof BpeTokenizer) {
    const vocab = Array.from({ length: tok.vocabSize }, (_, id) => bytesToByteLevel(tok.tokenBytes(id)));
    const merges = tok.merges.map(([a, b]): [number, number] => [a, b]);
    return writeDefinition({ ...base, vocab, merges, pretokenizer: SWITCHYARD_PRETOKENIZER });
  }
  if (tok.kind === 'byte') {
    const vocab = Array.from({ length: 256 }, (_, b) => byteChar(b));
    const pretokenizer = { splits: [], byteLevelRegex: false, addPrefixSpace: false };
    return writeDefinition({ ...base, vocab, merges: [], pretokenizer });
  }
  const what = `a ${tok.kind} tokenizer cannot be written as tokenizer.json`;
  throw new SwitchyardError('E_TOKENIZER', what, 'use a byte or BPE tokenizer');
}

/**
 * Writes `tok` as a Hugging Face `tokenizer.json` (see {@link toHuggingFaceJSON}) atomically.
 *
 * @param file where to write
 * @param tok the tokenizer
 * @example
 * await saveHuggingFaceTokenizer('out/tokenizer.json', tok);
 */
export async function saveHuggingFaceTokenizer(file: string, tok: Tokenizer): Promise<void> {
  await writeJsonAtomic(file, toHuggingFaceJSON(tok));
}
