import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { trainBpe } from '../../../src/data/text/bpe.ts';
import type { TextCorpus } from '../../../src/data/text/corpus.ts';
import { bitsPerByte, lmBatch, randomStarts, sequentialWindows, tokenizeCorpus } from '../../../src/data/text/lm-batches.ts';
import { ByteTokenizer } from '../../../src/data/text/tokenizer.ts';
import { SwitchyardError } from '../../../src/util/errors.ts';
import { Rng } from '../../../src/util/rng.ts';

const corpus: TextCorpus = {
  documents: [
    { path: 'a', text: 'One é.' },
    { path: 'empty', text: '' },
    { path: 'b', text: 'Two 😀' },
  ],
  bytes: 0,
};
corpus.bytes = corpus.documents.reduce((n, d) => n + Buffer.byteLength(d.text), 0);

describe('tokenizeCorpus', () => {
  it('joins documents with a blank line between them (byte tokenizer), skipping empty documents', () => {
    const tok = new ByteTokenizer();
    const ids = tokenizeCorpus(corpus, tok);
    expect(tok.decode(ids)).toBe('One é.\n\nTwo 😀');
    expect(ids.length).toBe(corpus.bytes + 2);
    const progress: number[] = [];
    const custom = tokenizeCorpus(corpus, tok, { separator: '|', onProgress: (d) => progress.push(d) });
    expect(tok.decode(custom)).toBe('One é.|Two 😀');
    expect(progress).toEqual([1, 2, 3]);
  });

  it('encodes documents separately with BPE, so no token spans two documents', () => {
    const tok = trainBpe(['One é.\n\nTwo 😀\n\nOne é.\n\nTwo 😀'], 300, { minFrequency: 1 });
    const ids = tokenizeCorpus(corpus, tok);
    expect(tok.decode(ids)).toBe('One é.\n\nTwo 😀');
    expect([...ids]).toEqual([...tok.encode('One é.'), ...tok.encode('\n\n'), ...tok.encode('Two 😀')]);
  });
});

describe('lmBatch', () => {
  it('gathers windows as int64 with y = x shifted by one', () => {
    const tokens = Int32Array.from({ length: 20 }, (_, i) => 100 + i);
    const { x, y, batch, context } = lmBatch(tokens, Int32Array.of(0, 7, 15), 4);
    expect([batch, context]).toEqual([3, 4]);
    expect(x).toBeInstanceOf(BigInt64Array);
    expect([...x].map(Number)).toEqual([100, 101, 102, 103, 107, 108, 109, 110, 115, 116, 117, 118]);
    expect([...y].map(Number)).toEqual([101, 102, 103, 104, 108, 109, 110, 111, 116, 117, 118, 119]);
  });

  it('satisfies y[b, t] = x[b, t + 1] and matches the stream for random windows (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 300 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 8 }), fc.nat(), (n, context, batch, seed) => {
        fc.pre(n >= context + 1);
        const rng = new Rng(seed);
        const tokens = Int32Array.from({ length: n }, () => rng.int(70000));
        const starts = randomStarts(n, context, batch, rng);
        const { x, y } = lmBatch(tokens, starts, context);
        for (let b = 0; b < batch; b++) {
          expect(starts[b] + context + 1).toBeLessThanOrEqual(n);
          for (let t = 0; t < context; t++) {
            expect(x[b * context + t]).toBe(BigInt(tokens[starts[b] + t]));
            expect(y[b * context + t]).toBe(BigInt(tokens[starts[b] + t + 1]));
            if (t + 1 < context) expect(y[b * context + t]).toBe(x[b * context + t + 1]);
          }
        }
      }),
    );
  });

  it('rejects windows that do not fit', () => {
    const tokens = new Int32Array(10);
    expect(() => lmBatch(tokens, [6], 4)).toThrow(SwitchyardError);
    expect(() => lmBatch(tokens, [-1], 4)).toThrow(/outside/);
    expect(lmBatch(tokens, [5], 4).x.length).toBe(4);
    expect(() => randomStarts(4, 4, 2, new Rng(0))).toThrow(/needs 5/);
  });
});

describe('randomStarts', () => {
  it('draws every valid start, uniformly enough, deterministically per seed', () => {
    const starts = randomStarts(13, 4, 9000, new Rng(5)); // valid starts 0..8
    const hist = new Array(9).fill(0);
    for (const s of starts) hist[s]++;
    expect(hist.every((c) => c > 800 && c < 1200)).toBe(true);
    expect([...randomStarts(13, 4, 50, new Rng(5))]).toEqual([...starts.subarray(0, 50)]);
  });
});

describe('sequentialWindows', () => {
  it('covers every target once with non-overlapping windows and drops a final partial window (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 500 }), fc.integer({ min: 1, max: 40 }), (n, context) => {
        fc.pre(n >= context + 1);
        const starts = sequentialWindows(n, context);
        const hit = new Uint8Array(n);
        for (const s of starts) {
          expect(s + context + 1).toBeLessThanOrEqual(n);
          for (let t = 1; t <= context; t++) hit[s + t]++;
        }
        const covered = starts.length * context;
        expect(Math.max(...hit)).toBe(1);
        expect(hit.subarray(1, covered + 1).every((h) => h === 1)).toBe(true);
        expect(n - 1 - covered).toBeLessThan(context); // what is left cannot fill another window
      }),
    );
    expect([...sequentialWindows(10, 3)]).toEqual([0, 3, 6]);
    expect([...sequentialWindows(9, 3)]).toEqual([0, 3]);
    expect([...sequentialWindows(10, 3, 2)]).toEqual([0, 2, 4, 6]);
  });
});

describe('bitsPerByte', () => {
  it('is meanLoss × tokens / (bytes × ln 2)', () => {
    expect(bitsPerByte(Math.LN2, 100, 100)).toBeCloseTo(1, 12);
    expect(bitsPerByte(3, 250, 1000)).toBeCloseTo((3 * 250) / (1000 * Math.log(2)), 12);
    expect(bitsPerByte(0, 10, 10)).toBe(0);
    expect(() => bitsPerByte(1, 1, 0)).toThrow(SwitchyardError);
  });
});
