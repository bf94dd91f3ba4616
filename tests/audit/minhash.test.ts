import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  bandKeys, candidateProbability, estimateJaccard, exactJaccard, forEachBucket, minhashSeeds, minhashSignature, optimalBands, UnionFind,
} from '../../src/audit/minhash.ts';
import { fmix32, normalizeText, Shingler, wordHashes } from '../../src/audit/text-normalize.ts';
import { Rng } from '../../src/util/rng.ts';

/** Two sorted hash sets with `common` shared and `onlyA` / `onlyB` private members. */
function setPair(rng: Rng, common: number, onlyA: number, onlyB: number, structured: boolean): [Uint32Array, Uint32Array] {
  const base = rng.nextU32();
  const draw = new Set<number>();
  const next = (i: number) => (structured ? (base + i) >>> 0 : rng.nextU32());
  let i = 0;
  while (draw.size < common + onlyA + onlyB) draw.add(next(i++));
  const all = [...draw];
  const a = Uint32Array.from(all.slice(0, common + onlyA)).sort();
  const b = Uint32Array.from([...all.slice(0, common), ...all.slice(common + onlyA)]).sort();
  return [a, b];
}

describe('MinHash signatures', () => {
  it('estimate Jaccard within the binomial bound and without bias over many random pairs', () => {
    const k = 128;
    const seeds = minhashSeeds(k, 7);
    const rng = new Rng(2024);
    const z: number[] = [];
    for (let p = 0; p < 400; p++) {
      const common = 1 + rng.int(300);
      const [a, b] = setPair(rng, common, rng.int(300), rng.int(300), p % 2 === 1);
      const j = exactJaccard(a, b);
      const est = estimateJaccard(minhashSignature(a, seeds), minhashSignature(b, seeds));
      const sd = Math.sqrt((j * (1 - j)) / k);
      // 5 standard errors (plus one slot of rounding): a failure here is a broken hash family, not bad luck.
      expect(Math.abs(est - j)).toBeLessThanOrEqual(5 * sd + 1 / k);
      if (sd > 0) z.push((est - j) / sd);
    }
    // Standardised errors: mean ~0 and variance ~1 if the k functions behave as independent min-wise hashes.
    const mean = z.reduce((s, v) => s + v, 0) / z.length;
    const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / (z.length - 1);
    expect(Math.abs(mean)).toBeLessThan(0.2);
    expect(variance).toBeGreaterThan(0.75);
    expect(variance).toBeLessThan(1.3);
  });

  it('gives identical signatures for identical sets and the empty set all-max', () => {
    const seeds = minhashSeeds(64);
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 50 }), (xs) => {
      const a = Uint32Array.from(xs).sort();
      const shuffled = Uint32Array.from([...xs].reverse());
      expect(estimateJaccard(minhashSignature(a, seeds), minhashSignature(shuffled, seeds))).toBe(1);
    }));
    expect([...minhashSignature(new Uint32Array(0), seeds)].every((v) => v === 0xffffffff)).toBe(true);
  });

  it('exact Jaccard matches a Set-based reference', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.nat(60)), fc.uniqueArray(fc.nat(60)), (xs, ys) => {
      const a = Uint32Array.from(xs).sort();
      const b = Uint32Array.from(ys).sort();
      const inter = xs.filter((x) => ys.includes(x)).length;
      const union = new Set([...xs, ...ys]).size;
      expect(exactJaccard(a, b)).toBeCloseTo(union === 0 ? 1 : inter / union, 12);
    }));
  });
});

describe('LSH banding', () => {
  it('chooses the layout datasketch chooses with equal weights, and a recall-leaning one by weight', () => {
    expect(optimalBands(0.8, 128)).toEqual({ bands: 9, rows: 13 });
    const r = optimalBands(0.8, 128, { fp: 0.1, fn: 0.9 });
    expect(r.bands * r.rows).toBeLessThanOrEqual(128);
    expect(candidateProbability(0.8, r.bands, r.rows)).toBeGreaterThan(candidateProbability(0.8, 9, 13));
    expect(candidateProbability(0.3, r.bands, r.rows)).toBeLessThan(0.001);
  });

  it('puts documents with equal band keys into one bucket and leaves inactive ones out', () => {
    const bands = 3;
    const keys = Uint32Array.from([1, 2, 3, /* doc1 */ 1, 9, 9, /* doc2 */ 7, 2, 3, /* doc3 */ 1, 2, 3]);
    const seen: number[][] = [];
    forEachBucket(keys, 4, bands, null, (m, c) => seen.push([...m.subarray(0, c)].sort()));
    expect(seen.map((s) => s.join(',')).sort()).toEqual(['0,1,3', '0,2,3', '0,2,3'].sort());
    const active = Uint8Array.from([1, 1, 1, 0]);
    const seen2: string[] = [];
    forEachBucket(keys, 4, bands, active, (m, c) => seen2.push([...m.subarray(0, c)].sort().join(',')));
    expect(seen2.sort()).toEqual(['0,1', '0,2', '0,2']);
  });

  it('band keys depend on every row of their band only', () => {
    const sig = Uint32Array.from({ length: 12 }, (_, i) => fmix32(i + 1));
    const a = new Uint32Array(3);
    bandKeys(sig, 3, 4, a, 0);
    sig[5] ^= 1;
    const b = new Uint32Array(3);
    bandKeys(sig, 3, 4, b, 0);
    expect([a[0] === b[0], a[1] === b[1], a[2] === b[2]]).toEqual([true, false, true]);
  });
});

describe('union-find', () => {
  it('joins transitively and lists groups largest first', () => {
    const uf = new UnionFind(8);
    uf.union(0, 5);
    uf.union(5, 7);
    uf.union(2, 3);
    expect(uf.union(7, 0)).toBe(false);
    expect(uf.groups()).toEqual([[0, 5, 7], [2, 3]]);
  });

  it('agrees with a naive labelling on random unions', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(29), fc.nat(29)), { maxLength: 40 }), (edges) => {
      const uf = new UnionFind(30);
      const label = Array.from({ length: 30 }, (_, i) => i);
      for (const [a, b] of edges) {
        uf.union(a, b);
        const [from, to] = [label[a], label[b]];
        for (let i = 0; i < 30; i++) if (label[i] === from) label[i] = to;
      }
      const same = (f: (i: number) => number) => Array.from({ length: 900 }, (_, x) => f(Math.floor(x / 30)) === f(x % 30));
      expect(same((i) => uf.find(i))).toEqual(same((i) => label[i]));
    }));
  });
});

describe('normalisation and shingles', () => {
  it('folds case and whitespace, and punctuation on request', () => {
    expect(normalizeText('  Hello,\n\tWORLD! ')).toBe('hello, world!');
    expect(normalizeText("Don't  STOP.", { stripPunctuation: true })).toBe('don t stop');
    expect(normalizeText('Ünïcode\u00a0TEXT')).toBe('ünïcode text');
  });

  it('shingles equal text alike regardless of case and spacing', () => {
    const sh = new Shingler();
    const a = sh.hashes('The quick brown fox jumps').slice();
    expect([...sh.hashes('the   QUICK brown\nfox jumps')]).toEqual([...a]);
    expect(a.length).toBe('the quick brown fox jumps'.length - 4);
    const p = new Shingler({ stripPunctuation: true });
    expect([...p.hashes('the quick, brown fox; jumps!')]).toEqual([...p.hashes('The quick brown fox jumps')]);
    expect([...sh.hashes('the quick, brown fox; jumps!')]).not.toEqual([...a]);
  });

  it('makes one shingle of a short document and none of an empty one', () => {
    const sh = new Shingler({ size: 5 });
    expect(sh.hashes('abc').length).toBe(1);
    expect(sh.hashes('abc')[0]).not.toBe(sh.hashes('abd')[0]);
    expect(sh.hashes('  \n ').length).toBe(0);
    const w = new Shingler({ unit: 'word', size: 3 });
    expect(w.hashes('one two').length).toBe(1);
    expect(w.hashes('one two three four five').length).toBe(3);
    expect(w.hashes('a b c a b c').length).toBe(3); // 'a b c', 'b c a', 'c a b' (the repeat is one member)
  });

  it('hashes words with two independent hashes and grows its buffers', () => {
    const text = Array.from({ length: 1000 }, (_, i) => `w${i % 700}`).join(' ');
    const r = wordHashes(text, new Uint32Array(2), new Uint32Array(2));
    expect(r.count).toBe(1000);
    expect(r.hi[3]).toBe(r.hi[703]);
    expect(r.lo[3]).toBe(r.lo[703]);
    expect(new Set(r.hi.subarray(0, 700)).size).toBe(700);
    expect(r.hi[3]).not.toBe(r.lo[3]);
  });
});
