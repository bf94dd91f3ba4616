/**
 * Pre-tokenisation for byte-level BPE: text is cut into pieces (words with their leading space, numbers,
 * punctuation runs, whitespace runs) and BPE merges never cross a piece boundary. The pieces concatenate
 * back to the input exactly (plus a leading space when a loaded tokenizer asks for one).
 *
 * A pre-tokenizer is described as Hugging Face describes it ({@link PreTokenizerSpec}: Split patterns in
 * Oniguruma syntax, then optionally GPT-2's ByteLevel pattern), so that one description is both what we run
 * and what a `tokenizer.json` says. Our own pattern is written in the subset where Oniguruma and JavaScript
 * agree (no `\s`: its whitespace class is spelled out), so the Rust `tokenizers` crate reproduces our pieces.
 */
import { onigToJs } from './onig-regex.ts';

/** JavaScript's `\s`, spelled out (Oniguruma's `\s` differs at U+0085 and U+FEFF). */
const WS = '\\t-\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';

/**
 * Source of our piece pattern, GPT-2-like, the same in JavaScript and Oniguruma:
 * - English contractions `'s 't 'd 'm 'll 've 're` (straight or curly apostrophe) as their own pieces;
 * - a run of letters (and combining marks) with an optional single leading space;
 * - a run of digits with an optional leading space;
 * - a run of other symbols (punctuation, emoji, ...) with an optional leading space;
 * - whitespace: a run ending in line breaks (kept whole, so a blank line is one piece even before a word),
 *   else a run that leaves its last space to the word that follows it, else a trailing run.
 *
 * Every code point matches one alternative, so the pieces always cover the text.
 */
const PRETOKEN_SOURCE =
  `['\\u2019](?:[sdmt]|ll|ve|re)(?![\\p{L}\\p{M}])| ?[\\p{L}\\p{M}]+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{M}\\p{N}]+` +
  `|[${WS}]*[\\r\\n]+|[${WS}]+(?![^${WS}])|[${WS}]+`;

/**
 * Our piece pattern (see the bullet list above its source in pretokenize.ts), with the `gu` flags.
 *
 * @example
 * 'Hi there'.match(PRETOKEN_PATTERN); // ['Hi', ' there']
 */
export const PRETOKEN_PATTERN = new RegExp(PRETOKEN_SOURCE, 'gu');

/**
 * Name stored in saved tokenizers so a future change of the pattern is detected on load.
 *
 * @example
 * tok.toJSON().pretokenizer === PRETOKENIZER_NAME; // true for a BPE tokenizer trained by this version
 */
export const PRETOKENIZER_NAME = 'switchyard-v1';

/**
 * Longest piece in code points; longer matches (a page of dashes, a CJK paragraph without spaces) are cut
 * into chunks of this size to keep encoding linear. (Code points, not UTF-16 units, so that the cut can be
 * written as a Split pattern, `[\s\S]{1,256}`, that every regex engine reads alike.)
 *
 * @example
 * preTokenize('-'.repeat(600)).map((p) => p.length); // [256, 256, 88]
 */
export const MAX_PIECE = 256;

/**
 * GPT-2's pattern, which a Hugging Face ByteLevel pre-tokenizer with `use_regex: true` applies (Oniguruma syntax).
 *
 * @example
 * preTokenizeWith({ splits: [], byteLevelRegex: true, addPrefixSpace: false }, "it's"); // ['it', "'s"]
 */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/**
 * One Split pre-tokenizer: every match and every gap between matches is a piece (behaviour `Isolated`), or with
 * `matchesOnly` the matches are and the gaps are dropped (behaviour `Removed` with `invert`, as GPT-4o's file has it).
 *
 * @example
 * const split: SplitPattern = { regex: '\\p{N}{1,3}' };
 */
export type SplitPattern = ({ regex: string } | { literal: string }) & { matchesOnly?: boolean };

/**
 * A byte-level pre-tokenizer as a `tokenizer.json` describes it: optionally a leading space, then the Split
 * patterns in order (each cuts the pieces of the one before), then optionally GPT-2's pattern
 * ({@link GPT2_PATTERN}, ByteLevel `use_regex`).
 *
 * @example
 * const gpt2: PreTokenizerSpec = { splits: [], byteLevelRegex: true, addPrefixSpace: false };
 */
export interface PreTokenizerSpec {
  splits: SplitPattern[];
  byteLevelRegex: boolean;
  /** Prepend a space to text that does not start with one (ByteLevel `add_prefix_space`). */
  addPrefixSpace: boolean;
}

/**
 * Our own pre-tokenizer ({@link PRETOKENIZER_NAME}): our pattern, then pieces cut at {@link MAX_PIECE} code points.
 *
 * @example
 * preTokenizeWith(SWITCHYARD_PRETOKENIZER, 'a b'); // ['a', ' b']
 */
export const SWITCHYARD_PRETOKENIZER: PreTokenizerSpec = {
  splits: [{ regex: PRETOKEN_SOURCE }, { regex: `[\\s\\S]{1,${MAX_PIECE}}` }],
  byteLevelRegex: false,
  addPrefixSpace: false,
};

/**
 * Calls `emit` with each piece of the text, in order.
 *
 * @example
 * const split: PieceSplitter = compilePreTokenizer(SWITCHYARD_PRETOKENIZER);
 * split('a b', (p) => console.log(p));
 */
export type PieceSplitter = (text: string, emit: (piece: string) => void) => void;

type Stage = (text: string, emit: (piece: string) => void) => void;

/** Cuts `piece` into chunks of at most `max` code points (a lone surrogate counts as one, as in a `u` regex). */
function chunkStage(max: number): Stage {
  return (piece, emit) => {
    if (piece.length <= max) return emit(piece);
    let start = 0;
    let count = 0;
    for (let i = 0; i < piece.length; count++) {
      if (count === max) {
        emit(piece.slice(start, i));
        start = i;
        count = 0;
      }
      const c = piece.charCodeAt(i);
      const low = piece.charCodeAt(i + 1);
      i += c >= 0xd800 && c <= 0xdbff && low >= 0xdc00 && low <= 0xdfff ? 2 : 1;
    }
    emit(piece.slice(start));
  };
}

/** Emits every match of `re` and every gap between matches (Hugging Face's `Isolated` split). */
function regexStage(re: RegExp, gaps = true): Stage {
  return (text, emit) => {
    // The position lives here, not in re.lastIndex alone, so a nested call on the same stage cannot disturb it.
    let pos = 0;
    let last = 0;
    let m: RegExpExecArray | null;
    for (re.lastIndex = 0; (m = re.exec(text)) !== null; re.lastIndex = pos) {
      pos = re.lastIndex;
      if (m[0].length === 0) {
        pos += text.codePointAt(pos)! > 0xffff ? 2 : 1;
        continue;
      }
      if (gaps && m.index > last) emit(text.slice(last, m.index));
      emit(m[0]);
      last = pos;
    }
    if (gaps && last < text.length) emit(text.slice(last));
  };
}

function literalStage(lit: string, gaps: boolean): Stage {
  return (text, emit) => {
    let last = 0;
    for (let at = text.indexOf(lit); at >= 0; at = text.indexOf(lit, last)) {
      if (gaps && at > last) emit(text.slice(last, at));
      emit(lit);
      last = at + lit.length;
    }
    if (gaps && last < text.length) emit(text.slice(last));
  };
}

function stageOf(split: SplitPattern): Stage {
  const gaps = !split.matchesOnly;
  if ('literal' in split) return literalStage(split.literal, gaps);
  const chunk = /^\[\\s\\S\]\{1,(\d+)\}$/.exec(split.regex);
  if (chunk) return chunkStage(Number(chunk[1]));
  return regexStage(new RegExp(onigToJs(split.regex), 'gu'), gaps);
}

/**
 * Compiles a pre-tokenizer description into a function that cuts text into pieces. Throws an `Error` naming the
 * construct when a Split pattern uses Oniguruma syntax we do not translate (see `onigToJs`).
 *
 * @param spec the Split patterns, ByteLevel regex and prefix space
 * @example
 * const split = compilePreTokenizer({ splits: [], byteLevelRegex: true, addPrefixSpace: true });
 * split('Hello world', (p) => console.log(p)); // ' Hello', ' world'
 */
export function compilePreTokenizer(spec: PreTokenizerSpec): PieceSplitter {
  const stages = spec.splits.map(stageOf);
  if (spec.byteLevelRegex) stages.push(regexStage(new RegExp(onigToJs(GPT2_PATTERN), 'gu')));
  const prefix = spec.addPrefixSpace;
  return (text, emit) => {
    if (prefix && !text.startsWith(' ')) text = ' ' + text;
    if (stages.length === 0) return text.length > 0 ? emit(text) : undefined;
    let e = emit;
    for (let k = stages.length - 1; k > 0; k--) {
      const stage = stages[k];
      const next = e;
      e = (piece) => stage(piece, next);
    }
    stages[0](text, e);
  };
}

const switchyardSplitter = compilePreTokenizer(SWITCHYARD_PRETOKENIZER);

/**
 * Calls `emit` with each piece of `text` in order (our own pre-tokenizer); the pieces concatenate to `text`.
 *
 * @example
 * const out: string[] = [];
 * forEachPiece("Hello, world! It's 2024.", (p) => out.push(p));
 * // ['Hello', ',', ' world', '!', ' It', "'s", ' 2024', '.']
 */
export function forEachPiece(text: string, emit: (piece: string) => void): void {
  switchyardSplitter(text, emit);
}

/**
 * The pieces of `text` as an array (see {@link forEachPiece}).
 *
 * @example
 * preTokenize('the  cat\n'); // ['the', ' ', ' cat', '\n']
 */
export function preTokenize(text: string): string[] {
  return preTokenizeWith(SWITCHYARD_PRETOKENIZER, text);
}

/**
 * The pieces of `text` under the pre-tokenizer `spec`.
 *
 * @example
 * preTokenizeWith({ splits: [{ regex: '\\p{N}{1,3}' }], byteLevelRegex: false, addPrefixSpace: false }, 'x12345');
 * // ['x', '123', '45']
 */
export function preTokenizeWith(spec: PreTokenizerSpec, text: string): string[] {
  const out: string[] = [];
  compilePreTokenizer(spec)(text, (p) => out.push(p));
  return out;
}
