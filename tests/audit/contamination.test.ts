import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { findContamination, measureContamination, NgramSet } from '../../src/audit/contamination.ts';
import { Rng } from '../../src/util/rng.ts';
import { expectCode } from '../expect-error.ts';

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'to', 'vi', 'ze', 'po', 'da', 'fe', 'gu', 'hi', 'jo', 'we'];

/** `count` random pseudo-words (about 4,000 distinct) from a seeded generator. */
function words(rng: Rng, count: number): string[] {
  return Array.from({ length: count }, () => SYLLABLES[rng.int(16)] + SYLLABLES[rng.int(16)] + SYLLABLES[rng.int(16)]);
}

/** Upper-cases every third word and sprinkles punctuation: what normalisation must undo. */
function disguise(ws: string[]): string {
  return ws.map((w, i) => (i % 3 === 0 ? w.toUpperCase() : w) + (i % 5 === 4 ? ',' : i % 7 === 6 ? '."' : '')).join(i2s(ws.length));
}
function i2s(n: number): string {
  return n % 2 === 0 ? ' ' : ' \n ';
}

describe('n-gram contamination', () => {
  const rng = new Rng(13);
  const train = Array.from({ length: 300 }, () => words(rng, 100 + rng.int(100)));
  const trainText = train.map((w) => w.join(' '));

  it('flags planted copied passages with the exact overlap ratio, through case and punctuation changes', () => {
    const cases: { before: number; copied: number; after: number }[] = [];
    for (const copied of [13, 20, 40]) for (const before of [0, 10, 25]) for (const after of [0, 7]) cases.push({ before, copied, after });
    const evalDocs: string[] = [];
    const expected: number[] = [];
    cases.forEach((c, i) => {
      const src = train[i * 7];
      const start = rng.int(src.length - c.copied);
      const ws = [...words(rng, c.before), ...src.slice(start, start + c.copied), ...words(rng, c.after)];
      evalDocs.push(i % 2 === 0 ? disguise(ws) : ws.join(' '));
      expected.push((c.copied - 13 + 1) / (ws.length - 13 + 1));
    });
    const clean = Array.from({ length: 40 }, () => words(rng, 20 + rng.int(60)).join(' '));
    const r = measureContamination(trainText, [...evalDocs, ...clean]);
    expect(r.n).toBe(13);
    expect(r.contaminated).toBe(cases.length);
    expected.forEach((ratio, i) => {
      expect(r.perExample[i]).toMatchObject({ row: i, contaminated: true, checked: true });
      expect(r.perExample[i].overlapRatio).toBeCloseTo(ratio, 12);
    });
    for (const e of r.perExample.slice(cases.length)) expect(e).toMatchObject({ contaminated: false, overlapRatio: 0, checked: true });
    expect(r.trainNgrams).toBe(train.reduce((a, w) => a + w.length - 12, 0)); // all distinct: random words
  });

  it('stays quiet on a clean evaluation set', () => {
    const clean = Array.from({ length: 200 }, () => words(rng, 15 + rng.int(80)).join(' '));
    const r = measureContamination(trainText, clean);
    expect(r.contaminated).toBe(0);
    expect(r.perExample.every((e) => e.overlapRatio === 0)).toBe(true);
    expect(findContamination(trainText, clean)).toEqual([]);
  });

  it('checks examples shorter than n whole, and leaves very short ones unchecked', () => {
    const src = train[3];
    const evalDocs = [
      src.slice(10, 20).join(' ').toUpperCase(), // 10 words found verbatim in training: contaminated
      words(rng, 10).join(' '), // 10 fresh words: clean
      src.slice(0, 12).join(', '), // 12 words at a document start
      src.slice(30, 35).join(' '), // 5 words: below minN = 8, not checked
      '', // empty: not checked
      `${src[src.length - 2]} ${src[src.length - 1]} ${train[4].slice(0, 7).join(' ')}`, // spans two documents: clean
    ];
    const r = measureContamination(trainText, evalDocs);
    expect(r.perExample.map((e) => [e.contaminated, e.overlapRatio, e.ngrams, e.checked])).toEqual([
      [true, 1, 1, true],
      [false, 0, 1, true],
      [true, 1, 1, true],
      [false, 0, 0, false],
      [false, 0, 0, false],
      [false, 0, 1, true],
    ]);
    expect(r.unchecked).toBe(2);
    // With minN = 5 the 5-word example is checked (and found).
    expect(measureContamination(trainText, evalDocs, { minN: 5 }).perExample[3]).toMatchObject({ contaminated: true, checked: true });
  });

  it('honours n and minOverlap', () => {
    const src = train[9];
    const doc = [...words(rng, 30), ...src.slice(5, 25), ...words(rng, 30)].join(' '); // 20 copied of 80 words
    expect(measureContamination(trainText, [doc]).perExample[0].overlapRatio).toBeCloseTo(8 / 68, 12);
    expect(measureContamination(trainText, [doc], { n: 8 }).perExample[0].overlapRatio).toBeCloseTo(13 / 73, 12);
    expect(measureContamination(trainText, [doc], { minOverlap: 0.2 }).perExample[0].contaminated).toBe(false);
    expectCode(() => measureContamination(trainText, [doc], { n: 0 }), 'E_CONTAM_OPTION', /n-gram length 0/);
    expectCode(() => measureContamination(trainText, [doc], { minOverlap: 1 }), 'E_CONTAM_OPTION', /minOverlap 1/);
  });

  it('handles empty inputs and reports progress', () => {
    expect(measureContamination([], ['one two three four five six seven eight nine ten eleven twelve thirteen']).contaminated).toBe(0);
    expect(measureContamination(trainText, []).perExample).toEqual([]);
    const calls: number[] = [];
    measureContamination(Array.from({ length: 1500 }, () => 'x'), [], { onProgress: (d) => calls.push(d) });
    expect(calls).toEqual([1024, 1500]);
  });

  it('reports contamination.ngram with the most overlapping examples first', () => {
    const heavy = train[0].slice(0, 60).join(' ');
    const light = [...words(rng, 50), ...train[1].slice(0, 14)].join(' ');
    const evalDocs = [...Array.from({ length: 30 }, () => words(rng, 40).join(' ')), light, heavy];
    const [f] = findContamination(trainText, evalDocs, { column: 'question' });
    expect(f.check).toBe('contamination.ngram');
    expect(f.split).toBe('test');
    expect(f.column).toBe('question');
    expect(f.severity).toBe('error'); // 2 of 32
    expect(f.score).toBeCloseTo(2 / 32, 12);
    expect(f.evidence.rows).toEqual([31, 30]);
    expect(f.message).toMatch(/^2 of 32 evaluation examples \(6\.3%\) share a 13-gram with the training corpus/);
    const d = f.details as { examples: { row: number; overlapRatio: number }[]; checked: number };
    expect(d.examples[0]).toEqual({ row: 31, overlapRatio: 1 });
    expect(d.examples[1].overlapRatio).toBeCloseTo(2 / 52, 12);
    expect(d.checked).toBe(32);
    const few = [...Array.from({ length: 150 }, () => words(rng, 40).join(' ')), heavy];
    expect(findContamination(trainText, few)[0].severity).toBe('warn'); // 1 of 151 < 1%
  });
});

describe('NgramSet', () => {
  it('agrees with a Set of 64-bit keys through growth, including the key (0, 0)', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 0xffffffff })), { maxLength: 300 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 0xffffffff })), { maxLength: 50 }),
      (adds, probes) => {
        const set = new NgramSet(4);
        const ref = new Set<string>();
        for (const [h, l] of adds) {
          expect(set.add(h, l)).toBe(!ref.has(`${h}:${l === 0 && h === 0 ? 1 : l}`));
          ref.add(`${h}:${l === 0 && h === 0 ? 1 : l}`);
        }
        expect(set.size).toBe(ref.size);
        for (const [h, l] of [...adds, ...probes]) expect(set.has(h, l)).toBe(ref.has(`${h}:${l === 0 && h === 0 ? 1 : l}`));
      },
    ));
  });

  it('holds a million keys in a few bytes each', () => {
    const set = new NgramSet();
    const rng = new Rng(1);
    for (let i = 0; i < 1_000_000; i++) set.add(rng.nextU32(), rng.nextU32());
    expect(set.size).toBe(1_000_000);
    expect(set.bytes / set.size).toBeLessThanOrEqual(17);
  });
});
