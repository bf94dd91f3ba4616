/** Shared by the tokenizer.json tests: hard text, a corpus slice, and GPT-2-format files built from our BPE. */
import { trainBpe, type BpeTokenizer } from '../../../src/data/text/bpe.ts';
import { byteChar, bytesToByteLevel } from '../../../src/data/text/byte-level.ts';
import { loadTextCorpus, sotuPath } from '../../../src/data/text/corpus.ts';

/** Text that exercises whitespace runs, digits, contractions, non-ASCII, emoji and line ends. */
export const HARD = [
  'We\'ve said it: it\'s 2024, and we\'ll spend $1,234,567.89 -- they\'re sure. I\'M SURE, You\'Re Not.',
  'Spaces:   three,\ttab,\t\t two tabs,   \n\n\n  indented line\r\nwindows line\u00a0nbsp\u2003em space ',
  'naïve café, Ünïcödé, Ελληνικά, русский, 日本語のテキスト, 한국어, العربية, emoji 😀🎉👨‍👩‍👧 ✓',
  'digits 0 12 345 6789 3.14159 1e10 ١٢٣ ½ Ⅻ',
  '',
  ' leading space',
  'trailing spaces   ',
].join('\n');

/** Our BPE trained on every 24th speech, and four held-out speeches. */
export async function sotuBpe(): Promise<{ ours: BpeTokenizer; held: string }> {
  const docs = (await loadTextCorpus([sotuPath()!])).documents.map((d) => d.text);
  const held = docs.filter((_, i) => i % 24 === 12).slice(0, 4).join('\n\n');
  return { ours: trainBpe(docs.filter((_, i) => i % 24 === 0), 1200), held };
}

/** GPT-2's own id order: the 256 byte characters in byte-to-unicode order, then merge results, then <|endoftext|>. */
export function gpt2Format(
  tok: BpeTokenizer, over: Record<string, unknown> = {}, modelOver: Record<string, unknown> = {},
): Record<string, unknown> {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const bytes = Array.from({ length: 256 }, (_, b) => b);
  const order = [...bytes.filter(printable), ...bytes.filter((b) => !printable(b))];
  const vocab: Record<string, number> = {};
  order.forEach((b, id) => (vocab[byteChar(b)] = id));
  const str = (id: number) => bytesToByteLevel(tok.tokenBytes(id));
  tok.merges.forEach((_, i) => (vocab[str(256 + i)] = 256 + i));
  const eot = tok.vocabSize;
  vocab['<|endoftext|>'] = eot;
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [
      { id: eot, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false,
      vocab, merges: tok.merges.map(([a, b]) => `${str(a)} ${str(b)}`), ...modelOver,
    },
    ...over,
  };
}

/** GPT-2's ByteLevel pre-tokenizer (GPT-2's pattern), optionally with its prefix space. */
export function byteLevel(addPrefixSpace = false): Record<string, unknown> {
  return { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true };
}

/** Llama 3's Split pattern (Oniguruma syntax: a case-insensitive group, digits in threes). */
export const LLAMA3_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*" +
  "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** A Llama-3-style pre-tokenizer: one Split pattern, then ByteLevel without GPT-2's regex (GPT-4o: Removed, invert). */
export function splitThenByteLevel(regex: string, behavior = 'Isolated', invert = false): Record<string, unknown> {
  return {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: regex }, behavior, invert },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
}

/**
 * A file whose merges cross the pieces that depend on what `\s` means (`!` + U+0085, space + U+FEFF): under
 * Oniguruma's `\s` (U+0085 is space, U+FEFF is not) "a!\u0085b c \ufeffd" gives `!`, ` \ufeff` (merged).
 */
export function whitespaceProbe(ours: BpeTokenizer, preTokenizer: Record<string, unknown>): Record<string, unknown> {
  const vocab: Record<string, number> = Object.fromEntries(Array.from({ length: 256 }, (_, b) => [byteChar(b), b]));
  Object.assign(vocab, { '!Â': 256, 'Ġï': 257, 'Ġï»': 258, 'Ġï»¿': 259 });
  const merges = ['! Â', 'Ġ ï', 'Ġï »', 'Ġï» ¿'];
  return gpt2Format(ours, { added_tokens: [], pre_tokenizer: preTokenizer }, { vocab, merges });
}

/** The text for {@link whitespaceProbe}. */
export const WHITESPACE_PROBE = 'a!\u0085b c \ufeffd \u0085\u0085e\u0085';
