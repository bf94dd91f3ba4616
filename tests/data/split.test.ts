import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gatherRows, gatherValues, shuffledBatches } from '../../src/data/batches.ts';
import { randomSplit, stratifiedSplit } from '../../src/data/split.ts';
import { SwitchyardError } from '../../src/util/errors.ts';
import { Rng } from '../../src/util/rng.ts';

/** Checks that two index sets are disjoint and together are exactly 0..n-1. */
function expectPartition(a: Int32Array, b: Int32Array, n: number): void {
  const all = [...a, ...b].sort((p, q) => p - q);
  expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
}

describe('stratifiedSplit', () => {
  it('keeps class proportions', () => {
    const counts = [600, 300, 100];
    const labels = counts.flatMap((c, k) => Array<number>(c).fill(k));
    new Rng(1).shuffle(labels);
    const { train, valid } = stratifiedSplit(labels, 0.2, new Rng(7));
    expectPartition(train, valid, 1000);
    const per = (idx: Int32Array) => [0, 1, 2].map((k) => [...idx].filter((i) => labels[i] === k).length);
    expect(per(valid)).toEqual([120, 60, 20]);
    expect(per(train)).toEqual([480, 240, 80]);
    expect([...valid]).toEqual([...valid].sort((a, b) => a - b));
  });

  it('gives every class with >= 2 rows a validation row, and keeps singletons in training', () => {
    const labels = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2];
    const { train, valid } = stratifiedSplit(labels, 0.1, new Rng(3));
    const validClasses = [...valid].map((i) => labels[i]).sort();
    expect(validClasses).toEqual([0, 1]);
    expect([...train].map((i) => labels[i]).filter((k) => k === 2)).toEqual([2]);
    expect([...train].map((i) => labels[i]).filter((k) => k === 1)).toEqual([1]);
  });

  it('is a partition for any labels and fraction, deterministic per seed (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 200 }), fc.double({ min: 0, max: 0.9, noNaN: true }), fc.nat(), (labels, f, seed) => {
        const s = stratifiedSplit(labels, f, new Rng(seed));
        expectPartition(s.train, s.valid, labels.length);
        expect(stratifiedSplit(labels, f, new Rng(seed))).toEqual(s);
        for (const k of new Set(labels)) {
          const n = labels.filter((l) => l === k).length;
          const v = [...s.valid].filter((i) => labels[i] === k).length;
          if (n >= 2 && f > 0) expect(v).toBeGreaterThanOrEqual(1);
          expect(v).toBeLessThan(Math.max(n, 1));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('rejects bad fractions and labels', () => {
    expect(() => stratifiedSplit([0, 1], 1, new Rng(0))).toThrow(SwitchyardError);
    expect(() => stratifiedSplit([0, 1], -0.1, new Rng(0))).toThrow(/validation fraction/);
    expect(() => stratifiedSplit([0, 0.5], 0.2, new Rng(0))).toThrow(/needs class indices/);
  });
});

describe('randomSplit', () => {
  it('splits n rows by the fraction', () => {
    const { train, valid } = randomSplit(1000, 0.25, new Rng(5));
    expect([train.length, valid.length]).toEqual([750, 250]);
    expectPartition(train, valid, 1000);
    expect(randomSplit(1000, 0.25, new Rng(5)).valid).toEqual(valid);
    expect(randomSplit(1000, 0.25, new Rng(6)).valid).not.toEqual(valid);
  });

  it('keeps at least one row on each side', () => {
    expect(randomSplit(3, 0.01, new Rng(0)).valid.length).toBe(1);
    expect(randomSplit(3, 0.99, new Rng(0)).train.length).toBe(1);
    expect(randomSplit(1, 0.5, new Rng(0)).valid.length).toBe(0);
    expect(randomSplit(10, 0, new Rng(0)).valid.length).toBe(0);
  });
});

describe('shuffledBatches', () => {
  it('covers every row exactly once per epoch, in a different order each epoch', () => {
    const rng = new Rng(11);
    const epochs = [0, 1, 2].map(() => [...shuffledBatches(103, 10, rng)]);
    for (const batches of epochs) {
      expect(batches.map((b) => b.length)).toEqual([...Array<number>(10).fill(10), 3]);
      expect(batches.flatMap((b) => [...b]).sort((a, b) => a - b)).toEqual(Array.from({ length: 103 }, (_, i) => i));
    }
    expect(epochs[0][0]).not.toEqual(epochs[1][0]);
  });

  it('drops the short last batch when asked, and walks a row subset', () => {
    const batches = [...shuffledBatches(103, 10, new Rng(1), true)];
    expect(batches.length).toBe(10);
    expect(new Set(batches.flatMap((b) => [...b])).size).toBe(100);
    expect([...shuffledBatches(5, 10, new Rng(1), true)]).toEqual([]);
    const subset = Int32Array.of(4, 8, 15, 16, 23, 42);
    const seen = [...shuffledBatches(subset, 4, new Rng(2))].flatMap((b) => [...b]).sort((a, b) => a - b);
    expect(seen).toEqual([...subset]);
  });

  it('is deterministic per seed and validates the batch size', () => {
    expect([...shuffledBatches(50, 8, new Rng(9))]).toEqual([...shuffledBatches(50, 8, new Rng(9))]);
    expect(() => [...shuffledBatches(10, 0, new Rng(0))]).toThrow(/batch size/);
  });
});

describe('gatherRows / gatherValues', () => {
  it('copies the selected rows', () => {
    const x = Float32Array.from({ length: 12 }, (_, i) => i); // 4 rows × 3 features
    expect(Array.from(gatherRows(x, 3, Int32Array.of(3, 0, 3)))).toEqual([9, 10, 11, 0, 1, 2, 9, 10, 11]);
    expect(Array.from(gatherRows(x, 1, [5, 1]))).toEqual([5, 1]);
    const out = new Float32Array(6);
    expect(gatherRows(x, 3, [1, 2], out)).toBe(out);
    expect(() => gatherRows(x, 3, [4])).toThrow(/out of range/);
    const y = Int32Array.of(7, 8, 9);
    const yb = gatherValues(y, [2, 0]);
    expect(yb).toBeInstanceOf(Int32Array);
    expect(Array.from(yb)).toEqual([9, 7]);
    expect(gatherValues(Float32Array.of(0.5, 1.5), [1])).toEqual(Float32Array.of(1.5));
  });
});
