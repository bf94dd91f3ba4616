/**
 * Text normalisation and fast 32-bit hashing of shingles for the text checks (near-duplicates, contamination).
 *
 * Normalisation folds case, turns every whitespace run into one space and, optionally, every punctuation or
 * symbol character into a space, so `"Hello,  World!"` and `"hello world"` shingle alike. Hashing is
 * FNV-1a per code unit and MurmurHash3 mixing (all `Math.imul`), written into reusable typed arrays: the hot
 * loops allocate nothing per shingle.
 */
import { fmix32, fnv1a, murmurStep } from '../util/hash32.ts';

/**
 * How text is normalised before shingling.
 *
 * @example
 * normalizeText('A, b!', { stripPunctuation: true } satisfies NormalizeOptions); // 'a b'
 */
export interface NormalizeOptions {
  /** Replace punctuation and symbols (anything not a letter, mark, digit or space) with a space. Default false. */
  stripPunctuation?: boolean;
}

const PUNCT = /[^\p{L}\p{M}\p{N}\s]+/gu;
const SPACES = /\s+/gu;

/**
 * Lower-cases `text`, optionally replaces punctuation with spaces, collapses whitespace runs to one space
 * and trims. Punctuation becomes a space rather than nothing (unlike lm-evaluation-harness, which deletes
 * it) so that `word</p><p>word` or `a.b@c.d` do not glue words together; the same rule runs on both sides
 * of every comparison, so overlaps are unaffected.
 *
 * @example
 * normalizeText('  Hello,\n\tWORLD! '); // 'hello, world!'
 * normalizeText("Don't  STOP.", { stripPunctuation: true }); // 'don t stop'
 */
export function normalizeText(text: string, opts: NormalizeOptions = {}): string {
  let s = text.toLowerCase();
  if (opts.stripPunctuation) s = s.replace(PUNCT, ' ');
  return s.replace(SPACES, ' ').trim();
}

// The 32-bit hash lives in util/ so the tabular text features share it; re-exported for the text checks.
export { fmix32, murmurStep };

/**
 * Splits already-normalised text (words separated by single spaces, see {@link normalizeText}) into words
 * and writes two independent 32-bit hashes per word into `hi` and `lo` (grown when too small). Returns the
 * arrays actually used and the word count.
 *
 * @example
 * const { count, hi } = wordHashes('the cat the', new Uint32Array(4), new Uint32Array(4));
 * count; // 3, and hi[0] === hi[2]
 */
export function wordHashes(normalized: string, hi: Uint32Array, lo: Uint32Array): { count: number; hi: Uint32Array; lo: Uint32Array } {
  let count = 0;
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  let inWord = false;
  const n = normalized.length;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? normalized.charCodeAt(i) : 32;
    if (c === 32) {
      if (inWord) {
        if (count === hi.length) {
          hi = grow(hi, count * 2 + 16);
          lo = grow(lo, count * 2 + 16);
        }
        hi[count] = fmix32(h1);
        lo[count] = fmix32(h2 ^ 0x5bd1e995);
        count++;
        h1 = 0x811c9dc5;
        h2 = 0x9747b28c;
        inWord = false;
      }
    } else {
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
      inWord = true;
    }
  }
  return { count, hi, lo };
}

function grow(a: Uint32Array, size: number): Uint32Array {
  const b = new Uint32Array(size);
  b.set(a);
  return b;
}

/**
 * How documents are cut into shingles for near-duplicate search.
 *
 * @example
 * new Shingler({ unit: 'word', size: 3, stripPunctuation: true } satisfies ShingleOptions);
 */
export interface ShingleOptions extends NormalizeOptions {
  /** Shingle length: characters for `char`, words for `word`. Default 5 (`char`) or 3 (`word`). */
  size?: number;
  /** Character k-grams or word n-grams. Default `char`. */
  unit?: 'char' | 'word';
}

/**
 * Turns documents into the sorted set of their shingles' 32-bit hashes, reusing its buffers between calls.
 * A normalised document shorter than one shingle (fewer than `size` characters or words) is one shingle,
 * itself; an empty document has no shingles.
 *
 * @example
 * const sh = new Shingler({ size: 5 });
 * const a = sh.hashes('The quick brown fox').slice(); // copy: the view is reused by the next call
 * const b = sh.hashes('the  quick brown fox!');
 */
export class Shingler {
  readonly size: number;
  readonly unit: 'char' | 'word';
  readonly stripPunctuation: boolean;
  private buf = new Uint32Array(1024);
  private wHi: Uint32Array = new Uint32Array(256);
  private wLo: Uint32Array = new Uint32Array(256);
  private table = new Uint32Array(2048);
  private stamps = new Uint32Array(2048);
  private gen = 0;

  constructor(opts: ShingleOptions = {}) {
    this.unit = opts.unit ?? 'char';
    this.size = opts.size ?? (this.unit === 'char' ? 5 : 3);
    this.stripPunctuation = opts.stripPunctuation ?? false;
  }

  /**
   * De-duplicated shingle hashes of `text`, sorted ascending unless `sorted` is false (then in first-seen
   * order, which is cheaper and enough for MinHash). A view into a reused buffer: copy it to keep it.
   */
  hashes(text: string, sorted = true): Uint32Array {
    const s = normalizeText(text, this);
    const m = this.unit === 'char' ? this.charShingles(s) : this.wordShingles(s);
    const u = this.dedupe(m);
    const view = this.buf.subarray(0, u);
    if (sorted) view.sort();
    return view;
  }

  /** Removes repeats from `buf[0..m)` in place with a stamped open-addressing table; returns the new length. */
  private dedupe(m: number): number {
    let cap = this.table.length;
    if (cap < m * 2) {
      while (cap < m * 2) cap *= 2;
      this.table = new Uint32Array(cap);
      this.stamps = new Uint32Array(cap);
      this.gen = 0;
    }
    if (++this.gen === 0xffffffff) {
      this.stamps.fill(0);
      this.gen = 1;
    }
    const { table, stamps, buf, gen } = this;
    const mask = cap - 1;
    let u = 0;
    for (let i = 0; i < m; i++) {
      const h = buf[i];
      let j = h & mask;
      while (stamps[j] === gen && table[j] !== h) j = (j + 1) & mask;
      if (stamps[j] !== gen) {
        stamps[j] = gen;
        table[j] = h;
        buf[u++] = h;
      }
    }
    return u;
  }

  private ensure(m: number): Uint32Array {
    if (this.buf.length < m) this.buf = new Uint32Array(Math.max(m, this.buf.length * 2));
    return this.buf;
  }

  private charShingles(s: string): number {
    const [count, width] = windows(s.length, this.size);
    const buf = this.ensure(count);
    for (let i = 0; i < count; i++) {
      buf[i] = fmix32(fnv1a(s, i, i + width) ^ width);
    }
    return count;
  }

  private wordShingles(s: string): number {
    const w = wordHashes(s, this.wHi, this.wLo);
    this.wHi = w.hi;
    this.wLo = w.lo;
    const [count, width] = windows(w.count, this.size);
    const buf = this.ensure(count);
    const hi = this.wHi;
    for (let i = 0; i < count; i++) {
      let h = 0x2f6b1c3d;
      for (let j = 0; j < width; j++) h = murmurStep(h, hi[i + j]);
      buf[i] = fmix32(h ^ width);
    }
    return count;
  }
}

/** Shingle count and width for `n` units at size `k`: a non-empty sequence shorter than `k` is one shingle. */
function windows(n: number, k: number): [number, number] {
  return n === 0 ? [0, 0] : n < k ? [1, n] : [n - k + 1, k];
}
