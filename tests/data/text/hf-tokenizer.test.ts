/**
 * Hugging Face tokenizer.json load and save, checked against an independent implementation (the pure-JS
 * @huggingface/tokenizers package) on State of the Union addresses.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byteChar, bytesToByteLevel } from '../../../src/data/text/byte-level.ts';
import { utf8Encode } from '../../../src/data/text/bytes.ts';
import {
  saveHuggingFaceTokenizer, tokenizerFromHuggingFace, toHuggingFaceJSON,
} from '../../../src/data/text/hf-tokenizer.ts';
import { GPT2_PATTERN, preTokenize } from '../../../src/data/text/pretokenize.ts';
import { ByteTokenizer, loadTokenizer, type Tokenizer } from '../../../src/data/text/tokenizer.ts';
import type { BpeTokenizer } from '../../../src/data/text/bpe.ts';
import {
  byteLevel, gpt2Format, HARD, LLAMA3_PATTERN, sotuBpe, splitThenByteLevel, WHITESPACE_PROBE, whitespaceProbe,
} from './hf-fixtures.ts';

let held: string;
let ours: BpeTokenizer;
let dir: string;

beforeAll(async () => {
  ({ ours, held } = await sotuBpe());
  dir = mkdtempSync(join(tmpdir(), 'sy-hf-tok-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hf = (json: object) => new HfTokenizer(json, {});
const hfEncode = (t: HfTokenizer, s: string) => (s === '' ? [] : t.encode(s).ids);
const hfDecode = (t: HfTokenizer, ids: ArrayLike<number>) =>
  ids.length === 0 ? '' : t.decode(Array.from(ids), { clean_up_tokenization_spaces: false });

function expectSame(mine: Tokenizer, theirs: HfTokenizer, text: string): void {
  const ids = Array.from(mine.encode(text));
  expect(ids).toEqual(hfEncode(theirs, text));
  expect(hfDecode(theirs, ids)).toBe(mine.decode(ids));
}

describe('our BPE saved as tokenizer.json', () => {
  it('makes @huggingface/tokenizers encode held-out speeches to exactly our ids, and decode them back', () => {
    const json = toHuggingFaceJSON(ours);
    const theirs = hf(json);
    const ids = ours.encode(held);
    expect(ids.length).toBeGreaterThan(50_000);
    expect(hfEncode(theirs, held)).toEqual(Array.from(ids));
    expect(hfDecode(theirs, ids)).toBe(held);
    expectSame(ours, theirs, HARD);
    // a piece longer than 256 code points is cut the same way (the Split pattern [\s\S]{1,256})
    expectSame(ours, theirs, `x ${'-'.repeat(700)} ${'😀'.repeat(300)} ${'a'.repeat(600)}`);
    // reading it back gives our ids too
    expect(Array.from(tokenizerFromHuggingFace(json).encode(held))).toEqual(Array.from(ids));
  });

  it('writes the byte tokenizer as a merge-free BPE with the same ids', () => {
    const byte = new ByteTokenizer();
    const json = toHuggingFaceJSON(byte);
    expectSame(byte, hf(json), HARD);
    expect(Array.from(tokenizerFromHuggingFace(json).encode(HARD))).toEqual(Array.from(byte.encode(HARD)));
  });

  it('spells our pattern without \\s, so U+0085 and U+FEFF split as in our tokenizer under any engine', () => {
    const text = 'a\u0085b \ufeffc\u0085 \ufeff d !\u0085 \u0085\u0085x';
    const theirs = hf(toHuggingFaceJSON(ours));
    expectSame(ours, theirs, text);
    // our pieces are still those of the JavaScript pattern we trained with (JavaScript's \s), ...
    const trainedWith = new RegExp(
      "['\u2019](?:[sdmt]|ll|ve|re)(?![\\p{L}\\p{M}])| ?[\\p{L}\\p{M}]+| ?\\p{N}+| ?[^\\s\\p{L}\\p{M}\\p{N}]+" +
        '|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+',
      'gu',
    );
    expect(preTokenize(text)).toEqual(text.match(trainedWith));
    // ... and the package cuts the same pieces (not only the same ids: few merges cross these pieces)
    const ourPieces = preTokenize(text).map((p) => bytesToByteLevel(utf8Encode(p)));
    expect(theirs.pre_tokenizer!.pre_tokenize(text)).toEqual(ourPieces);
  });
});

describe('a GPT-2-format tokenizer.json', () => {
  const withEot = () => `${held.slice(0, 20_000)}<|endoftext|>${HARD}<|endoftext|><|endoftext|>end`;

  it('loads and encodes exactly like @huggingface/tokenizers on real text, special tokens included', () => {
    const json = gpt2Format(ours);
    const mine = tokenizerFromHuggingFace(json);
    const theirs = hf(json);
    expect(mine.vocabSize).toBe(ours.vocabSize + 1);
    expectSame(mine, theirs, held);
    expectSame(mine, theirs, withEot());
    expect(mine.encode('<|endoftext|>')).toEqual(Int32Array.of(ours.vocabSize));
    expect(mine.decode(mine.encode(withEot()))).toBe(withEot());
  });

  it('takes added tokens that model.vocab does not list (as Llama 3 files have them)', () => {
    const json = gpt2Format(ours);
    delete (json.model as { vocab: Record<string, number> }).vocab['<|endoftext|>'];
    const mine = tokenizerFromHuggingFace(json);
    expectSame(mine, hf(json), withEot());
    expect(mine.decode(mine.encode(withEot()))).toBe(withEot());
    expect(Object.keys((toHuggingFaceJSON(mine).model as { vocab: object }).vocab)).not.toContain('<|endoftext|>');
  });

  it('takes ids that no token has (as GPT-4o\'s file has them): they stand for no text, as in Hugging Face', async () => {
    const json = gpt2Format(ours);
    (json.model as { vocab: Record<string, number> }).vocab['<|endoftext|>'] = ours.vocabSize + 5;
    (json.added_tokens as { id: number }[])[0].id = ours.vocabSize + 5;
    const mine = tokenizerFromHuggingFace(json);
    expect(mine.vocabSize).toBe(ours.vocabSize + 6);
    expectSame(mine, hf(json), withEot());
    expect(mine.decode([ours.vocabSize + 2, 100])).toBe(mine.decode([100]));
    expect(toHuggingFaceJSON(tokenizerFromHuggingFace(toHuggingFaceJSON(mine)))).toEqual(toHuggingFaceJSON(mine));
  });

  it('honours add_prefix_space, merges as pairs, ignore_merges, NFC and a Llama-3-style Split pattern', () => {
    const pairs = (gpt2Format(ours).model as { merges: string[] }).merges.map((m) => m.split(' '));
    const variants = [
      gpt2Format(ours, { pre_tokenizer: byteLevel(true) }),
      gpt2Format(ours, { normalizer: { type: 'NFC' } }, { merges: pairs, ignore_merges: true }),
      gpt2Format(ours, { pre_tokenizer: splitThenByteLevel(LLAMA3_PATTERN) }, { ignore_merges: true }),
      // GPT-4o's form: the matches are the pieces, the gaps (here: everything but letters) are dropped
      gpt2Format(ours, { pre_tokenizer: splitThenByteLevel(LLAMA3_PATTERN, 'Removed', true) }),
      gpt2Format(ours, { pre_tokenizer: splitThenByteLevel(' ?\\p{L}+', 'Removed', true) }),
    ];
    const decomposed = 'Cafe\u0301 and cafe\u0301s';
    for (const json of variants) {
      const mine = tokenizerFromHuggingFace(json);
      const theirs = hf(json);
      for (const text of [held.slice(0, 30_000), withEot(), decomposed]) expectSame(mine, theirs, text);
    }
  });

  it('reads \\s as Oniguruma does (U+0085 is space, U+FEFF is not), like the JS package reads a Split pattern', () => {
    const gpt2 = whitespaceProbe(ours, byteLevel());
    const asSplit = whitespaceProbe(ours, splitThenByteLevel(GPT2_PATTERN));
    // The JS package's ByteLevel regex uses JavaScript's \s; its Split patterns (and Rust's Oniguruma) do not.
    const ids = Array.from(tokenizerFromHuggingFace(gpt2).encode(WHITESPACE_PROBE));
    expect(ids).toEqual(hfEncode(hf(asSplit), WHITESPACE_PROBE));
    expect(ids).toContain(259); // ' \ufeff' is one piece: U+FEFF is not space
    expect(ids).not.toContain(256); // '!' and U+0085 are two pieces: U+0085 is space
    expectSame(tokenizerFromHuggingFace(asSplit), hf(asSplit), WHITESPACE_PROBE);
  });

  it('merges exactly like Hugging Face when a merge uses a token that a later merge makes', () => {
    const vocab: Record<string, number> = {};
    for (let b = 0; b < 256; b++) vocab[byteChar(b)] = b;
    Object.assign(vocab, { ab: 256, aba: 257, abab: 258 });
    const json = gpt2Format(ours, {}, { vocab, merges: ['ab a', 'a b', 'ab ab'] });
    json.added_tokens = [];
    expectSame(tokenizerFromHuggingFace(json), hf(json), 'abab ababab abababx aab');
    expect(Array.from(tokenizerFromHuggingFace(json).encode('abab'))).toEqual([257, 98]);
  });
});

describe('load -> save -> load', () => {
  it('is identical: the same file content and the same ids', async () => {
    for (const json of [gpt2Format(ours), toHuggingFaceJSON(ours), toHuggingFaceJSON(new ByteTokenizer())]) {
      const file = join(dir, 'a.json');
      writeFileSync(file, JSON.stringify(json));
      const first = await loadTokenizer(file);
      await saveHuggingFaceTokenizer(join(dir, 'b.json'), first);
      const second = await loadTokenizer(join(dir, 'b.json'));
      expect(toHuggingFaceJSON(second)).toEqual(toHuggingFaceJSON(first));
      const text = HARD + held.slice(0, 5000);
      expect(Array.from(second.encode(text))).toEqual(Array.from(first.encode(text)));
    }
  });
});

describe('unsupported or damaged files', () => {
  const removedSplit = splitThenByteLevel('a');
  (removedSplit.pretokenizers as { behavior: string }[])[0].behavior = 'Removed';
  const cases: [string, (j: Record<string, any>) => void, RegExp][] = [
    ['WordPiece', (j) => (j.model.type = 'WordPiece'), /: model\.type: "WordPiece" is not supported/],
    ['Unigram', (j) => (j.model = { type: 'Unigram', vocab: [] }), /: model\.type: "Unigram" is not supported/],
    ['byte_fallback', (j) => (j.model.byte_fallback = true), /: model\.byte_fallback: true is not supported/],
    ['dropout', (j) => (j.model.dropout = 0.1), /: model\.dropout: 0\.1 is not supported/],
    ['normalizer', (j) => (j.normalizer = { type: 'Lowercase' }), /: normalizer\.type: "Lowercase" is not supported/],
    ['pre-tokenizer', (j) => (j.pre_tokenizer = { type: 'Whitespace' }),
      /: pre_tokenizer\.type: "Whitespace" is not supported/
    ],
    ['decoder', (j) => (j.decoder = { type: 'WordPiece' }), /: decoder\.type: "WordPiece" is not supported/],
    ['post-processor', (j) => (j.post_processor = { type: 'TemplateProcessing' }),
      /: post_processor\.type: "TemplateProcessing" is not supported/
    ],
    ['Split behaviour', (j) => (j.pre_tokenizer = removedSplit),
      /: pre_tokenizer\.pretokenizers\[0\]\.behavior: "Removed" is not supported \(only "Isolated", or "Removed" with invert/
    ],
    ['regex', (j) => (j.pre_tokenizer = splitThenByteLevel('\\w+')),
      /: pre_tokenizer pattern: the escape \\w at offset 0 is not supported/
    ],
    ['lstrip', (j) => (j.added_tokens[0].lstrip = true), /: added_tokens\[0\]\.lstrip: true is not supported/],
    ['missing merge token', (j) => j.model.merges.push('Ġzz q'),
      /: model\.merges\[\d+\]( result)?: "(Ġzz|Ġzzq)" is not in model\.vocab/
    ],
    ['bad merge', (j) => (j.model.merges[3] = 'a b c'), /: model\.merges\[3\]: "a b c" is neither/],
    ['repeated merge', (j) => j.model.merges.push(j.model.merges[7]), /: model\.merges\[\d+\]: repeats model\.merges\[7\]/],
    ['missing byte', (j) => delete j.model.vocab['Ā'], /: model\.vocab: lacks "Ā", the token of byte 0x00/],
    ['truncation', (j) => (j.truncation = { max_length: 5 }), /: truncation: is set/],
  ];

  it.each(cases)('%s: one line naming the file and the field', async (_name, damage, message) => {
    const json = JSON.parse(JSON.stringify(gpt2Format(ours)));
    damage(json);
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(json));
    type Failure = Error & { code: string; exitCode: number };
    const err = await loadTokenizer(file).then(() => null, (e: unknown) => e as Failure);
    expect(err?.code).toBe('E_TOKENIZER');
    expect(err?.exitCode).toBe(2);
    expect(err?.message.startsWith(`${file}: `)).toBe(true);
    expect(err?.message).toMatch(message);
    expect(err?.message).not.toContain('\n');
  });
});
