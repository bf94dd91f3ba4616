/**
 * Hashed bag-of-n-grams features for free-text columns of the tabular encoder.
 *
 * Text is lower-cased and cut into words at every character that is not a Unicode letter, mark or digit.
 * Word unigrams and bigrams (and, optionally, character n-grams inside `<word>`) are hashed with the shared
 * 32-bit MurmurHash3 steps (src/util/hash32.ts) into a fixed number of buckets. A row's value in a bucket is
 * `log1p(count) * idf`, where `idf = ln((1 + N) / (1 + df)) + 1` is fitted on the N training documents,
 * and the row's buckets are scaled to unit L2 norm (an empty or missing text is all zeros). Counting writes
 * straight into the feature matrix and reuses typed scratch arrays: nothing is allocated per word.
 */
import { SwitchyardError } from '../util/errors.ts';
import { fmix32, murmurStep } from '../util/hash32.ts';
import type { Table } from './csv.ts';
import { isMissing } from './values.ts';

/**
 * Default number of hash buckets per text column.
 *
 * @example
 * fitTextFeature(table, col).buckets === DEFAULT_TEXT_BUCKETS; // true
 */
export const DEFAULT_TEXT_BUCKETS = 1024;

/** Largest accepted bucket count (a dense row of this many floats per text column). */
const MAX_BUCKETS = 1 << 18;

/**
 * A hashed TF-IDF text column (JSON-serialisable). Output features are `column#0` … `column#(buckets-1)`.
 *
 * @example
 * const f: TextFeature = { kind: 'text', column: 'body', buckets: 4, wordNgrams: 2, documents: 2, idf: [1, 1.4, 1, 1] };
 */
export interface TextFeature {
  kind: 'text';
  column: string;
  /** Number of hash buckets (= output features). */
  buckets: number;
  /** Longest word n-gram hashed: 1 (unigrams) or 2 (unigrams and bigrams). */
  wordNgrams: number;
  /** Character n-gram lengths `[min, max]` inside each word padded as `<word>`; absent = none. */
  charNgrams?: [number, number];
  /** Number of training documents the IDF was fitted on. */
  documents: number;
  /** Smoothed inverse document frequency per bucket: `ln((1 + documents) / (1 + df)) + 1`. */
  idf: number[];
}

/**
 * Options for fitting text features (passed through `fitTabularEncoder`'s options).
 *
 * @example
 * fitTabularEncoder(table, schema, 'label', 'auto', { textBuckets: 2048, textCharNgrams: [3, 5] });
 */
export interface TextFeatureOptions {
  /** Hash buckets per text column (default {@link DEFAULT_TEXT_BUCKETS}). */
  textBuckets?: number;
  /** 1 = unigrams only, 2 = unigrams and bigrams (default 2). */
  textWordNgrams?: number;
  /** Also hash character n-grams of these lengths `[min, max]` (default none). */
  textCharNgrams?: [number, number];
  /** Fit the IDF on these row indices only (the training split); default all rows. */
  textFitRows?: ArrayLike<number>;
}

const WORD_SEED = 0x1b873593;
const BIGRAM_SEED = 0x2f6b1c3d;
const CHAR_SEED = 0x5bd1e995;
const OPEN = 0x3c; // '<' never occurs inside a word
const CLOSE = 0x3e; // '>'

let bmpWordChar: Uint8Array | null = null;
const WORD_CHAR = /^[\p{L}\p{M}\p{N}]$/u;

/** 1 for every BMP code unit that is a letter, mark or digit (built once, on first use). */
function wordCharTable(): Uint8Array {
  if (bmpWordChar) return bmpWordChar;
  const t = new Uint8Array(65536);
  for (let c = 0; c < 65536; c++) {
    if (c < 128) t[c] = (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90) ? 1 : 0;
    else if (c < 0xd800 || c > 0xdfff) t[c] = WORD_CHAR.test(String.fromCharCode(c)) ? 1 : 0;
  }
  return (bmpWordChar = t);
}

/**
 * Calls `onWord(start, end)` for every word of `s`: a maximal run of Unicode letters, marks and digits
 * (astral code points included). Allocates nothing for BMP text.
 *
 * @example
 * const s = 'naïve café, 42!';
 * scanWords(s, (a, b) => console.log(s.slice(a, b))); // 'naïve', 'café', '42'
 */
export function scanWords(s: string, onWord: (start: number, end: number) => void): void {
  const table = wordCharTable();
  const n = s.length;
  let start = -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let word: number;
    let width = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const cp = s.codePointAt(i)!;
      word = cp > 0xffff && WORD_CHAR.test(String.fromCodePoint(cp)) ? 1 : 0;
      width = cp > 0xffff ? 2 : 1;
    } else word = table[c];
    if (word) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      onWord(start, i);
      start = -1;
    }
    i += width - 1;
  }
  if (start >= 0) onWord(start, n);
}

/**
 * The words the text features see: lower-cased, split at anything that is not a letter, mark or digit.
 *
 * @example
 * tokenizeText("Don't STOP — Ünïcode 2024!"); // ['don', 't', 'stop', 'ünïcode', '2024']
 */
export function tokenizeText(text: string): string[] {
  const s = text.toLowerCase();
  const out: string[] = [];
  scanWords(s, (a, b) => out.push(s.slice(a, b)));
  return out;
}

/**
 * Hashes the n-grams of texts into bucket counts, reusing its scratch arrays between calls.
 *
 * @example
 * const h = new TextHasher({ buckets: 16, wordNgrams: 2 });
 * const counts = new Float32Array(16);
 * const n = h.count('the cat the', counts, 0); // counts of 'the', 'cat', 'the cat', 'cat the'; h.touched[0..n) lists the buckets
 */
export class TextHasher {
  readonly buckets: number;
  readonly wordNgrams: number;
  readonly charNgrams: readonly [number, number] | null;
  /** Buckets touched by the last {@link TextHasher.count} call, in first-seen order (first `n` entries). */
  touched = new Int32Array(256);
  private n = 0;
  private prev = -1;
  private out: Float32Array = new Float32Array(0);
  private offset = 0;
  private s = '';
  private readonly onWord: (start: number, end: number) => void;

  constructor(spec: { buckets: number; wordNgrams: number; charNgrams?: readonly [number, number] | null }) {
    this.buckets = spec.buckets;
    this.wordNgrams = spec.wordNgrams;
    this.charNgrams = spec.charNgrams ?? null;
    this.onWord = (a, b) => this.word(a, b);
  }

  /**
   * Adds the n-gram counts of `text` into `out[offset + bucket]` (which must start at zero for this text)
   * and returns how many distinct buckets it touched (listed in {@link TextHasher.touched}).
   */
  count(text: string, out: Float32Array, offset: number): number {
    this.n = 0;
    this.prev = -1;
    this.out = out;
    this.offset = offset;
    this.s = text.toLowerCase();
    scanWords(this.s, this.onWord);
    return this.n;
  }

  private add(h: number): void {
    const b = h % this.buckets;
    const i = this.offset + b;
    if (this.out[i] === 0) {
      if (this.n === this.touched.length) {
        const t = new Int32Array(this.n * 2);
        t.set(this.touched);
        this.touched = t;
      }
      this.touched[this.n++] = b;
    }
    this.out[i] += 1;
  }

  private word(a: number, b: number): void {
    const s = this.s;
    let h = WORD_SEED;
    for (let i = a; i < b; i++) h = murmurStep(h, s.charCodeAt(i));
    const t = fmix32(h ^ (b - a));
    this.add(t);
    if (this.wordNgrams >= 2 && this.prev >= 0) this.add(fmix32(murmurStep(murmurStep(BIGRAM_SEED, this.prev), t) ^ 2));
    this.prev = t;
    if (this.charNgrams) {
      const len = b - a + 2; // with the '<' and '>' marks
      for (let k = this.charNgrams[0]; k <= this.charNgrams[1] && k <= len; k++) {
        for (let p = 0; p + k <= len; p++) {
          let g = CHAR_SEED ^ k;
          for (let q = p; q < p + k; q++) g = murmurStep(g, q === 0 ? OPEN : q === len - 1 ? CLOSE : s.charCodeAt(a + q - 1));
          this.add(fmix32(g ^ k));
        }
      }
    }
  }
}

function checkOptions(file: string, column: string, o: TextFeatureOptions): { buckets: number; wordNgrams: number; charNgrams?: [number, number] } {
  const buckets = o.textBuckets ?? DEFAULT_TEXT_BUCKETS;
  const wordNgrams = o.textWordNgrams ?? 2;
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS) {
    throw new SwitchyardError('E_CONFIG', `${file}: text column '${column}': ${buckets} hash buckets`, `use an integer from 1 to ${MAX_BUCKETS}, e.g. --text-buckets 2048`);
  }
  if (wordNgrams !== 1 && wordNgrams !== 2) throw new SwitchyardError('E_CONFIG', `${file}: text column '${column}': word n-grams ${wordNgrams}`, 'use 1 (unigrams) or 2 (unigrams and bigrams)');
  const c = o.textCharNgrams;
  if (c && !(Number.isInteger(c[0]) && Number.isInteger(c[1]) && c[0] >= 1 && c[1] >= c[0] && c[1] <= 16)) {
    throw new SwitchyardError('E_CONFIG', `${file}: text column '${column}': character n-grams ${c.join('-')}`, 'give min,max with 1 <= min <= max <= 16, e.g. --text-chars 3,5');
  }
  return c ? { buckets, wordNgrams, charNgrams: [c[0], c[1]] } : { buckets, wordNgrams };
}

/**
 * Fits a {@link TextFeature} on column `col` of `table`: the document frequency of every bucket over the
 * training rows (`textFitRows`, default all rows; a missing cell is a document with no words).
 *
 * @example
 * const f = fitTextFeature(table, { name: 'body', index: 1 }, { textBuckets: 2048 });
 */
export function fitTextFeature(table: Table, col: { name: string; index: number }, opts: TextFeatureOptions = {}): TextFeature {
  const o = checkOptions(table.file, col.name, opts);
  const hasher = new TextHasher(o);
  const scratch = new Float32Array(o.buckets);
  const df = new Float64Array(o.buckets);
  const fitRows = opts.textFitRows;
  const n = fitRows ? fitRows.length : table.rows.length;
  for (let k = 0; k < n; k++) {
    const cell = table.rows[fitRows ? fitRows[k] : k][col.index];
    if (isMissing(cell)) continue;
    const m = hasher.count(cell, scratch, 0);
    const t = hasher.touched;
    for (let i = 0; i < m; i++) {
      df[t[i]]++;
      scratch[t[i]] = 0;
    }
  }
  const idf = Array.from(df, (d) => Math.log((1 + n) / (1 + d)) + 1);
  return { kind: 'text', column: col.name, ...o, documents: n, idf };
}

/**
 * Output feature names of a text column: `body#0` … `body#1023`.
 *
 * @example
 * textFeatureNames({ kind: 'text', column: 'b', buckets: 2, wordNgrams: 1, documents: 1, idf: [1, 1] }); // ['b#0', 'b#1']
 */
export function textFeatureNames(spec: TextFeature): string[] {
  return Array.from({ length: spec.buckets }, (_, b) => `${spec.column}#${b}`);
}

/**
 * Writes the TF-IDF features of column `j` for every row into the row-major matrix `x` (`stride` features
 * per row) from feature `offset`: `log1p(count) * idf` per bucket, L2-normalised per row.
 *
 * @example
 * makeTextWriter(spec)(table, 2, x, 5, encoder.numFeatures);
 */
export function makeTextWriter(spec: TextFeature): (table: Table, j: number, x: Float32Array, offset: number, stride: number) => void {
  const hasher = new TextHasher(spec);
  const idf = Float64Array.from(spec.idf);
  const width = spec.buckets;
  let vals = new Float64Array(256);
  return (table, j, x, offset, stride) => {
    const rows = table.rows;
    for (let r = 0, o = offset; r < rows.length; r++, o += stride) {
      x.fill(0, o, o + width);
      const cell = rows[r][j];
      if (isMissing(cell)) continue;
      const n = hasher.count(cell, x, o);
      const t = hasher.touched;
      if (vals.length < n) vals = new Float64Array(n * 2);
      let ss = 0;
      for (let i = 0; i < n; i++) {
        const v = Math.log1p(x[o + t[i]]) * idf[t[i]];
        vals[i] = v;
        ss += v * v;
      }
      const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
      for (let i = 0; i < n; i++) x[o + t[i]] = vals[i] * inv;
    }
  };
}

/**
 * Checks the fields of a parsed `kind: 'text'` feature; calls `bad(what)` (which throws) on the first problem.
 *
 * @example
 * checkTextFeature(json.features[3], (what) => { throw new Error(what); });
 */
export function checkTextFeature(o: Record<string, unknown>, bad: (what: string) => never): TextFeature {
  const b = o.buckets;
  if (typeof b !== 'number' || !Number.isInteger(b) || b < 1 || b > MAX_BUCKETS) return bad('text buckets must be a positive integer');
  if (o.wordNgrams !== 1 && o.wordNgrams !== 2) return bad('text wordNgrams must be 1 or 2');
  const c = o.charNgrams;
  if (c !== undefined && !(Array.isArray(c) && c.length === 2 && c.every((v) => Number.isInteger(v) && v >= 1) && c[1] >= c[0])) return bad('text charNgrams must be [min, max]');
  if (typeof o.documents !== 'number' || !(o.documents >= 0)) return bad('text documents must be a number');
  if (!Array.isArray(o.idf) || o.idf.length !== b || !o.idf.every((v) => typeof v === 'number' && Number.isFinite(v))) return bad(`text idf must be ${b} numbers`);
  return o as unknown as TextFeature;
}
