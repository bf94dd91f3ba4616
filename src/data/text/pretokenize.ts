/**
 * Pre-tokenisation for byte-level BPE: text is cut into pieces (words with their leading space, numbers,
 * punctuation runs, whitespace runs) and BPE merges never cross a piece boundary. The pieces concatenate
 * back to the input exactly.
 */

/**
 * The piece pattern, GPT-2-like:
 * - English contractions `'s 't 'd 'm 'll 've 're` (straight or curly apostrophe) as their own pieces;
 * - a run of letters (and combining marks) with an optional single leading space;
 * - a run of digits with an optional leading space;
 * - a run of other symbols (punctuation, emoji, ...) with an optional leading space;
 * - whitespace: a run ending in line breaks (kept whole, so a blank line is one piece even before a word),
 *   else a run that leaves its last space to the word that follows it, else a trailing run.
 *
 * Every code point matches one alternative, so the pieces always cover the text.
 *
 * @example
 * 'Hi there'.match(PRETOKEN_PATTERN); // ['Hi', ' there']
 */
export const PRETOKEN_PATTERN =
  /['\u2019](?:[sdmt]|ll|ve|re)(?![\p{L}\p{M}])| ?[\p{L}\p{M}]+| ?\p{N}+| ?[^\s\p{L}\p{M}\p{N}]+|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/**
 * Name stored in saved tokenizers so a future change of the pattern is detected on load.
 *
 * @example
 * tok.toJSON().pretokenizer === PRETOKENIZER_NAME; // true for a BPE tokenizer trained by this version
 */
export const PRETOKENIZER_NAME = 'switchyard-v1';

/**
 * Longest piece in UTF-16 code units; longer matches (a page of dashes, a CJK paragraph without spaces)
 * are cut into chunks of this size, never inside a surrogate pair, to keep encoding linear.
 *
 * @example
 * preTokenize('-'.repeat(600)).map((p) => p.length); // [256, 256, 88]
 */
export const MAX_PIECE = 256;

/**
 * Calls `emit` with each piece of `text` in order; the pieces concatenate to `text`.
 *
 * @example
 * const out: string[] = [];
 * forEachPiece("Hello, world! It's 2024.", (p) => out.push(p));
 * // ['Hello', ',', ' world', '!', ' It', "'s", ' 2024', '.']
 */
export function forEachPiece(text: string, emit: (piece: string) => void): void {
  const re = new RegExp(PRETOKEN_PATTERN.source, PRETOKEN_PATTERN.flags);
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const start = m.index;
    // The pattern covers every code point; this only guards against a gap if it ever did not.
    if (start > last) emitChunks(text, last, start, emit);
    const end = start + m[0].length;
    emitChunks(text, start, end, emit);
    last = end;
  }
  if (last < text.length) emitChunks(text, last, text.length, emit);
}

function emitChunks(text: string, start: number, end: number, emit: (piece: string) => void): void {
  while (end - start > MAX_PIECE) {
    let cut = start + MAX_PIECE;
    const c = text.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff) cut--; // do not split a surrogate pair
    emit(text.slice(start, cut));
    start = cut;
  }
  if (end > start) emit(text.slice(start, end));
}

/**
 * The pieces of `text` as an array (see {@link forEachPiece}).
 *
 * @example
 * preTokenize('the  cat\n'); // ['the', ' ', ' cat', '\n']
 */
export function preTokenize(text: string): string[] {
  const out: string[] = [];
  forEachPiece(text, (p) => out.push(p));
  return out;
}
