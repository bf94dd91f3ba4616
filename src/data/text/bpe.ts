/**
 * Training a byte-level BPE tokenizer.
 *
 * 1. Pre-tokenise every text once and count each distinct piece (so merges never cross word boundaries).
 * 2. Count adjacent id pairs over the distinct pieces, weighted by piece frequency, and index for each
 *    pair the pieces that contain it.
 * 3. Repeatedly take the most frequent pair from a max-heap (ties: the lowest pair, by first then second
 *    id), rewrite only the pieces that contain it, and update the pair counts by the difference — no
 *    full recount per merge. Heap entries whose count has gone stale are skipped when popped.
 */
import { SwitchyardError } from '../../util/errors.ts';
import { BpeTokenizer, MAX_BPE_VOCAB, pairKey } from './bpe-tokenizer.ts';
import { utf8Encode } from './bytes.ts';
import { forEachPiece } from './pretokenize.ts';

export { BpeTokenizer, type BpeJSON } from './bpe-tokenizer.ts';

/**
 * Options for {@link trainBpe}.
 *
 * @example
 * const opts: TrainBpeOptions = { minFrequency: 2, onProgress: (m, t) => bar.update(m) };
 */
export interface TrainBpeOptions {
  /**
   * A pair is merged only if it occurs at least this often; training stops early (smaller vocabulary)
   * when no pair does. Default 2.
   */
  minFrequency?: number;
  /** Called after each merge with the merges done so far and the merges asked for (`vocabSize - 256`). */
  onProgress?: (merges: number, total: number) => void;
}

/** Max-heap of (count, pair key): larger count first, then smaller key (= lower pair ids). */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(i: number, j: number): boolean {
    const ci = this.counts[i];
    const cj = this.counts[j];
    return ci > cj || (ci === cj && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i];
    this.counts[i] = this.counts[j];
    this.counts[j] = c;
    const k = this.keys[i];
    this.keys[i] = this.keys[j];
    this.keys[j] = k;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Removes the top entry and returns [count, key]. */
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const lastC = this.counts.pop()!;
    const lastK = this.keys.pop()!;
    const n = this.counts.length;
    if (n > 0) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < n && this.above(l, m)) m = l;
        if (r < n && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/**
 * Counts the pre-token pieces of `texts`.
 *
 * @example
 * countPieces(['the cat the']); // Map { 'the' => 1, ' cat' => 1, ' the' => 1 }
 */
export function countPieces(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) forEachPiece(text, (p) => counts.set(p, (counts.get(p) ?? 0) + 1));
  return counts;
}

/**
 * Trains a byte-level BPE tokenizer with (up to) `vocabSize` tokens: 256 byte tokens plus
 * `vocabSize - 256` merges learned from `texts`. Deterministic: the same texts give the same merges.
 * Throws `E_TOKENIZER` when `vocabSize` is below 256 or above 2^21.
 *
 * @example
 * const tok = trainBpe(corpus.documents.map((d) => d.text), 4096);
 * tok.vocabSize;            // 4096 (fewer if the corpus runs out of pairs seen >= minFrequency times)
 * tok.encode(' the nation'); // a few ids
 */
export function trainBpe(texts: Iterable<string>, vocabSize: number, opts: TrainBpeOptions = {}): BpeTokenizer {
  if (!Number.isInteger(vocabSize) || vocabSize < 256 || vocabSize > MAX_BPE_VOCAB) {
    throw new SwitchyardError('E_TOKENIZER', `BPE vocabSize must be an integer in [256, ${MAX_BPE_VOCAB}], got ${vocabSize}`, 'typical sizes are 1024 to 32768');
  }
  const minFrequency = Math.max(1, opts.minFrequency ?? 2);
  const total = vocabSize - 256;

  // Distinct pieces as mutable id arrays with their frequencies.
  const pieceCounts = countPieces(texts);
  const nWords = pieceCounts.size;
  const words: Int32Array[] = new Array(nWords);
  const lens = new Int32Array(nWords);
  const freqs = new Float64Array(nWords);
  let w = 0;
  for (const [piece, f] of pieceCounts) {
    words[w] = Int32Array.from(utf8Encode(piece));
    lens[w] = words[w].length;
    freqs[w] = f;
    w++;
  }
  pieceCounts.clear();

  // Pair counts and, per pair, the pieces that (may) contain it. Lists can hold stale or repeated
  // entries; both are filtered when the pair is merged.
  const counts = new Map<number, number>();
  const where = new Map<number, number[]>();
  for (let i = 0; i < nWords; i++) {
    const s = words[i];
    for (let k = 0; k + 1 < lens[i]; k++) {
      const key = pairKey(s[k], s[k + 1]);
      counts.set(key, (counts.get(key) ?? 0) + freqs[i]);
      let list = where.get(key);
      if (!list) where.set(key, (list = []));
      if (list[list.length - 1] !== i) list.push(i);
    }
  }
  const heap = new PairHeap();
  for (const [key, c] of counts) heap.push(c, key);

  const merges: [number, number][] = [];
  const stamp = new Int32Array(nWords);
  const delta = new Map<number, number>();
  while (merges.length < total && heap.size > 0) {
    const [c, key] = heap.pop();
    if (counts.get(key) !== c) continue; // stale entry; the current count has its own entry
    if (c < minFrequency) break;
    const a = Math.floor(key / MAX_BPE_VOCAB);
    const b = key - a * MAX_BPE_VOCAB;
    const id = 256 + merges.length;
    merges.push([a, b]);
    const stampNow = merges.length;
    const list = where.get(key) ?? [];
    where.delete(key);
    delta.clear();
    for (const wi of list) {
      if (stamp[wi] === stampNow) continue;
      stamp[wi] = stampNow;
      const s = words[wi];
      const n = lens[wi];
      let has = false;
      for (let k = 0; k + 1 < n && !has; k++) has = s[k] === a && s[k + 1] === b;
      if (!has) continue;
      const f = freqs[wi];
      for (let k = 0; k + 1 < n; k++) {
        const pk = pairKey(s[k], s[k + 1]);
        delta.set(pk, (delta.get(pk) ?? 0) - f);
      }
      let j = 0;
      for (let k = 0; k < n; ) {
        if (k + 1 < n && s[k] === a && s[k + 1] === b) {
          s[j++] = id;
          k += 2;
        } else s[j++] = s[k++];
      }
      lens[wi] = j;
      for (let k = 0; k + 1 < j; k++) {
        const pk = pairKey(s[k], s[k + 1]);
        delta.set(pk, (delta.get(pk) ?? 0) + f);
        if (s[k] === id || s[k + 1] === id) {
          let l = where.get(pk);
          if (!l) where.set(pk, (l = []));
          if (l[l.length - 1] !== wi) l.push(wi);
        }
      }
    }
    for (const [pk, d] of delta) {
      if (d === 0) continue;
      const now = (counts.get(pk) ?? 0) + d;
      if (now > 0) {
        counts.set(pk, now);
        heap.push(now, pk);
      } else {
        counts.delete(pk);
        where.delete(pk);
      }
    }
    opts.onProgress?.(merges.length, total);
  }
  return new BpeTokenizer(merges);
}
