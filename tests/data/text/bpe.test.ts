import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BpeTokenizer, countPieces, trainBpe } from '../../../src/data/text/bpe.ts';
import { loadTextCorpus, sotuPath } from '../../../src/data/text/corpus.ts';
import { preTokenize } from '../../../src/data/text/pretokenize.ts';
import { unicodeText } from './arbitraries.ts';

/** Textbook BPE: recount every pair over all pieces before each merge. The reference for trainBpe. */
function naiveBpe(texts: string[], vocabSize: number, minFrequency: number): [number, number][] {
  const words = [...countPieces(texts)].map(([p, f]) => ({ s: [...Buffer.from(p, 'utf8')], f }));
  const merges: [number, number][] = [];
  while (256 + merges.length < vocabSize) {
    const counts = new Map<string, number>();
    for (const w of words) for (let i = 0; i + 1 < w.s.length; i++) counts.set(`${w.s[i]},${w.s[i + 1]}`, (counts.get(`${w.s[i]},${w.s[i + 1]}`) ?? 0) + w.f);
    let best: [number, number] | null = null;
    let bestC = 0;
    for (const [k, c] of counts) {
      const [a, b] = k.split(',').map(Number) as [number, number];
      if (c > bestC || (c === bestC && best && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestC = c;
      }
    }
    if (!best || bestC < minFrequency) break;
    const id = 256 + merges.length;
    merges.push(best);
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.s.length; ) {
        if (i + 1 < w.s.length && w.s[i] === best[0] && w.s[i + 1] === best[1]) {
          out.push(id);
          i += 2;
        } else out.push(w.s[i++]);
      }
      w.s = out;
    }
  }
  return merges;
}

const small = [
  'The nation is strong. The people are free, and the nation endures.',
  "We've said it before: it's the economy, and the economy's growth is 3.5% in 2024!",
  'Ünïcödé wörds, 日本語のテキスト, emoji 😀😀🎉 and    extra   spaces\n\nNew paragraph.',
];

describe('preTokenize', () => {
  it('splits words with their leading space, numbers, punctuation and whitespace, covering the text', () => {
    expect(preTokenize("Hello, world! It's 2024.")).toEqual(['Hello', ',', ' world', '!', ' It', "'s", ' 2024', '.']);
    expect(preTokenize('a   b\n\nc  ')).toEqual(['a', '  ', ' b', '\n\n', 'c', '  ']);
    fc.assert(
      fc.property(unicodeText(60), (s) => {
        expect(preTokenize(s).join('')).toBe(s);
      }),
    );
    const long = '-'.repeat(1000) + '😀'.repeat(300);
    const pieces = preTokenize(long);
    expect(pieces.join('')).toBe(long);
    // cut at 256 code points (not UTF-16 units, so that a Split pattern can say the same), never inside a pair
    expect(pieces.every((p) => [...p].length <= 256 && !/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(p))).toBe(true);
    expect(pieces.map((p) => [...p].length)).toEqual([256, 256, 256, 256, 256, 20]); // one symbol run of 1300
  });
});

describe('trainBpe', () => {
  it('learns merges in frequency order with ties broken by the lowest pair ids', () => {
    // pieces: 'ab' ×1, ' ab' ×2, ' cd' ×1 -> (a,b)=3 first, then (' ',ab)=2, then the tie (' ',c)=(c,d)=1
    const tok = trainBpe(['ab ab ab cd'], 259, { minFrequency: 1 });
    expect(tok.merges).toEqual([[97, 98], [32, 256], [32, 99]]);
    expect([...tok.encode(' ab cd')]).toEqual([257, 258, 100]);
    expect(tok.vocabSize).toBe(259);
  });

  it('stops at minFrequency and reports progress', () => {
    const seen: [number, number][] = [];
    const tok = trainBpe(['ab ab ab cd'], 300, { onProgress: (m, t) => seen.push([m, t]) });
    expect(tok.merges).toEqual([[97, 98], [32, 256]]); // the default minFrequency 2 stops there
    expect(seen).toEqual([[1, 44], [2, 44]]);
    expect(() => trainBpe(['x'], 100)).toThrow(/vocabSize/);
  });

  it('matches a full-recount reference implementation exactly (property)', () => {
    const words = fc.constantFrom('the', ' the', ' cat', 'aaa', ' aaaa', 'ab', ' ba', '😀', ' 日本', '!!', '  ', '\n', ' 12', "'s");
    fc.assert(
      fc.property(fc.array(fc.array(words, { maxLength: 30 }).map((w) => w.join('')), { minLength: 1, maxLength: 4 }), fc.integer({ min: 256, max: 340 }), fc.integer({ min: 1, max: 3 }), (texts, vocab, minFrequency) => {
        expect(trainBpe(texts, vocab, { minFrequency }).merges).toEqual(naiveBpe(texts, vocab, minFrequency));
      }),
      { numRuns: 60 },
    );
  });

  it('honours the vocabulary size and never merges across pieces', () => {
    const tok = trainBpe(Array(20).fill(small.join('\n')), 400, { minFrequency: 1 });
    expect(tok.vocabSize).toBeLessThanOrEqual(400);
    expect(tok.vocabSize).toBeGreaterThan(350);
    for (let id = 256; id < tok.vocabSize; id++) {
      const bytes = Buffer.from(tok.tokenBytes(id));
      const text = bytes.toString('utf8');
      // a complete-character token is (part of) one piece: it never has a space after a non-space
      if (Buffer.from(text, 'utf8').equals(bytes)) expect(text).not.toMatch(/\S /);
    }
    const ids = tok.encode(small.join('\n'));
    expect(ids.length).toBeLessThan(Buffer.byteLength(small.join('\n')) / 2);
    expect(tok.decode(ids)).toBe(small.join('\n'));
  });

  it('round trips random unicode strings exactly, also after a JSON round trip (property)', () => {
    const tok = trainBpe(small, 512, { minFrequency: 1 });
    const again = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(tok)));
    fc.assert(
      fc.property(unicodeText(80), (s) => {
        const ids = tok.encode(s);
        expect(ids.every((v) => v >= 0 && v < tok.vocabSize)).toBe(true);
        expect(tok.decode(ids)).toBe(s);
        expect([...again.encode(s)]).toEqual([...ids]);
      }),
      { numRuns: 300 },
    );
    for (const s of ['', '\uFEFF', '👨‍👩‍👧‍👦 family', '中文字符测试', 'x'.repeat(2000), ' '.repeat(700)]) expect(tok.decode(tok.encode(s))).toBe(s);
  });

  it('compresses State of the Union text to well under one token per byte at vocabulary 1024', async () => {
    const corpus = await loadTextCorpus([sotuPath()!]);
    const docs = corpus.documents.map((d) => d.text);
    const train = docs.filter((_, i) => i % 10 === 0); // ~23 speeches spread over 220 years
    const test = docs.filter((_, i) => i % 10 === 5);
    const tok = trainBpe(train, 1024);
    expect(tok.vocabSize).toBe(1024);
    const text = test.join('\n\n');
    const ids = tok.encode(text);
    const ratio = ids.length / Buffer.byteLength(text);
    expect(ratio).toBeLessThan(0.4); // measured 0.33 (≈3 bytes per token)
    expect(tok.decode(ids)).toBe(text);
    // frequent words become single tokens
    expect(tok.encode(' the').length).toBe(1);
    expect(tok.encode(' government').length).toBeLessThanOrEqual(2);
  });
});
