/**
 * Every epoch draws a fresh shuffle (and the same one again for the same seed and epoch, so --resume repeats
 * its batches). Checked on the batching itself and through fit(): with a learning rate too small to move the
 * weights, an epoch that trains on a subset of the rows has a loss that depends only on which rows were drawn.
 */
import { describe, expect, it } from 'vitest';
import { epochBatches } from '../../src/data/batches.ts';
import { fit } from '../../src/train/fit.ts';
import { Rng } from '../../src/util/rng.ts';

const order = (batches: Int32Array[]) => batches.flatMap((b) => [...b]).join(',');

describe('shuffling per epoch', () => {
  it('each epoch is a permutation of every row, different from the other epochs, repeatable per (seed, epoch)', () => {
    const orders = new Set<string>();
    for (let e = 1; e <= 8; e++) {
      const b = epochBatches(50, 8, 3, e);
      expect(b.map((x) => x.length)).toEqual([8, 8, 8, 8, 8, 8, 2]);
      expect(b.flatMap((x) => [...x]).sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      orders.add(order(b));
      expect(order(epochBatches(50, 8, 3, e))).toBe(order(b));
    }
    expect(orders.size).toBe(8);
    expect(order(epochBatches(50, 8, 4, 1))).not.toBe(order(epochBatches(50, 8, 3, 1)));
    // Over 400 epochs each row leads an epoch about 400/50 = 8 times: none is stuck in front or never there.
    const lead = new Array(50).fill(0);
    for (let e = 1; e <= 400; e++) lead[epochBatches(50, 50, 9, e)[0][0]]++;
    expect(Math.max(...lead)).toBeLessThan(22);
    expect(lead.filter((c) => c === 0).length).toBeLessThan(5);
    // dropLast keeps only whole batches, from a different subset of rows each epoch.
    const kept = new Set([1, 2, 3].map((e) => epochBatches(10, 4, 0, e, true).flatMap((x) => [...x]).sort((p, q) => p - q).join(',')));
    expect(kept.size).toBeGreaterThan(1);
  });

  it('fit() trains each epoch on a fresh shuffle: frozen weights, different row subsets, different epoch losses', async () => {
    const rng = new Rng(1);
    const n = 10;
    const x = Float32Array.from({ length: n * 2 }, () => rng.normal() * 3);
    const y = Int32Array.from({ length: n }, (_, i) => i % 2);
    // accumulate 2 over batches of 4: 8 of the 10 rows per epoch; lr 1e-12 leaves the weights as initialised.
    const m = await fit({ x, y, features: 2, classes: 2, hidden: [4], epochs: 6, batchSize: 4, accumulate: 2, lr: 1e-12, weightDecay: 0, optimizer: 'sgd', momentum: 0, seed: 2, threads: 1 });
    try {
      const distinct = new Set(m.history.map((l) => l.toFixed(6)));
      expect(distinct.size).toBeGreaterThan(2);
    } finally {
      await m.release();
    }
  });
});
