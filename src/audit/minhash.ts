/**
 * MinHash signatures, LSH banding and union-find: the machinery behind near-duplicate text search.
 *
 * A document is a set of 32-bit shingle hashes (see `text-normalize.ts`). Each of `k` hash functions is a
 * bijection of the 32-bit space (the shingle hash xor a per-function seed, then MurmurHash3's finaliser); the
 * signature keeps each function's minimum, and two signatures agree in a slot with probability equal to the
 * sets' Jaccard similarity. LSH cuts the signature into `bands` bands of `rows` slots; documents sharing a
 * whole band become candidates, which callers verify with the exact Jaccard of the shingle sets.
 */
import { Rng } from '../util/rng.ts';
import { fmix32, murmurStep } from './text-normalize.ts';

/**
 * The per-function seeds of `k` MinHash functions, drawn from a seeded generator.
 *
 * @example
 * const seeds = minhashSeeds(128, 1); // Uint32Array(128)
 */
export function minhashSeeds(k: number, seed = 1): Uint32Array {
  const rng = new Rng(seed);
  const s = new Uint32Array(k);
  for (let i = 0; i < k; i++) s[i] = rng.nextU32();
  return s;
}

/**
 * Writes the MinHash signature of a set of shingle hashes into `out` (length = number of seeds; allocated
 * when absent). An empty set gives all slots `0xffffffff`.
 *
 * @example
 * const seeds = minhashSeeds(128);
 * const sig = minhashSignature(new Shingler().hashes('some text here'), seeds);
 */
export function minhashSignature(hashes: ArrayLike<number>, seeds: Uint32Array, out = new Uint32Array(seeds.length)): Uint32Array {
  const k = seeds.length;
  out.fill(0xffffffff);
  for (let j = 0; j < hashes.length; j++) {
    const x = hashes[j];
    for (let i = 0; i < k; i++) {
      const h = fmix32(x ^ seeds[i]);
      if (h < out[i]) out[i] = h;
    }
  }
  return out;
}

/**
 * The MinHash estimate of Jaccard similarity: the share of slots in which two signatures agree. Its standard
 * error is `sqrt(J (1 - J) / k)` for `k` slots.
 *
 * @example
 * estimateJaccard(sigA, sigB); // ~0.8 for sets with Jaccard 0.8
 */
export function estimateJaccard(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return a.length === 0 ? 0 : same / a.length;
}

/**
 * Exact Jaccard similarity `|A ∩ B| / |A ∪ B|` of two sorted, de-duplicated hash sets (two empty sets: 1).
 *
 * @example
 * exactJaccard(Uint32Array.of(1, 2, 3), Uint32Array.of(2, 3, 4)); // 0.5
 */
export function exactJaccard(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      inter++;
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  const union = a.length + b.length - inter;
  return union === 0 ? 1 : inter / union;
}

/**
 * Probability that two documents of Jaccard similarity `s` share at least one of `bands` bands of `rows` rows.
 *
 * @example
 * candidateProbability(0.9, 9, 13); // ~0.94
 */
export function candidateProbability(s: number, bands: number, rows: number): number {
  return 1 - Math.pow(1 - Math.pow(s, rows), bands);
}

function integrate(f: (x: number) => number, a: number, b: number, intervals = 64): number {
  if (b <= a) return 0;
  const h = (b - a) / intervals;
  let sum = f(a) + f(b);
  for (let i = 1; i < intervals; i++) sum += f(a + i * h) * (i % 2 === 1 ? 4 : 2);
  return (sum * h) / 3;
}

/**
 * The LSH band layout for a Jaccard threshold, as datasketch chooses it: over all `bands x rows <= k`, the one
 * minimising `fpWeight * FP + fnWeight * FN`, where FP is the area under the candidate-probability curve below
 * the threshold and FN the area above the curve beyond it.
 *
 * @example
 * optimalBands(0.8, 128); // { bands: 9, rows: 13 }
 */
export function optimalBands(threshold: number, k: number, weights: { fp: number; fn: number } = { fp: 0.5, fn: 0.5 }): { bands: number; rows: number } {
  let best = { bands: 1, rows: k };
  let bestError = Infinity;
  for (let b = 1; b <= k; b++) {
    for (let r = 1; r <= Math.floor(k / b); r++) {
      const fp = integrate((s) => candidateProbability(s, b, r), 0, threshold);
      const fn = integrate((s) => 1 - candidateProbability(s, b, r), threshold, 1);
      const error = weights.fp * fp + weights.fn * fn;
      if (error < bestError) {
        bestError = error;
        best = { bands: b, rows: r };
      }
    }
  }
  return best;
}

/**
 * Writes one 32-bit key per band of a signature into `out` at `offset` (band `i` of rows `i*rows ..`).
 *
 * @example
 * const keys = new Uint32Array(9);
 * bandKeys(sig, 9, 13, keys, 0);
 */
export function bandKeys(sig: Uint32Array, bands: number, rows: number, out: Uint32Array, offset: number): void {
  for (let b = 0; b < bands; b++) {
    let h = b * 0x9e3779b1;
    for (let r = 0; r < rows; r++) h = murmurStep(h, sig[b * rows + r]);
    out[offset + b] = fmix32(h ^ rows);
  }
}

/**
 * Calls `visit(members, count)` for every LSH bucket holding two or more documents: each band's keys are
 * packed with the document index into one float64 (key bits above, index bits below), sorted natively, and
 * runs of equal key are buckets. `keys` holds `bands` keys per document (`keys[doc * bands + band]`);
 * documents with `active[doc] === 0` are left out. `members` is a reused buffer.
 *
 * @example
 * forEachBucket(keys, n, 9, null, (members, count) => { ... });
 */
export function forEachBucket(
  keys: Uint32Array,
  n: number,
  bands: number,
  active: Uint8Array | null,
  visit: (members: Int32Array, count: number) => void,
): void {
  const idxBits = Math.max(1, Math.ceil(Math.log2(n + 1)));
  const keyBits = Math.min(32, 53 - idxBits);
  const keyDiv = 2 ** (32 - keyBits);
  const idxScale = 2 ** idxBits;
  const packed = new Float64Array(n);
  let members = new Int32Array(64);
  for (let b = 0; b < bands; b++) {
    let m = 0;
    for (let d = 0; d < n; d++) {
      if (active && active[d] === 0) continue;
      packed[m++] = Math.floor(keys[d * bands + b] / keyDiv) * idxScale + d;
    }
    const view = packed.subarray(0, m);
    view.sort();
    let start = 0;
    while (start < m) {
      const key = Math.floor(view[start] / idxScale);
      let end = start + 1;
      while (end < m && Math.floor(view[end] / idxScale) === key) end++;
      const count = end - start;
      if (count > 1) {
        if (members.length < count) members = new Int32Array(count * 2);
        for (let i = 0; i < count; i++) members[i] = view[start + i] - key * idxScale;
        visit(members, count);
      }
      start = end;
    }
  }
}

/**
 * Disjoint sets over `0..n-1` with path halving and union by size.
 *
 * @example
 * const uf = new UnionFind(4);
 * uf.union(0, 1); uf.union(2, 3); uf.union(1, 3);
 * uf.find(0) === uf.find(2); // true
 */
export class UnionFind {
  private parent: Int32Array;
  private size: Int32Array;

  constructor(n: number) {
    this.parent = new Int32Array(n);
    this.size = new Int32Array(n).fill(1);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }

  /** The representative of `x`'s set. */
  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]];
      x = p[x];
    }
    return x;
  }

  /** Merges the sets of `a` and `b`; returns false when they were already one. */
  union(a: number, b: number): boolean {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return false;
    if (this.size[ra] < this.size[rb]) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra] += this.size[rb];
    return true;
  }

  /** The sets with two or more members, each sorted ascending, largest set first (ties: smallest member first). */
  groups(): number[][] {
    const byRoot = new Map<number, number[]>();
    for (let i = 0; i < this.parent.length; i++) {
      if (this.size[this.find(i)] < 2) continue;
      const r = this.find(i);
      let g = byRoot.get(r);
      if (!g) byRoot.set(r, (g = []));
      g.push(i);
    }
    return [...byRoot.values()].sort((x, y) => y.length - x.length || x[0] - y[0]);
  }
}
